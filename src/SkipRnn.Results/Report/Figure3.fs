namespace SkipRnn.Results.Report

open System
open Plotly.NET
open Plotly.NET.LayoutObjects
open SkipRnn.Results
open SkipRnn.Training

/// Figure 3B (distance between modified and true dynamics) and 3C (performance difference) against θ.
module Figure3 =

    type private Point = { Method: string; Theta: float; Task: string; Distance: float; Difference: float; Finite: int; Networks: int; Alignment: string }

    let private points (store: ResultStore) (profile: string) =
        store.Query(
            """SELECT r.method, r.theta, r.paper_task, d.distance, d.performance_difference, d.finite_networks, r.networks, d.alignment
               FROM experiment_jobs j JOIN runs r USING (job_key) JOIN dynamics d USING (job_key)
               WHERE j.profile = $p AND j.experiment = 'figure3' ORDER BY r.method, r.theta""",
            [ "p", box profile ])
        |> List.map (fun row ->
            { Method = Values.string row[0]; Theta = Values.float row[1]; Task = Values.string row[2]
              Distance = Values.float row[3]; Difference = Values.float row[4]; Finite = Values.int row[5]
              Networks = Values.int row[6]; Alignment = Values.string row[7] })

    /// θ > τ/dt = 20: a discretization coarser than the time constant (shaded, as in the paper).
    let private shading (maxTheta: float) =
        Shape.init (ShapeType = StyleParam.ShapeType.Rectangle, X0 = 20.0, X1 = maxTheta + 2.0, Y0 = 0.0, Y1 = 1.0,
                    Yref = "paper", FillColor = Color.fromHex "#eeeeee", Layer = StyleParam.Layer.Below,
                    Line = Line.init (Width = 0.0))

    /// Per method and θ, the mean over tasks of the per-run means over networks (NaN where no network had a
    /// finite modified trajectory on any task).
    let private series (ps: Point list) (value: Point -> float) =
        ps
        |> List.groupBy (fun p -> p.Method)
        |> List.map (fun (m, rows) ->
            m,
            rows
            |> List.groupBy (fun p -> p.Theta)
            |> List.sortBy fst
            |> List.map (fun (theta, rs) ->
                let finite = rs |> List.map value |> List.filter Double.IsFinite
                theta, (if finite.IsEmpty then nan else List.average finite), rs |> List.sumBy (fun r -> r.Networks - r.Finite)))

    let private chart (ps: Point list) (value: Point -> float) (yTitle: string) (log: bool) =
        let maxTheta = ps |> List.map (fun p -> p.Theta) |> List.fold max 40.0
        let lines =
            [ for m, s in series ps value do
                let finite = s |> List.filter (fun (_, v, _) -> Double.IsFinite v)
                yield
                    Chart.Line(x = (finite |> List.map (fun (t, _, _) -> t)), y = (finite |> List.map (fun (_, v, _) -> v)),
                               Name = Values.methodLabel m, ShowMarkers = true, LineColor = Values.methodColor m,
                               MarkerColor = Values.methodColor m)
                let lost = s |> List.filter (fun (_, v, _) -> not (Double.IsFinite v))
                if not lost.IsEmpty then
                    let top = if log then 1e3 else 0.0
                    yield
                        Chart.Point(x = (lost |> List.map (fun (t, _, _) -> t)), y = (lost |> List.map (fun _ -> top)),
                                    Name = Values.methodLabel m + ": diverged (no finite trajectory)",
                                    MarkerSymbol = StyleParam.MarkerSymbol.X, MarkerColor = Values.methodColor m) ]
        Values.combine lines
        |> Chart.withXAxisStyle ("θ (steps of 5 ms; τ/dt = 20)", MinMax = (0.0, maxTheta + 2.0))
        |> Chart.withYAxisStyle (yTitle, ?AxisType = (if log then Some StyleParam.AxisType.Log else None))
        |> Chart.withShapes [ shading maxTheta ]
        |> Values.styled 700 420

    let private diverged (ps: Point list) =
        ps |> List.filter (fun p -> p.Finite < p.Networks)
        |> List.map (fun p -> sprintf "%s θ=%g on %s: %d of %d" (Values.methodLabel p.Method) p.Theta p.Task (p.Networks - p.Finite) p.Networks)

    let distance (store: ResultStore) (profile: string) =
        let ps = points store profile
        let tasks = ps |> List.map (fun p -> p.Task) |> List.distinct
        let lost = diverged ps
        let cdNote = ps |> List.tryFind (fun p -> p.Method = Method.cd.Name) |> Option.map (fun p -> p.Alignment) |> Option.defaultValue ""
        { Id = "figure-3b"
          Title = "Figure 3B — distance between modified and true dynamics"
          Caption =
            sprintf "Networks were trained for a fixed number of steps with θ and β = 0.5 held constant, then the same evaluation trials were run through the modified dynamics (the method's training-time integrator) and the true dynamics (Euler at dt = 5 ms, no skips). Plotted: ‖r_mod − r_true‖² / ‖r_true‖², averaged over networks, then over tasks (%s; log scale). Shaded: θ > 20, a step coarser than the 100 ms time constant. SCTT and DASC share the trials and the noise exactly. %s%s"
                (String.concat ", " tasks) cdNote
                (if lost.IsEmpty then "" else " Networks whose modified trajectory was not finite (left out of the mean; ✕ where none was finite): " + String.concat "; " lost + ".")
          Scale = Scale.describe store profile "figure3"
          Charts = [ chart ps (fun p -> p.Distance) "normalized squared distance" true ]
          Html = ""
          Points = ps |> List.filter (fun p -> Double.IsFinite p.Distance) |> List.length }

    let performance (store: ResultStore) (profile: string) =
        let ps = points store profile
        { Id = "figure-3c"
          Title = "Figure 3C — performance with modified minus true dynamics"
          Caption =
            "For the same networks and trials as 3B: task performance with the modified dynamics minus performance with the true dynamics, averaged over networks, then tasks. Near 0: what the network learned with the training-time shortcut carries over to the true dynamics. The paper finds DASC closest to 0 and SCTT and CD (beyond θ = 20) far from it."
          Scale = Scale.describe store profile "figure3"
          Charts = [ chart ps (fun p -> p.Difference) "performance difference (modified − true)" false ]
          Html = ""
          Points = ps |> List.filter (fun p -> Double.IsFinite p.Difference) |> List.length }
