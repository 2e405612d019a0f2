namespace SkipRnn.Results.Report

open System
open System.Text
open System.Text.Json
open Plotly.NET
open SkipRnn.Results

/// Table 2: the share of rule-reversal networks trained above 0.99, without and with strategic skip
/// connections, beside the paper's.
module Table2 =

    let private methods = [ "Control"; "CD10"; "SCTT40"; "DASC40" ]
    let private rows = [ "Baseline", ""; "+ Strategic SC", " + strategic SC" ]
    /// The paper reports these, but the authors' code does not train them (experiments/Table2.fs).
    let private oursOnly = set [ "Control + strategic SC"; "CD10 + strategic SC" ]

    /// Share above a threshold, its binomial standard error, and the mean.
    let private summary (performances: float[]) (threshold: float) =
        let n = float performances.Length
        let p = (performances |> Array.filter (fun x -> x > threshold) |> Array.length |> float) / n
        p, sqrt (p * (1.0 - p) / n)

    let build (store: ResultStore) (profile: string) =
        let runs =
            store.Query(
                "SELECT r.label, r.performances, r.networks, r.steps FROM experiment_jobs j JOIN runs r USING (job_key) WHERE j.profile = $p AND j.experiment = 'table2' ORDER BY j.position",
                [ "p", box profile ])
            |> List.map (fun row ->
                let performances =
                    JsonSerializer.Deserialize<Nullable<float>[]>(Values.string row[1])
                    |> Array.map (fun v -> if v.HasValue then v.Value else 0.0)
                Values.string row[0], performances)
            |> Map.ofList
        let paper = store.Query("SELECT row_label, method, value, spread FROM paper_values WHERE source = 'table2'")
        let paperValue row m =
            paper |> List.tryFind (fun r -> Values.string r[0] = row && Values.string r[1] = m)
            |> Option.map (fun r -> Values.float r[2], Values.float r[3])
        let sb = StringBuilder()
        let add (s: string) = sb.Append s |> ignore
        add "<table class=\"table1\"><thead><tr><th></th>"
        for m in methods do add (sprintf "<th>%s</th>" m)
        add "</tr></thead><tbody>"
        for quantity, describe in
            [ "proportion trained (> 0.99) — the paper's measure", (fun (perf: float[]) -> let p, se = summary perf 0.99 in sprintf "%.2f (± %.2f)" p se)
              "proportion above 0.9", (fun perf -> let p, se = summary perf 0.9 in sprintf "%.2f (± %.2f)" p se)
              "mean performance", (fun perf -> sprintf "%.3f" (Array.average perf)) ] do
            add (sprintf "<tr class=\"quantity\"><td colspan=\"%d\">%s</td></tr>" (methods.Length + 1) (Values.html quantity))
            for rowLabel, suffix in rows do
                add (sprintf "<tr><td class=\"task\">%s</td>" (Values.html rowLabel))
                for m in methods do
                    let ours =
                        match runs.TryFind(m + suffix) with
                        | Some perf when perf.Length > 0 -> describe perf
                        | _ -> "<span class=\"missing\">not run</span>"
                    let paperCell =
                        match quantity.StartsWith "proportion trained", paperValue rowLabel m with
                        | true, Some (v, s) -> sprintf "<br><span class=\"paper\">paper %.2f (± %.2f)</span>" v s
                        | _ -> ""
                    let mark = if oursOnly.Contains(m + suffix) then "<br><span class=\"note\">our settings: the authors' code has no such run</span>" else ""
                    add (sprintf "<td>%s%s%s</td>" ours paperCell mark)
                add "</tr>"
        add "</tbody></table>"
        // The learning curves: mean performance over training, baseline dashed, strategic solid.
        let curves =
            store.Query(
                "SELECT r.label, e.step, e.mean_performance, r.method FROM experiment_jobs j JOIN runs r USING (job_key) JOIN evaluations e USING (job_key) WHERE j.profile = $p AND j.experiment = 'table2' ORDER BY r.label, e.step",
                [ "p", box profile ])
            |> List.groupBy (fun r -> Values.string r[0])
            |> List.map (fun (label, points) ->
                let strategic = label.EndsWith SkipRnn.Training.RunConfig.StrategicSuffix
                let color = Values.methodColor (Values.string points.Head[3])
                Chart.Line(points |> List.map (fun r -> Values.int r[1]), points |> List.map (fun r -> Values.float r[2]), Name = label)
                |> Chart.withLineStyle (Color = color, Dash = (if strategic then StyleParam.DrawingStyle.Solid else StyleParam.DrawingStyle.Dash)))
        let chart =
            if curves.IsEmpty then []
            else
                [ Values.combine curves
                  |> Chart.withXAxisStyle "training step"
                  |> Chart.withYAxisStyle "mean performance"
                  |> Values.styled 900 420 ]
        { Id = "table-2"
          Title = "Table 2 — rule reversal, without and with strategic skip connections"
          Caption =
            "Networks trained on 5 consecutive trials of the uncued rule-reversal task (a stimulus, a choice, feedback; the rule A→1, B→2 reverses without a cue, so a switch can only be learned from feedback). A network counts as trained when its accuracy on fresh sequences exceeds 0.99; ± is the binomial standard error. '+ strategic SC' adds a skip connection from the start of every trial to its end, with ratio β' annealed like β. The settings are those of the authors' scripts: control without annealing; CD10 at θ = 10 for the first half of the annealing span, then the base model with a fresh Adam state; SCTT40 step count 10, β0 0.8; DASC40 step count 1, β0 0.5; strategic skips with β'0 = β0. Their code trains no control or CD10 with strategic skips: for those two cells (marked) the settings are ours, β'0 = 0.5 (control annealed over 6 stages, CD10 over its 2). The paper's proportions (100 networks, 10,000 steps) are in grey. At a short budget few networks pass 0.99, so the share above 0.9 and the mean performance show where training stands; the curves show mean performance over training (dashed: baseline, solid: with strategic skips)."
          Scale = Scale.describe store profile "table2"
          Charts = chart
          Html = sb.ToString()
          Points = runs.Count }
