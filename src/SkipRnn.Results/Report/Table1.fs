namespace SkipRnn.Results.Report

open System
open System.Text
open Plotly.NET
open SkipRnn.Results
open SkipRnn.Training

/// Table 1: the 9 long-dependency tasks × Control, CD10, SCTT10, SCTT40, DASC10, DASC40 — training steps,
/// seconds and FLOPs, ours beside the paper's, the best of ours per row highlighted.
module Table1 =

    let methods = [ "Control"; "CD10"; "SCTT10"; "SCTT40"; "DASC10"; "DASC40" ]
    let paperOrder = [ "dmc"; "dnmc"; "dnms"; "dms"; "ddmd"; "ddm"; "msddm"; "danti"; "dgo" ]

    /// Paper name of each authors' variant (dmc-authors, …) → paper name of the task the paper's row names.
    let private variantOf =
        SkipRnn.Tasks.StandardTasks.authorsVariants
        |> List.map (fun v -> v.PaperName, (SkipRnn.Tasks.StandardTasks.correctedOf v).PaperName)
        |> Map.ofList
    /// The paper's row for a task of ours: its own, or, for an authors' variant, the task it varies.
    let private paperRow (task: string) = variantOf.TryFind task |> Option.defaultValue task

    /// The best run of a method on a task: fewest steps among successful runs, then least time; if none
    /// succeeded, the one that came closest to the criterion.
    let best (runs: StoredRun list) =
        match runs |> List.filter (fun r -> r.Succeeded) with
        | [] -> runs |> List.sortByDescending (fun r -> r.Criterion) |> List.tryHead
        | ok -> ok |> List.sortBy (fun r -> r.Steps, r.TrainSeconds) |> List.tryHead

    /// A row block of the table. `AnyRun`: shown for every run (steps to the claims' threshold, criterion at
    /// the end); otherwise only for runs that reached the 0.99 criterion ("failed" for the others).
    type private Quantity = { Name: string; Paper: string; Scale: float; Of: StoredRun -> float; AnyRun: bool; HigherIsBetter: bool }

    /// `toCriterion r`: the step and training seconds of r's first evaluation at the 0.99 criterion (a run on
    /// a fixed budget trains on past it); FLOPs to it are the run's FLOPs prorated by steps.
    let private quantities (toCriterion: StoredRun -> (int * float) option) (toThreshold: StoredRun -> float) =
        let steps r = match toCriterion r with Some (s, _) -> float s | None -> float r.Steps
        let seconds r = match toCriterion r with Some (_, t) -> t | None -> r.TrainSeconds
        let flops (r: StoredRun) = r.Flops * steps r / float (max 1 r.Steps)
        [ { Name = "Training steps"; Paper = "steps_1e4"; Scale = 1e4; Of = steps; AnyRun = false; HigherIsBetter = false }
          { Name = "Wall-clock training time (s)"; Paper = "seconds_1e4"; Scale = 1e4; Of = seconds; AnyRun = false; HigherIsBetter = false }
          { Name = "Floating point operations, all networks of the run"; Paper = "flops_1e13"; Scale = 1e13; Of = flops; AnyRun = false; HigherIsBetter = false }
          { Name = "Floating point operations per network"; Paper = ""; Scale = 1.0; Of = (fun r -> flops r / float (max 1 r.Networks)); AnyRun = false; HigherIsBetter = false }
          { Name = sprintf "Training steps to %.2f (the claims' threshold; – not reached)" SkipRnn.Results.Claims.Evidence.threshold
            Paper = ""; Scale = 1.0; Of = toThreshold; AnyRun = true; HigherIsBetter = false }
          { Name = "Criterion at the end of the run"; Paper = ""; Scale = 1.0; Of = (fun r -> r.Criterion); AnyRun = true; HigherIsBetter = true } ]

    /// A run's evaluations: step, criterion and training seconds.
    type private Point = { Step: int; Criterion: float; Seconds: float }

    /// The learning curves of a task's runs, one line per method.
    let private curves (curveOf: StoredRun -> Point list) (task: string) (runs: StoredRun list) =
        [ for r in runs ->
            let points = curveOf r
            Chart.Line(points |> List.map (fun p -> p.Step), points |> List.map (fun p -> p.Criterion), Name = r.Label, LineColor = Values.methodColor r.Method,
                       LineDash = (if r.Label.EndsWith "40" then StyleParam.DrawingStyle.Solid else StyleParam.DrawingStyle.Dash)) ]
        |> Values.combine
        |> Chart.withTitle (sprintf "%s: criterion during training" task)
        |> Chart.withXAxisStyle "training step"
        |> Chart.withYAxisStyle ("criterion (10th–90th percentile mean)", MinMax = (0.0, 1.0))
        |> Values.styled 560 380

    let private setting (r: StoredRun) =
        match Method.tryFindRow r.Method |> Option.map (fun m -> m.Dynamics) with
        | Some BaseModel | None -> ""
        | Some Coarsened -> sprintf "θ0 %g, step count %d, annealed over %d steps" r.Theta r.StepCount r.AnnealSteps
        | Some (Skipped _) -> sprintf "β0 %g, step count %d, annealed over %d steps" r.Beta0 r.StepCount r.AnnealSteps

    let build (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "table1"
        let paper =
            store.Query("SELECT quantity, row_label, method, value, failed, best FROM paper_values WHERE source = 'table1'")
            |> List.map (fun row -> (Values.string row[0], Values.string row[1], Values.string row[2]), (Values.float row[3], Values.bool row[4], Values.bool row[5]))
            |> Map.ofList
        let tasks =
            let ours = runs |> List.map (fun r -> r.PaperTask) |> List.distinct
            // The paper's order, each authors' variant right below the corrected task.
            let order = paperOrder |> List.collect (fun t -> t :: (variantOf |> Map.toList |> List.filter (fun (_, o) -> o = t) |> List.map fst))
            (order |> List.filter (fun t -> List.contains t ours)) @ (ours |> List.filter (fun t -> not (List.contains t order)))
        // The paper's numbers of dnms, dmc and dnmc come from the authors' versions of those tasks.
        let rowNote (t: string) =
            if variantOf.ContainsKey t then "<div class=\"note\">the task the paper trained: its numbers are this row's</div>"
            elif variantOf |> Map.exists (fun _ o -> o = t) then "<div class=\"note\">corrected task; the paper's numbers are of the authors' version</div>"
            else ""
        let chosen =
            [ for t in tasks do
                for m in methods do
                    match runs |> List.filter (fun r -> r.PaperTask = t && r.Label = m) |> best with
                    | Some r -> yield (t, m), r
                    | None -> () ]
            |> Map.ofList
        let candidates = runs |> List.countBy (fun r -> r.PaperTask, r.Label) |> List.map snd |> List.fold max 0
        // Each run's evaluations, read once for the learning curves, the steps to 0.9 and the first step at 0.99.
        let curveOf =
            let stored =
                runs |> List.map (fun r ->
                    r.Key,
                    store.Query("SELECT step, criterion, train_seconds FROM evaluations WHERE job_key = $k ORDER BY eval_index", [ "k", box r.Key ])
                    |> List.map (fun row -> { Step = Values.int row[0]; Criterion = Values.float row[1]; Seconds = Values.float row[2] }))
                |> Map.ofList
            fun (r: StoredRun) -> stored[r.Key]
        let firstAt (level: float) (r: StoredRun) = curveOf r |> List.tryFind (fun p -> p.Criterion >= level)
        let toThreshold (r: StoredRun) =
            firstAt SkipRnn.Results.Claims.Evidence.threshold r |> Option.map (fun p -> float p.Step) |> Option.defaultValue nan
        let toCriterion (r: StoredRun) = firstAt 0.99 r |> Option.map (fun p -> p.Step, p.Seconds)
        let succeeded (r: StoredRun) = (toCriterion r).IsSome
        let quantities = quantities toCriterion toThreshold
        let sb = StringBuilder()
        let add (s: string) = sb.Append s |> ignore
        add "<table class=\"table1\"><thead><tr><th>task</th>"
        for m in methods do add (sprintf "<th>%s</th>" m)
        add "</tr></thead><tbody>"
        for q in quantities do
            add (sprintf "<tr class=\"quantity\"><td colspan=\"%d\">%s — ours (upper) and the paper's (lower, grey)</td></tr>" (methods.Length + 1) q.Name)
            for t in tasks do
                let ours = methods |> List.map (fun m -> m, chosen.TryFind(t, m))
                let counts (r: StoredRun) = (q.AnyRun || succeeded r) && Double.IsFinite(q.Of r)
                let better = if q.HigherIsBetter then List.max else List.min
                let bestValue =
                    ours |> List.choose (fun (_, r) -> r |> Option.filter counts |> Option.map q.Of)
                    |> function [] -> nan | vs -> better vs
                // No method succeeded: mark the one that came closest to the criterion instead.
                let closest =
                    if not (Double.IsNaN bestValue) || q.AnyRun then nan
                    else ours |> List.choose (snd >> Option.map (fun r -> r.Criterion)) |> List.filter Double.IsFinite
                         |> function [] -> nan | cs -> List.max cs
                add (sprintf "<tr><td class=\"task\">%s%s</td>" t (rowNote t))
                for m, r in ours do
                    let cell =
                        match r with
                        | None -> "<span class=\"missing\">not run</span>"
                        | Some r when q.AnyRun -> sprintf "<span title=\"%s\">%s</span>" (Values.html (setting r)) (Values.compact (q.Of r))
                        | Some r when succeeded r ->
                            sprintf "<span title=\"%s\">%s</span>" (Values.html (setting r)) (Values.compact (q.Of r))
                        | Some r ->
                            sprintf "<span class=\"failed\" title=\"%s\">failed</span><div class=\"note\">%.2f at %s</div>"
                                (Values.html (setting r)) r.Criterion (Values.compact (float r.Steps))
                    let isBest = match r with Some r when counts r && q.Of r = bestValue -> true | _ -> false
                    let isClosest = match r with Some r when not (succeeded r) && r.Criterion = closest -> true | _ -> false
                    let paperCell =
                        match (if q.Paper = "" then None else paper.TryFind(q.Paper, paperRow t, m)) with
                        | Some (_, true, _) -> "<div class=\"paper\">failed</div>"
                        | Some (v, false, bold) ->
                            let text = Values.compact (v * q.Scale)
                            sprintf "<div class=\"paper\">%s</div>" (if bold then "<b>" + text + "</b>" else text)
                        | None -> "<div class=\"paper\">–</div>"
                    let css = if isBest then " class=\"best\"" elif isClosest then " class=\"closest\"" else ""
                    add (sprintf "<td%s>%s%s</td>" css cell paperCell)
                add "</tr>"
        add "</tbody></table>"
        let settingNote =
            if candidates > 1 then
                sprintf "Each method is shown at its best setting among the %d stored for it (fewest steps among successful runs, then least time), as the paper does." candidates
            else
                let examples = runs |> List.filter (fun r -> r.Method = Method.dasc.Name || r.Method = Method.cd.Name) |> List.map setting |> List.distinct
                sprintf "Every method uses one fixed setting here (%s), not the best of the hyperparameter grid: the grid is too expensive at this profile." (String.concat "; " examples)
        let failures = runs |> List.filter (fun r -> not (succeeded r)) |> List.length
        { Id = "table-1"
          Title = "Table 1 — training on the 9 tasks that need long-term dependencies"
          Caption =
            sprintf "Training steps, wall-clock training seconds and floating-point operations until the mean performance of the middle 80 %% of networks reached 0.99, for control training and each method (subscript: θ0 for CD, the skip length θ for SCTT and DASC, in 5 ms steps). Green cell: the best of our methods in that row (successful runs only); where no method succeeded, the yellow cell is the one that came closest to the criterion. \"failed\" means the run never reached 0.99 (%d of our runs; the criterion it ended with is given below it). A run trained for a fixed budget goes on past the criterion: its steps and seconds are those of its first evaluation at 0.99, its FLOPs prorated to that step. The last two blocks hold for every run, successful or not: the training steps until the criterion first reached 0.9 (the threshold the claims at the top count to) and the criterion when the run ended; above the table, each task's learning curves (solid: θ = 40; dashed: θ = 10, control and CD). %s Our seconds are on this machine's CPU (the paper's on a GPU, 100 networks per run): compare the ranking of the methods in steps and seconds, not the absolute numbers. Our FLOPs are counted analytically, every matrix product at the model's sizes, the same per step for control, SCTT and DASC; the paper's column behaves like a measured count (it scales with its wall-clock time, and its SCTT cells cost less per step than control), so the two FLOP rows cannot agree even in ranking and are shown side by side only for reference." failures settingNote
          Scale = Scale.describe store profile "table1"
          Charts = [ for t in tasks -> curves curveOf t (runs |> List.filter (fun r -> r.PaperTask = t)) ]
          Html = sb.ToString()
          Points = runs.Length }

    /// Table 2 of the paper (rule reversal), shown for reference: this pipeline does not run it.
