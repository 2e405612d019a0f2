namespace SkipRnn.Results

open System
open System.Globalization
open System.IO

/// One published number of the paper (Table 1 or Table 2), as read from experiments/paper/*.csv.
type PaperValue =
    { /// "table1" or "table2".
      Source: string
      /// steps (×10⁴), seconds (×10⁴ s), flops (×10¹³), or proportion_trained.
      Quantity: string
      /// The task (Table 1) or the condition (Table 2).
      Row: string
      /// Control, CD10, SCTT10, …
      Method: string
      Value: float option
      /// ± of Table 2.
      Spread: float option
      Failed: bool
      /// Printed in bold in the paper.
      Best: bool }

/// Reads the paper's tables from CSV: source,quantity,row,method,value,spread,best, where value is a number
/// or "failed" (lines starting with # are notes).
module PaperValues =

    let private number (s: string) =
        match Double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> Some v
        | _ -> None

    let parse (text: string) =
        text.Split('\n')
        |> Array.map (fun l -> l.Trim())
        |> Array.filter (fun l -> l <> "" && not (l.StartsWith "#") && not (l.StartsWith "source,"))
        |> Array.map (fun line ->
            let f = line.Split ','
            if f.Length < 7 then failwithf "a paper value needs 7 fields: %s" line
            { Source = f[0].Trim(); Quantity = f[1].Trim(); Row = f[2].Trim(); Method = f[3].Trim()
              Value = number f[4]; Spread = number f[5]
              Failed = f[4].Trim().Equals("failed", StringComparison.OrdinalIgnoreCase)
              Best = f[6].Trim() = "1" })
        |> List.ofArray

    /// Every *.csv in `folder`.
    let load (folder: string) =
        Directory.GetFiles(folder, "*.csv") |> Array.sort |> Seq.collect (File.ReadAllText >> parse) |> List.ofSeq
