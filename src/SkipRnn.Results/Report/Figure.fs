namespace SkipRnn.Results.Report

open System
open Plotly.NET

/// One section of the report: a figure (one or more Plotly charts) or a table, with the caption a reader
/// needs, and how many data points it shows (0 = nothing stored for it yet).
type ReportSection =
    { Id: string
      Title: string
      /// What is plotted and how to read it, in the paper's vocabulary.
      Caption: string
      /// The profile and scale that produced the data.
      Scale: string
      Charts: GenericChart list
      /// Extra HTML (a table) shown under the charts.
      Html: string
      Points: int }

/// Small helpers for reading store rows and styling charts alike.
module Values =

    let float (o: obj) = match o with null -> nan | v -> Convert.ToDouble v
    let int (o: obj) = match o with null -> 0 | v -> Convert.ToInt32 v
    let string (o: obj) = match o with null -> "" | v -> Convert.ToString(v, Globalization.CultureInfo.InvariantCulture)
    let bool (o: obj) = match o with null -> false | v -> Convert.ToBoolean v

    let html (s: string) = Net.WebUtility.HtmlEncode s

    /// A stored method's colour from the method table (the paper's Fig. 3: CD red, SCTT green, DASC blue;
    /// control black); grey for a name this version does not know.
    let methodColor (method: string) =
        Color.fromHex (match SkipRnn.Training.Method.tryFindRow method with Some r -> r.Colour | None -> "#7f7f7f")

    /// A stored method's label without θ (CD, SCTT, …); the name itself when this version does not know it.
    let methodLabel (method: string) =
        match SkipRnn.Training.Method.tryFindRow method with Some r -> r.LabelPrefix | None -> method

    let private superscript (n: int) =
        string n |> String.map (fun c -> "⁰¹²³⁴⁵⁶⁷⁸⁹⁻".["0123456789-".IndexOf c])

    /// Number formatting for tables: 3 significant digits; thousands separated up to a million, then a·10ⁿ.
    let compact (v: float) =
        let invariant = Globalization.CultureInfo.InvariantCulture
        if Double.IsNaN v then "–"
        elif abs v >= 1e6 then
            let e = int (floor (log10 (abs v)))
            (v / 10.0 ** float e).ToString("0.00", invariant) + "·10" + superscript e
        elif abs v >= 1000.0 then v.ToString("N0", invariant)
        else v.ToString("G3", invariant)

    /// Chart.combine that also takes no charts (a section whose stage has not run yet).
    let combine (charts: GenericChart seq) =
        if Seq.isEmpty charts then Chart.Invisible() else Chart.combine charts

    let styled (width: int) (height: int) (chart: GenericChart) =
        chart
        |> Chart.withSize (width, height)
        |> Chart.withTemplate ChartTemplates.lightMirrored
