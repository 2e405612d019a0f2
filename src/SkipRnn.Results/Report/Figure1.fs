namespace SkipRnn.Results.Report

open Plotly.NET
open Plotly.NET.LayoutObjects
open SkipRnn.Results

/// Figure 1B (learning curves) and 1C (steps to criterion on every task), control networks.
module Figure1 =

    /// The paper shows three tasks in 1B; these are ours: one quick, one long-dependency task that control
    /// learns, one it does not (paper Table 1).
    let featured = [ "go"; "dmc"; "dlygo" ]

    let private featuredColor (task: string) =
        match task with
        | "go" -> "#ff7f0e" | "dmc" -> "#9467bd" | "dlygo" -> "#8c564b"
        | _ -> "#1f77b4"

    let private criterionLine (maxStep: int) =
        Shape.init (ShapeType = StyleParam.ShapeType.Line, X0 = 0.0, X1 = 1.0, Y0 = 0.99, Y1 = 0.99, Xref = "paper",
                    Line = Line.init (Color = Color.fromHex "#888888", Dash = StyleParam.DrawingStyle.Dash))

    let learningCurves (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "figure1"
        let shown =
            let picked = runs |> List.filter (fun r -> List.contains r.Task featured)
            if picked.IsEmpty then List.truncate 3 runs else picked
        let others = runs |> List.except shown
        let trace (r: StoredRun) (highlight: bool) =
            let points = StoredRun.curve store r.Key
            let chart =
                Chart.Line(x = (points |> List.map fst), y = (points |> List.map snd), Name = r.PaperTask, ShowLegend = highlight)
            let chart =
                if highlight then chart |> Chart.withLineStyle (Width = 2.5, Color = Color.fromHex (featuredColor r.Task))
                else chart |> Chart.withLineStyle (Width = 1.0, Color = Color.fromHex "#cccccc")
            chart, points.Length
        let traces = [ for r in others -> trace r false ] @ [ for r in shown -> trace r true ]
        let maxStep = runs |> List.map (fun r -> r.MaxSteps) |> List.fold max 1
        let chart =
            Values.combine (traces |> List.map fst)
            |> Chart.withXAxisStyle ("training steps")
            |> Chart.withYAxisStyle ("performance (10th–90th percentile mean)", MinMax = (0.0, 1.02))
            |> Chart.withShapes [ criterionLine maxStep ]
            |> Values.styled 900 450
        { Id = "figure-1b"
          Title = "Figure 1B — learning curves of control networks"
          Caption =
            sprintf "Mean performance of the networks between the 10th and 90th percentile, evaluated every few training steps on fresh trials with the true dynamics, for control training (plain Euler, dt = 5 ms). Coloured: %s (the paper also shows three tasks); grey: the other tasks. The dashed line is the 0.99 criterion at which training stops. In the paper (100 networks, up to 40,000 steps), tasks that need a memory across a delay learn more slowly, and control never learns dgo and danti."
                (shown |> List.map (fun r -> r.PaperTask) |> String.concat ", ")
          Scale = Scale.describe store profile "figure1"
          Charts = [ chart ]
          Html = ""
          Points = traces |> List.sumBy snd }

    let stepsToCriterion (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "figure1"
        let paper =
            store.Query("SELECT row_label, value FROM paper_values WHERE source = 'table1' AND quantity = 'steps_1e4' AND method = 'Control' AND value IS NOT NULL")
            |> List.map (fun row -> Values.string row[0], Values.float row[1] * 1e4)
            |> Map.ofList
        let bars (long: bool) (succeeded: bool) =
            let rs = runs |> List.filter (fun r -> r.LongTermMemory = long && r.Succeeded = succeeded)
            let name =
                (if long then "long-term memory" else "other tasks") + (if succeeded then "" else ": failed (limit reached)")
            let color =
                match long, succeeded with
                | true, true -> "#9467bd" | false, true -> "#17becf" | true, false -> "#cdb8e3" | false, false -> "#9fdde6"
            Chart.Column(keysValues = (rs |> List.map (fun r -> r.PaperTask, r.Steps)), Name = name, MarkerColor = Color.fromHex color)
            |> Chart.withTraceInfo (Name = name)
        let paperTrace =
            let points = runs |> List.choose (fun r -> paper.TryFind r.PaperTask |> Option.map (fun v -> r.PaperTask, v))
            Chart.Point(xy = points, Name = "paper, control (Table 1; 100 networks, 40,000-step limit)",
                        MarkerSymbol = StyleParam.MarkerSymbol.Diamond, MarkerColor = Color.fromHex "#000000")
        let top = (runs |> List.map (fun r -> float r.Steps)) @ (paper |> Map.toList |> List.map snd) |> List.fold max 10.0
        let chart =
            Values.combine [ bars false true; bars false false; bars true true; bars true false; paperTrace ]
            |> Chart.withXAxisStyle ("task (paper names)", CategoryOrder = StyleParam.CategoryOrder.Array,
                                     CategoryArray = (runs |> List.map (fun r -> r.PaperTask)))
            // A log axis from 10 steps, so that short runs still show as bars (Plotly takes log ranges in decades).
            |> Chart.withYAxisStyle ("training steps to criterion 0.99", AxisType = StyleParam.AxisType.Log, MinMax = (1.0, log10 top + 0.15))
            |> Values.styled 900 450
        // When most runs stop at the limit (small profiles), the criterion they reached still ranks the tasks.
        let reached =
            let column (long: bool) =
                let rs = runs |> List.filter (fun r -> r.LongTermMemory = long)
                Chart.Column(keysValues = (rs |> List.map (fun r -> r.PaperTask, r.Criterion)),
                             Name = (if long then "long-term memory" else "other tasks"),
                             MarkerColor = Color.fromHex (if long then "#9467bd" else "#17becf"))
            Values.combine [ column false; column true ]
            |> Chart.withXAxisStyle ("task (paper names)", CategoryOrder = StyleParam.CategoryOrder.Array,
                                     CategoryArray = (runs |> List.map (fun r -> r.PaperTask)))
            |> Chart.withYAxisStyle ("performance at the end of the run", MinMax = (0.0, 1.02))
            |> Chart.withShapes [ criterionLine runs.Length ]
            |> Values.styled 900 380
        { Id = "figure-1c"
          Title = "Figure 1C — training steps to the 0.99 criterion, control, all tasks"
          Caption =
            "Top: training steps each control run needed before the mean performance of its middle 80 % of networks reached 0.99 (log scale). Pale bars hit the step limit first (failed); the criterion they reached is in the lower panel. Purple: the 9 tasks that need long-term memory (Table 1); teal: the others. Black diamonds: the paper's control values (Table 1, only published for the long-memory tasks; dgo and danti failed there too). Bottom: the criterion each run ended with (at success or at the step limit; dashed: 0.99) — at small scales, where most runs stop at the limit, this is what ranks the tasks by difficulty."
          Scale = Scale.describe store profile "figure1"
          Charts = [ chart; reached ]
          Html = ""
          Points = runs.Length }
