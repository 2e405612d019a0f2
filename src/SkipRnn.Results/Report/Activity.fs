namespace SkipRnn.Results.Report

open System
open System.Text.Json.Nodes
open Plotly.NET
open Plotly.NET.LayoutObjects
open SkipRnn.Results

/// Inside the trained networks: an example trial per task, population trajectories, and rule reversal after
/// an uncued switch (paper Fig. 4C) — from the activity summaries the store holds for training runs.
module Activity =

    type private Stored = { Label: string; Task: string; Example: JsonNode; Trajectories: JsonNode }

    let private read (store: ResultStore) (profile: string) (experiment: string) =
        store.Query(
            "SELECT r.label, r.task, a.example_json, a.trajectories_json FROM experiment_jobs j JOIN runs r USING (job_key) JOIN activity a USING (job_key) WHERE j.profile = $p AND j.experiment = $e ORDER BY j.position",
            [ "p", box profile; "e", box experiment ])
        |> List.map (fun row ->
            { Label = Values.string row[0]; Task = Values.string row[1]
              Example = JsonNode.Parse(Values.string row[2]); Trajectories = JsonNode.Parse(Values.string row[3]) })

    /// The control run of every task of Figure 1, and the best-performing rule-reversal run of Table 2.
    let private shown (store: ResultStore) (profile: string) =
        let figure1 = read store profile "figure1"
        let ruleReversal =
            read store profile "table2"
            |> List.sortByDescending (fun r -> r.Example["performance"].GetValue<float>())
            |> List.truncate 1
        figure1 @ ruleReversal

    let private floats (node: JsonNode) =
        node.AsArray() |> Seq.map (fun n -> if isNull n then nan else n.GetValue<float>()) |> Array.ofSeq

    let private matrix (node: JsonNode) = node.AsArray() |> Seq.map floats |> Array.ofSeq

    let private strings (node: JsonNode) = node.AsArray() |> Seq.map (fun n -> n.GetValue<string>()) |> Array.ofSeq

    let private periodColors = [| "#f2f2f2"; "#e3eefa"; "#fdf0dd"; "#e6f4e6"; "#f7e6f0" |]

    /// Light rectangles behind every period, with its name on top.
    let private periodShapes (periods: JsonNode) =
        let ps = periods.AsArray() |> Seq.filter (fun p -> p["name"].GetValue<string>() <> "burnin") |> Array.ofSeq
        let shapes =
            ps |> Array.mapi (fun i p ->
                Shape.init (ShapeType = StyleParam.ShapeType.Rectangle, X0 = p["start"].GetValue<float>(), X1 = p["end"].GetValue<float>(),
                            Y0 = 0, Y1 = 1, Yref = "paper", FillColor = Color.fromHex periodColors[i % periodColors.Length],
                            Opacity = 0.6, Layer = StyleParam.Layer.Below, Line = Line.init (Width = 0.0)))
        let labels =
            ps |> Array.map (fun p ->
                Annotation.init (X = (p["start"].GetValue<float>() + p["end"].GetValue<float>()) / 2.0, Y = 1.0, YRef = "paper",
                                 YAnchor = StyleParam.YAnchorPosition.Bottom, Text = p["name"].GetValue<string>(), ShowArrow = false,
                                 Font = Font.init (Size = 10)))
        shapes, labels

    let private exampleChart (r: Stored) =
        let e = r.Example
        let time = floats e["time"]
        let readout = matrix e["readout"]
        let target = matrix e["target"]
        let outputs = strings e["outputLabels"]
        // Which outputs to draw as lines: fixation and the ring unit the answer points at; both responses of a choice task.
        let lines =
            if r.Task = "rulereversal" then [ 0; 1 ]
            else
                let ringPeak =
                    [ 1 .. outputs.Length - 1 ]
                    |> List.maxBy (fun o -> target[o] |> Array.filter Double.IsFinite |> Array.fold max 0.0)
                [ 0; ringPeak ]
        let colors = [| "#1f77b4"; "#d62728" |]
        let outputTraces =
            lines |> List.mapi (fun i o ->
                [ Chart.Line(time, readout[o], Name = sprintf "%s: readout" outputs[o], ShowLegend = true)
                  |> Chart.withLineStyle (Color = Color.fromHex colors[i], Width = 2.0)
                  Chart.Line(time, target[o], Name = sprintf "%s: target" outputs[o], ShowLegend = true)
                  |> Chart.withLineStyle (Color = Color.fromHex colors[i], Dash = StyleParam.DrawingStyle.Dash, Width = 1.0) ])
            |> List.concat
        let shapes, labels = periodShapes e["periods"]
        let inputs =
            Chart.Heatmap(zData = matrix e["inputs"], X = time, Y = strings e["inputLabels"], ColorScale = StyleParam.Colorscale.Greys, ReverseScale = true, ShowScale = false)
        let hidden =
            Chart.Heatmap(zData = matrix e["states"], X = time, Y = [ for u in 0 .. (matrix e["states"]).Length - 1 -> sprintf "unit %d" u ],
                          ColorScale = StyleParam.Colorscale.Viridis, ShowScale = false)
        [ inputs |> Chart.withYAxisStyle ("input")
          Values.combine outputTraces |> Chart.withYAxisStyle ("output")
          hidden |> Chart.withYAxisStyle ("hidden unit") ]
        |> Chart.Grid(3, 1, Pattern = StyleParam.LayoutGridPattern.Coupled, YGap = 0.12)
        |> Chart.withShapes shapes
        |> Chart.withAnnotations labels
        |> Chart.withTitle (sprintf "%s — %s, network %d, trial %d (performance %.2f)" r.Task r.Label (e["network"].GetValue<int>()) (e["trial"].GetValue<int>()) (e["performance"].GetValue<float>()))
        |> Chart.withXAxisStyle ("time (s)")
        |> Chart.withLegendStyle (Orientation = StyleParam.Orientation.Horizontal, Y = -0.15)
        // Room for the input rows' labels ("ring 2, unit 31") beside the axis titles.
        |> Chart.withMarginSize (Left = 150)
        |> Values.styled 1100 620

    let examples (store: ResultStore) (profile: string) =
        let runs = shown store profile
        { Id = "example-trials"
          Title = "Inside the trained networks — an example trial of every task"
          Caption =
            "One evaluation trial (true dynamics, fresh trials) of the best network of each task's control run (Figure 1) and, where Table 2 ran at this profile, of the best rule-reversal run. Top: the inputs shown (fixation, the two stimulus rings, the rule; for rule reversal the stimulus and the feedback the network's own choices earned). Middle: the readout (solid) against its target (dashed): the fixation output, and the ring unit the answer points at (rule reversal: the two responses). Bottom: the activity of every hidden unit (raster). Shading marks the periods of the trial; the burn-in is left unshaded. Everything is also in each run's activity.npz (numpy.load), which holds every trial with its inputs, noise and states."
          Scale = Scale.describe store profile "figure1"
          Charts = runs |> List.map exampleChart
          Html = ""
          Points = runs.Length }

    /// A colour for a condition value: hue around the circle for directions, two colours for two-valued
    /// conditions.
    let private conditionColor (colorBy: string) (value: float) =
        if Double.IsNaN value then Color.fromHex "#999999"
        elif colorBy.StartsWith "answer direction" then
            let hue = value / (2.0 * Math.PI) * 360.0
            Color.fromString (sprintf "hsl(%.0f, 70%%, 45%%)" hue)
        else
            let palette = [| "#1f77b4"; "#d62728"; "#2ca02c"; "#ff7f0e"; "#9467bd"; "#8c564b"; "#e377c2"; "#17becf" |]
            Color.fromHex palette[int value % palette.Length]

    let private trajectoryChart (r: Stored) =
        let tr = r.Trajectories
        let colorBy = tr["colorBy"].GetValue<string>()
        let explained = floats tr["explained"]
        let traces =
            tr["trials"].AsArray()
            |> Seq.map (fun t ->
                let pcs = matrix t["pcs"]
                let value = if isNull t["value"] then nan else t["value"].GetValue<float>()
                Chart.Scatter3D(x = pcs[0], y = (if pcs.Length > 1 then pcs[1] else pcs[0]), z = (if pcs.Length > 2 then pcs[2] else pcs[0]),
                                mode = StyleParam.Mode.Lines, Name = t["label"].GetValue<string>(), ShowLegend = false)
                |> Chart.withLineStyle (Color = conditionColor colorBy value, Width = 3.0))
            |> List.ofSeq
        let axis i = sprintf "PC%d (%.0f%%)" (i + 1) (100.0 * (if i < explained.Length then explained[i] else nan))
        Values.combine traces
        |> Chart.withScene (Scene.init (XAxis = LinearAxis.init (Title = Title.init (axis 0)), YAxis = LinearAxis.init (Title = Title.init (axis 1)),
                                        ZAxis = LinearAxis.init (Title = Title.init (axis 2))))
        |> Chart.withTitle (sprintf "%s — coloured by %s" r.Task colorBy)
        |> Values.styled 540 480

    let trajectories (store: ResultStore) (profile: string) =
        let wanted = [ "go"; "dlygo"; "dm1"; "dlydm1"; "dms"; "dmc"; "rulereversal" ]
        let runs = shown store profile |> List.filter (fun r -> List.contains r.Task wanted)
        { Id = "trajectories"
          Title = "Population trajectories — the first three principal components"
          Caption =
            "The hidden activity of 16 evaluation trials (8 sequences for rule reversal) after the burn-in, projected on the first three principal components of all of it (the share of variance each explains is on its axis). Each line is one trial, coloured by its condition: the direction the answer points at (hue around the colour circle; grey when the answer is to keep fixating), whether stimulus 2 matches stimulus 1, or, for rule reversal, the sequence's rule pattern."
          Scale = Scale.describe store profile "figure1"
          Charts = runs |> List.map trajectoryChart
          Html = ""
          Points = runs.Length }

    /// Rule reversal after an uncued switch, like the paper's Fig. 4C: the readout over one sequence, the rule in
    /// force behind it, and each trial's choice and feedback.
    let ruleSwitch (store: ResultStore) (profile: string) =
        let run = shown store profile |> List.tryFind (fun r -> r.Task = "rulereversal")
        let charts =
            match run with
            | None -> []
            | Some r ->
                let e = r.Example
                let time = floats e["time"]
                let readout = matrix e["readout"]
                let rules = floats e["rules"] |> Array.map int
                let stimuli = floats e["stimuli"] |> Array.map int
                let choices = if isNull e["choices"] then [||] else floats e["choices"] |> Array.map int
                let samples =
                    e["periods"].AsArray() |> Seq.filter (fun p -> p["name"].GetValue<string>().StartsWith "sample")
                    |> Seq.map (fun p -> p["start"].GetValue<float>()) |> Array.ofSeq
                let ends = Array.append samples[1..] [| Array.last time |]
                let ruleShapes =
                    Array.init samples.Length (fun k ->
                        Shape.init (ShapeType = StyleParam.ShapeType.Rectangle, X0 = samples[k], X1 = ends[k], Y0 = 0, Y1 = 1, Yref = "paper",
                                    FillColor = Color.fromHex (if rules[k] = 1 then "#e3eefa" else "#fdf0dd"), Opacity = 0.8,
                                    Layer = StyleParam.Layer.Below, Line = Line.init (Width = 0.0)))
                let notes =
                    Array.init samples.Length (fun k ->
                        let stimulus = if stimuli[k] = 1 then "A" else "B"
                        let correct = if rules[k] = 1 then stimuli[k] - 1 else 2 - stimuli[k]
                        let choice = if k < choices.Length then sprintf "chose %d %s" (choices[k] + 1) (if choices[k] = correct then "✓" else "✗") else ""
                        Annotation.init (X = (samples[k] + ends[k]) / 2.0, Y = 1.0, YRef = "paper", YAnchor = StyleParam.YAnchorPosition.Bottom,
                                         Text = sprintf "trial %d · rule %d · %s · %s" (k + 1) rules[k] stimulus choice, ShowArrow = false, Font = Font.init (Size = 11)))
                [ Values.combine
                    [ Chart.Line(time, readout[0], Name = "p(response 1)") |> Chart.withLineStyle (Color = Color.fromHex "#1f77b4", Width = 2.0)
                      Chart.Line(time, readout[1], Name = "p(response 2)") |> Chart.withLineStyle (Color = Color.fromHex "#d62728", Width = 2.0) ]
                  |> Chart.withShapes ruleShapes
                  |> Chart.withAnnotations notes
                  |> Chart.withXAxisStyle ("time (s)")
                  |> Chart.withYAxisStyle ("readout (softmax)")
                  |> Chart.withTitle (sprintf "%s, network %d" r.Label (e["network"].GetValue<int>()))
                  |> Values.styled 1100 380 ]
        { Id = "rule-switch"
          Title = "Rule reversal after an uncued switch (like the paper's Fig. 4C)"
          Caption =
            "One sequence of 5 trials in which the hidden rule reverses without a cue (background: blue = rule 1, A→1 and B→2; orange = rule 2, reversed). The lines are the network's response probabilities; above each trial, its rule, stimulus, and the choice at the end of its response period with the feedback it earned (✓ correct under the rule in force, ✗ wrong). The paper's finding (Fig. 4C) is that a trained network keeps the old rule on the first trial after a switch (it cannot know), receives 'wrong', and answers by the new rule from the next trial on; whether this network does is read from its choices above, and claim C8 at the top of the report says how many networks do."
          Scale = Scale.describe store profile "table2"
          Charts = charts
          Html = ""
          Points = charts.Length }
