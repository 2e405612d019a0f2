namespace SkipRnn.IO

open System
open System.Text.Json
open System.Text.Json.Nodes
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

/// Run configurations as JSON, with the same names as the command-line options (`skiprnn train --help`).
/// Every key is optional when reading; missing keys take SPEC's defaults.
module ConfigJson =

    let private timingNode (t: Timing) =
        JsonObject(
            [ "dt", JsonValue.Create t.Dt :> JsonNode
              "burnIn", JsonValue.Create t.BurnIn
              "fixation", JsonValue.Create t.Fixation
              "stimulus", JsonValue.Create t.Stimulus
              "delay", JsonValue.Create t.Delay
              "response", JsonValue.Create t.Response
              "jitter", JsonValue.Create t.Jitter
              "grace", JsonValue.Create t.Grace
              "feedback", JsonValue.Create t.Feedback
              "wait", JsonValue.Create t.Wait
              "choiceGrace", JsonValue.Create t.ChoiceGrace ]
            |> Seq.map (fun (k, v) -> Collections.Generic.KeyValuePair(k, v)))

    let toNode (c: RunConfig) : JsonObject =
        let o = JsonObject()
        o["task"] <- JsonValue.Create c.Task
        o["method"] <- JsonValue.Create c.Method.Name
        let theta, beta0 = Method.hyperparameters c.Method
        match c.Method.Row.Dynamics with
        | BaseModel -> ()
        | Coarsened -> o["skip"] <- JsonValue.Create theta
        | Skipped _ ->
            o["skip"] <- JsonValue.Create(int theta)
            o["initRatio"] <- JsonValue.Create beta0
        o["stepCount"] <- JsonValue.Create c.StepCount
        o["networks"] <- JsonValue.Create c.Networks
        o["seed"] <- JsonValue.Create c.Seed
        o["units"] <- JsonValue.Create c.Units
        o["activation"] <- JsonValue.Create c.Activation.Name
        o["dale"] <- JsonValue.Create c.Dale
        o["noise"] <- JsonValue.Create c.NoiseScale
        o["trials"] <- JsonValue.Create c.Trials
        o["evalTrials"] <- JsonValue.Create c.EvaluationTrials
        o["evalEvery"] <- JsonValue.Create c.EvaluateEvery
        o["maxSteps"] <- JsonValue.Create c.MaxSteps
        o["annealSteps"] <- JsonValue.Create c.AnnealSteps
        o["hold"] <- JsonValue.Create c.Hold
        o["criterion"] <- JsonValue.Create c.Criterion
        o["learningRate"] <- JsonValue.Create c.EffectiveLearningRate
        o["timing"] <- timingNode c.Timing
        o["divergenceThreshold"] <- JsonValue.Create c.DivergenceThreshold
        o["freezeDiverged"] <- JsonValue.Create c.FreezeDiverged
        if c.Method.Row.Dynamics = Coarsened then o["freshOptimizerPerStage"] <- JsonValue.Create c.FreshOptimizerPerStage
        match c.StrategicRatio with
        | Some b -> o["strategicRatio"] <- JsonValue.Create b
        | None -> ()
        o["stopAtCriterion"] <- JsonValue.Create c.StopAtCriterion
        o

    let toJson (c: RunConfig) = (toNode c).ToJsonString(JsonSerializerOptions(WriteIndented = true))

    exception ConfigError of string

    let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

    let private tryNode (o: JsonObject) (key: string) =
        let mutable node: JsonNode = null
        if o.TryGetPropertyValue(key, &node) && not (isNull node) then Some node else None

    let private get (o: JsonObject) (key: string) (read: JsonNode -> 'a) (fallback: 'a) =
        match tryNode o key with
        | None -> fallback
        | Some node ->
            try read node
            with
            | ConfigError _ -> reraise ()
            | _ -> fail "'%s' has the wrong type (%s)" key (node.ToJsonString())

    let private number (n: JsonNode) = n.GetValue<float>()
    let private integer (n: JsonNode) =
        let v = n.GetValue<float>()
        if v <> Math.Floor v then raise (FormatException()) else int v
    let private text (n: JsonNode) = n.GetValue<string>()
    let private flag (n: JsonNode) = n.GetValue<bool>()

    /// A config from JSON, checked; Error with one sentence if the JSON is malformed or a value is invalid.
    let parse (json: string) : Result<RunConfig, string> =
        try
            let node =
                try JsonNode.Parse json
                with e -> fail "not valid JSON (%s)" (e.Message.Split('\n')[0])
            let o =
                match node with
                | :? JsonObject as o -> o
                | _ -> fail "the configuration must be a JSON object"
            let d = RunConfig.Default
            let methodName = get o "method" text "control"
            let skip = get o "skip" number 10.0
            let initRatio = get o "initRatio" number 0.5
            let method =
                match Method.tryCreate methodName skip initRatio with
                | Ok m -> m
                | Error message -> fail "%s" message
            let activation =
                let name = get o "activation" text "relu"
                match Activation.TryParse name with
                | Some a -> a
                | None -> fail "unknown activation '%s' (choose relu, tanh or softplus)" name
            let timing =
                match tryNode o "timing" with
                | Some (:? JsonObject as t) ->
                    let dt = Timing.Default
                    { Dt = get t "dt" number dt.Dt
                      BurnIn = get t "burnIn" number dt.BurnIn
                      Fixation = get t "fixation" number dt.Fixation
                      Stimulus = get t "stimulus" number dt.Stimulus
                      Delay = get t "delay" number dt.Delay
                      Response = get t "response" number dt.Response
                      Jitter = get t "jitter" number dt.Jitter
                      Grace = get t "grace" number dt.Grace
                      Feedback = get t "feedback" number dt.Feedback
                      Wait = get t "wait" number dt.Wait
                      ChoiceGrace = get t "choiceGrace" number dt.ChoiceGrace }
                | None -> Timing.Default
                | Some _ -> fail "'timing' must be an object"
            let units = get o "units" integer d.Units
            let config =
                { Task = get o "task" text d.Task
                  Method = method
                  StepCount = get o "stepCount" integer d.StepCount
                  Networks = get o "networks" integer d.Networks
                  Seed = get o "seed" (fun n -> uint64 (integer n)) d.Seed
                  Units = units
                  Activation = activation
                  Dale = get o "dale" flag d.Dale
                  NoiseScale = get o "noise" number d.NoiseScale
                  Trials = get o "trials" integer d.Trials
                  EvaluationTrials = get o "evalTrials" integer d.EvaluationTrials
                  EvaluateEvery = get o "evalEvery" integer d.EvaluateEvery
                  MaxSteps = get o "maxSteps" integer d.MaxSteps
                  AnnealSteps = get o "annealSteps" integer d.AnnealSteps
                  Hold = get o "hold" flag d.Hold
                  Criterion = get o "criterion" number d.Criterion
                  LearningRate =
                    match get o "learningRate" (number >> Some) None with
                    | Some lr when abs (lr - 0.1 / float units) < 1e-12 -> None
                    | other -> other
                  Timing = timing
                  DivergenceThreshold = get o "divergenceThreshold" number d.DivergenceThreshold
                  FreezeDiverged = get o "freezeDiverged" flag d.FreezeDiverged
                  FreshOptimizerPerStage = get o "freshOptimizerPerStage" flag d.FreshOptimizerPerStage
                  StrategicRatio = get o "strategicRatio" (number >> Some) None
                  StopAtCriterion = get o "stopAtCriterion" flag d.StopAtCriterion }
            RunConfig.validate config
        with ConfigError message -> Error message
