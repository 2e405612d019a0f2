namespace SkipRnn.Results

open System
open System.Text.Json
open System.Text.Json.Nodes
open SkipRnn.IO
open SkipRnn.Analysis

/// What the report shows of a trained network's activity, taken from the activity.npz a training job writes
/// (see SkipRnn.Analysis.ActivityExport): one example trial (inputs, readout and target, the hidden units), and
/// the trajectories of all recorded trials on the first three principal components. Kept as JSON in the store,
/// downsampled in time, so that the report reads nothing but the store.
type ActivitySummary =
    { ExampleJson: string
      TrajectoriesJson: string }

module ActivitySummary =

    /// About this many time points per plotted trial.
    let [<Literal>] private Points = 160

    let private numbers (values: seq<float>) =
        let a = JsonArray()
        for v in values do a.Add(if Double.IsFinite v then JsonValue.Create(Math.Round(v, 5)) :> JsonNode else null)
        a

    let private texts (values: seq<string>) =
        let a = JsonArray()
        for v in values do a.Add(JsonValue.Create v)
        a

    let private rows (rows: seq<JsonArray>) =
        let a = JsonArray()
        for r in rows do a.Add r
        a

    let summarize (d: Map<string, NdArray>) : ActivitySummary =
        let text name = match d[name] with TextArray (_, t) -> t | _ -> [||]
        let shape name = d[name].Shape
        let states = d["states"].AsFloat64
        let k, stepsPlusOne, n = (shape "states")[0], (shape "states")[1], (shape "states")[2]
        let steps = stepsPlusOne - 1
        let inputs = d["inputs"].AsFloat64
        let inputCount = (shape "inputs")[2]
        let readouts = d["readouts"].AsFloat64
        let trained, outputs = (shape "readouts")[1], (shape "readouts")[2]
        let targets = d["targets"].AsFloat64
        let burnIn = d["burn_in"].AsInt32[0]
        let dt = d["dt"].AsFloat64[0]
        let task = (text "task")[0]
        let every = max 1 (steps / Points)
        let sampled = [| 0 .. every .. steps - 1 |]
        let rules = d["rules"]
        let ruleWidth = rules.Shape[1]
        let ruleOf trial = Array.init ruleWidth (fun i -> rules.AsInt32[trial * ruleWidth + i])
        // The example: the first sequence with an uncued switch (rule reversal), else the first trial.
        let example =
            [ 0 .. k - 1 ] |> List.tryFind (fun t -> ruleWidth > 1 && (ruleOf t |> Array.distinct |> Array.length) > 1)
            |> Option.defaultValue 0
        let state trial t unit = states[(trial * stepsPlusOne + t) * n + unit]
        let inputAt trial t i = inputs[(trial * steps + t) * inputCount + i]
        let shown = [| for i in 0 .. inputCount - 1 do if sampled |> Array.exists (fun t -> inputAt example t i <> 0.0) then yield i |]
        let inputLabel i =
            if task = "rulereversal" then [| "stimulus A"; "stimulus B"; "feedback: correct"; "feedback: wrong" |][i]
            elif i = 0 then "fixation"
            elif i <= 32 then sprintf "ring 1, unit %d" (i - 1)
            elif i <= 64 then sprintf "ring 2, unit %d" (i - 33)
            else sprintf "rule %d" (i - 65)
        let outputLabel o =
            if task = "rulereversal" then sprintf "response %d" (o + 1)
            elif o = 0 then "fixation" else sprintf "ring unit %d" (o - 1)
        let readoutAt t o = if t < burnIn then nan else readouts[(example * trained + t - burnIn) * outputs + o]
        let names = text "period_names"
        let starts = d["period_starts"].AsInt32
        let lengths = d["period_lengths"].AsInt32
        let periods = JsonArray()
        for p in 0 .. names.Length - 1 do
            let o = JsonObject()
            o["name"] <- JsonValue.Create names[p]
            o["start"] <- JsonValue.Create(float starts[p] * dt)
            o["end"] <- JsonValue.Create(float (starts[p] + lengths[p]) * dt)
            periods.Add o
        let e = JsonObject()
        e["task"] <- JsonValue.Create task
        e["network"] <- JsonValue.Create(d["network"].AsInt32[0])
        e["performance"] <- JsonValue.Create(d["performance"].AsFloat64[0])
        e["trial"] <- JsonValue.Create example
        e["time"] <- numbers (sampled |> Array.map (fun t -> float t * dt))
        e["periods"] <- periods
        e["inputLabels"] <- texts (shown |> Array.map inputLabel)
        e["inputs"] <- rows [ for i in shown -> numbers (sampled |> Array.map (fun t -> inputAt example t i)) ]
        e["outputLabels"] <- texts (Array.init outputs outputLabel)
        e["readout"] <- rows [ for o in 0 .. outputs - 1 -> numbers (sampled |> Array.map (fun t -> readoutAt t o)) ]
        e["target"] <- rows [ for o in 0 .. outputs - 1 -> numbers (sampled |> Array.map (fun t -> targets[(example * steps + t) * outputs + o])) ]
        e["states"] <- rows [ for u in 0 .. n - 1 -> numbers (sampled |> Array.map (fun t -> state example (t + 1) u)) ]
        e["rules"] <- numbers (ruleOf example |> Array.map float)
        let stimulusWidth = (shape "stimulus_modality")[1]
        e["stimuli"] <- numbers (Array.init stimulusWidth (fun s -> float d["stimulus_modality"].AsInt32[example * stimulusWidth + s]))
        let choices = d["choices"]
        if choices.Shape[1] > 0 then
            e["choices"] <- numbers (Array.init choices.Shape[1] (fun c -> float choices.AsInt32[example * choices.Shape[1] + c]))
        // Trajectories: principal components of the hidden states after the burn-in, over every trial.
        let afterBurnIn = [| burnIn + 1 .. every .. steps |]
        let observations = [| for trial in 0 .. k - 1 do for t in afterBurnIn -> Array.init n (state trial t) |]
        let mean, components, explained = Pca.fit observations 3
        let matchOf = d["match"].AsInt32
        let directions = d["answer_direction"].AsFloat64
        let colorBy, valueOf, labelOf =
            if task = "rulereversal" then
                "rule pattern", (fun trial -> float (Array.fold (fun acc r -> acc * 2 + (r - 1)) 0 (ruleOf trial))),
                (fun trial -> "rules " + (ruleOf trial |> Array.map string |> String.concat ""))
            elif matchOf |> Array.exists (fun m -> m >= 0) then
                "match", (fun trial -> float matchOf[trial]), (fun trial -> if matchOf[trial] = 1 then "match" else "non-match")
            else
                "answer direction (rad)", (fun trial -> directions[trial]),
                (fun trial -> if Double.IsNaN directions[trial] then "fixate" else sprintf "answer %.2f rad" directions[trial])
        let trajectories = JsonArray()
        for trial in 0 .. k - 1 do
            let points = afterBurnIn |> Array.map (fun t -> Pca.project mean components (Array.init n (state trial t)))
            let o = JsonObject()
            o["label"] <- JsonValue.Create(labelOf trial)
            o["value"] <- (let v = valueOf trial in if Double.IsFinite v then JsonValue.Create v :> JsonNode else null)
            o["pcs"] <- rows [ for c in 0 .. components.Length - 1 -> numbers (points |> Array.map (fun p -> p[c])) ]
            trajectories.Add o
        let tr = JsonObject()
        tr["task"] <- JsonValue.Create task
        tr["colorBy"] <- JsonValue.Create colorBy
        tr["explained"] <- numbers explained
        tr["trials"] <- trajectories
        { ExampleJson = e.ToJsonString(); TrajectoriesJson = tr.ToJsonString() }
