namespace SkipRnn.IO

open System
open System.Text.Json.Nodes
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

/// A configuration value that cannot be read: one sentence for the user.
exception ConfigError of string

/// One key of config.json: where it sits, how `skiprnn train` sets it, its help text (with the default), and how
/// it is read into a RunConfig and written from one.
type ConfigField =
    { /// The key, at the top level or inside "timing".
      Key: string
      InTiming: bool
      /// The option of `skiprnn train` that sets it (without "--").
      Option: string
      /// A switch (an option without a value) sets the key to this value.
      Switch: bool option
      Help: string
      /// The value written for a config (None: the key is left out).
      Write: RunConfig -> JsonNode option
      /// The config with this key's value, which is present and not null (raises ConfigError).
      Read: JsonNode -> RunConfig -> RunConfig
      /// The config when the key is absent.
      Absent: RunConfig -> RunConfig }

/// The run configuration's schema: every key of config.json, in the order they are written and read, with
/// their command-line options and help. The JSON reader and writer (ConfigJson) and the options of
/// `skiprnn train` all come from this table.
module ConfigSchema =

    let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

    let private wrongType (key: string) (node: JsonNode) = fail "'%s' has the wrong type (%s)" key (node.ToJsonString())

    /// A number, read from JSON text or from a value the command line put there (an int or a float).
    let private number (key: string) (node: JsonNode) =
        match node with
        | :? JsonValue as v ->
            match v.TryGetValue<float>() with
            | true, x -> x
            | _ ->
                match v.TryGetValue<int>() with
                | true, x -> float x
                | _ -> wrongType key node
        | _ -> wrongType key node
    let private integer key node =
        let v = number key node
        if v <> Math.Floor v || abs v > float Int32.MaxValue then fail "'%s' must be a whole number, got %s" key (node.ToJsonString())
        int v
    let private text (key: string) (node: JsonNode) =
        match node with
        | :? JsonValue as v -> (match v.TryGetValue<string>() with | true, x -> x | _ -> wrongType key node)
        | _ -> wrongType key node
    let private flag (key: string) (node: JsonNode) =
        match node with
        | :? JsonValue as v -> (match v.TryGetValue<bool>() with | true, x -> x | _ -> wrongType key node)
        | _ -> wrongType key node

    let private ofInt (x: int) = Some(JsonValue.Create x :> JsonNode)
    let private ofFloat (x: float) = Some(JsonValue.Create x :> JsonNode)
    let private ofText (x: string) = Some(JsonValue.Create x :> JsonNode)
    let private ofFlag (x: bool) = Some(JsonValue.Create x :> JsonNode)

    let private field key option help write read =
        { Key = key; InTiming = false; Option = option; Switch = None; Help = help; Write = write; Read = read; Absent = id }

    let private switch key option (switchValue: bool) help (get: RunConfig -> bool) (set: bool -> RunConfig -> RunConfig) =
        { field key option help (get >> ofFlag) (fun node c -> set (flag key node) c) with Switch = Some switchValue }

    let private timing key option help (get: Timing -> float) (set: float -> Timing -> Timing) =
        { field key option help (fun c -> ofFloat (get c.Timing)) (fun node c -> { c with Timing = set (number key node) c.Timing })
            with InTiming = true }

    /// The method with a new θ or β0, keeping the other.
    let private withHyperparameters (theta: float option) (beta0: float option) (c: RunConfig) =
        let row = c.Method.Row
        let currentTheta, currentBeta = Method.hyperparameters c.Method
        let theta = defaultArg theta currentTheta
        if row.UsesTheta && not (Double.IsFinite theta) then fail "the skip length θ of %s must be a finite number of steps, got %g" row.Name theta
        match row.Dynamics with
        | Skipped _ when theta <> Math.Floor theta ->
            fail "the skip length θ of %s must be a whole number of steps, got %g" row.Name theta
        | _ -> { c with Method = row.Make theta (defaultArg beta0 currentBeta) }

    let private d = RunConfig.Default
    let private t = Timing.Default

    /// Every key, in the order config.json lists them (a key is read after those before it: method before skip
    /// and initRatio, units before learningRate, task before trials).
    let fields: ConfigField list =
        [ { field "task" "task" (sprintf "task to train, required (%s; paper names accepted)." (Catalog.names ()))
              (fun c -> ofText c.Task) (fun node c -> { c with Task = text "task" node })
              // No default task: a configuration without one is a mistake, not a request for go.
              with Absent = fun _ -> fail "no task is given (--task, or the key 'task'; known tasks: %s)" (Catalog.names ()) }
          field "method" "method"
            (sprintf "training method (default control): %s."
                (Method.rows |> List.map (fun r -> sprintf "%s, %s" r.Name r.Summary) |> String.concat "; "))
            (fun c -> ofText c.Method.Name)
            (fun node c ->
                match Method.tryCreate (text "method" node) 10.0 0.5 with
                | Ok m -> { c with Method = m }
                | Error message -> fail "%s" message)
          field "skip" "skip" "skip length θ in base steps (the skip methods), or the initial coarsening θ0 (CD). Default 10."
            (fun c ->
                let theta, _ = Method.hyperparameters c.Method
                match c.Method.Row.Dynamics with
                | BaseModel -> None
                | Coarsened -> ofFloat theta
                | Skipped _ -> ofInt (int theta))
            (fun node c -> withHyperparameters (Some (number "skip" node)) None c)
          field "initRatio" "init-ratio" "initial mixing ratio β0 in (0, 1] of the skip methods (default 0.5)."
            (fun c -> if c.Method.Row.UsesBeta then ofFloat (snd (Method.hyperparameters c.Method)) else None)
            (fun node c -> withHyperparameters None (Some (number "initRatio" node)) c)
          field "stepCount" "step-count" (sprintf "number of annealing steps of θ or β over the first anneal-steps training steps (default %d)." d.StepCount)
            (fun c -> ofInt c.StepCount) (fun node c -> { c with StepCount = integer "stepCount" node })
          field "networks" "networks" (sprintf "number of networks trained side by side (default %d)." d.Networks)
            (fun c -> ofInt c.Networks) (fun node c -> { c with Networks = integer "networks" node })
          field "seed" "seed" (sprintf "seed of weights, trials and noise (default %d)." d.Seed)
            (fun c -> Some(JsonValue.Create c.Seed :> JsonNode))
            (fun node c ->
                let v = number "seed" node
                // Read as a double: whole numbers are exact up to 2^53.
                if v < 0.0 || v <> Math.Floor v || v > 9007199254740992.0 then
                    fail "the seed must be a whole number from 0 to 2^53, got %s" (node.ToJsonString())
                { c with Seed = uint64 v })
          field "units" "units" (sprintf "units per network N (default %d)." d.Units)
            (fun c -> ofInt c.Units) (fun node c -> { c with Units = integer "units" node })
          field "activation" "activation" "relu, tanh or softplus (default relu)."
            (fun c -> ofText c.Activation.Name)
            (fun node c ->
                let name = text "activation" node
                match Activation.TryParse name with
                | Some a -> { c with Activation = a }
                | None -> fail "unknown activation '%s' (choose relu, tanh or softplus)" name)
          switch "dale" "dale" true "constrain the recurrent weights by Dale's law." (fun c -> c.Dale) (fun v c -> { c with Dale = v })
          field "noise" "noise" (sprintf "scale of the recurrent noise (default %g; 0 switches it off)." d.NoiseScale)
            (fun c -> ofFloat c.NoiseScale) (fun node c -> { c with NoiseScale = number "noise" node })
          { field "trials" "trials" "trials per training batch (default: the task's, 20; 40 sequences for rulereversal)."
              (fun c -> ofInt c.Trials) (fun node c -> { c with Trials = integer "trials" node })
              with Absent = fun c -> { c with Trials = Catalog.tryFind c.Task |> Option.map (fun t -> t.BatchTrials) |> Option.defaultValue c.Trials } }
          field "evalTrials" "eval-trials" (sprintf "trials per evaluation (default %d)." d.EvaluationTrials)
            (fun c -> ofInt c.EvaluationTrials) (fun node c -> { c with EvaluationTrials = integer "evalTrials" node })
          field "evalEvery" "eval-every" (sprintf "evaluate every this many training steps (default %d)." d.EvaluateEvery)
            (fun c -> ofInt c.EvaluateEvery) (fun node c -> { c with EvaluateEvery = integer "evalEvery" node })
          field "maxSteps" "max-steps" (sprintf "training step limit (default %d)." d.MaxSteps)
            (fun c -> ofInt c.MaxSteps) (fun node c -> { c with MaxSteps = integer "maxSteps" node })
          field "annealSteps" "anneal-steps" (sprintf "training steps over which θ or β are annealed (default %d)." d.AnnealSteps)
            (fun c -> ofInt c.AnnealSteps) (fun node c -> { c with AnnealSteps = integer "annealSteps" node })
          switch "hold" "hold" true "keep θ0 or β0 constant over the annealing steps instead of annealing them."
            (fun c -> c.Hold) (fun v c -> { c with Hold = v })
          field "criterion" "criterion" (sprintf "target of the 10th-90th percentile mean performance (default %g)." d.Criterion)
            (fun c -> ofFloat c.Criterion) (fun node c -> { c with Criterion = number "criterion" node })
          field "learningRate" "learning-rate" "Adam learning rate (default 0.1/N)."
            (fun c -> ofFloat c.EffectiveLearningRate)
            (fun node c ->
                let lr = number "learningRate" node
                { c with LearningRate = (if abs (lr - 0.1 / float c.Units) < 1e-12 then None else Some lr) })
          timing "dt" "dt" (sprintf "base time step in seconds (default %g)." t.Dt) (fun t -> t.Dt) (fun v t -> { t with Dt = v })
          timing "burnIn" "burn-in" (sprintf "burn-in in seconds (default %g)." t.BurnIn) (fun t -> t.BurnIn) (fun v t -> { t with BurnIn = v })
          timing "fixation" "fixation" (sprintf "fixation period in seconds (default %g)." t.Fixation) (fun t -> t.Fixation) (fun v t -> { t with Fixation = v })
          timing "stimulus" "stimulus" (sprintf "stimulus period(s) in seconds (default %g)." t.Stimulus) (fun t -> t.Stimulus) (fun v t -> { t with Stimulus = v })
          timing "delay" "delay" (sprintf "delay period in seconds (default %g)." t.Delay) (fun t -> t.Delay) (fun v t -> { t with Delay = v })
          timing "response" "response" (sprintf "response period in seconds (default %g)." t.Response) (fun t -> t.Response) (fun v t -> { t with Response = v })
          timing "jitter" "jitter" (sprintf "training jitter half-width in seconds (default %g)." t.Jitter) (fun t -> t.Jitter) (fun v t -> { t with Jitter = v })
          timing "grace" "grace" (sprintf "time after burn-in and into the response before the loss applies, seconds (default %g)." t.Grace)
            (fun t -> t.Grace) (fun v t -> { t with Grace = v })
          timing "feedback" "feedback" (sprintf "rule reversal: feedback period in seconds (default %g)." t.Feedback) (fun t -> t.Feedback) (fun v t -> { t with Feedback = v })
          timing "wait" "wait" (sprintf "rule reversal: wait period in seconds (default %g)." t.Wait) (fun t -> t.Wait) (fun v t -> { t with Wait = v })
          timing "choiceGrace" "choice-grace" (sprintf "rule reversal: time into each response period before the loss applies, seconds (default %g)." t.ChoiceGrace)
            (fun t -> t.ChoiceGrace) (fun v t -> { t with ChoiceGrace = v })
          field "divergenceThreshold" "divergence-threshold" (sprintf "with freeze-diverged, the activity |r| past which a network counts as diverged (default %g)." d.DivergenceThreshold)
            (fun c -> ofFloat c.DivergenceThreshold) (fun node c -> { c with DivergenceThreshold = number "divergenceThreshold" node })
          switch "freezeDiverged" "freeze-diverged" true
            "freeze a network whose activity passes the divergence threshold or whose loss or gradient is not finite; by default, as the authors, Adam goes on and a non-finite update makes the network's parameters NaN."
            (fun c -> c.FreezeDiverged) (fun v c -> { c with FreezeDiverged = v })
          { switch "freshOptimizerPerStage" "keep-optimizer" false
              "CD: keep one Adam state for the whole run; by default, as the authors, a fresh one at every change of θ."
              (fun c -> c.FreshOptimizerPerStage) (fun v c -> { c with FreshOptimizerPerStage = v })
              with Write = fun c -> if c.Method.Row.Dynamics = Coarsened then ofFlag c.FreshOptimizerPerStage else None }
          field "strategicRatio" "strategic-ratio"
            "add strategic skip connections from the start to the end of each trial of a multi-trial task (rulereversal), initial ratio β'0 in (0, 1], annealed like β."
            (fun c -> c.StrategicRatio |> Option.bind ofFloat) (fun node c -> { c with StrategicRatio = Some (number "strategicRatio" node) })
          switch "stopAtCriterion" "no-early-stop" false "train for --max-steps even after the criterion is reached."
            (fun c -> c.StopAtCriterion) (fun v c -> { c with StopAtCriterion = v }) ]

    /// The field set by a command-line option.
    let tryFindOption (option: string) = fields |> List.tryFind (fun f -> f.Option = option)

    /// The help text of a command-line option.
    let help (option: string) =
        match tryFindOption option with
        | Some f -> f.Help
        | None -> invalidArg "option" (sprintf "no configuration key has the option --%s" option)

    let private distance (a: string) (b: string) =
        let a, b = a.ToLowerInvariant(), b.ToLowerInvariant()
        let previous = Array.init (b.Length + 1) id
        let current = Array.zeroCreate (b.Length + 1)
        for i in 1 .. a.Length do
            current[0] <- i
            for j in 1 .. b.Length do
                let cost = if a[i - 1] = b[j - 1] then 0 else 1
                current[j] <- min (min (previous[j] + 1) (current[j - 1] + 1)) (previous[j - 1] + cost)
            Array.blit current 0 previous 0 current.Length
        previous[b.Length]

    /// Refuses a key the schema does not have, naming the nearest known one.
    let private checkKeys (where: string) (o: JsonObject) (known: string list) =
        for KeyValue (key, _) in o do
            if not (List.contains key known) then
                let nearest = known |> List.minBy (distance key)
                if distance key nearest <= 3 then fail "unknown key '%s'%s (did you mean '%s'?)" key where nearest
                else fail "unknown key '%s'%s (known keys: %s)" key where (String.concat ", " known)

    let private tryNode (o: JsonObject) (key: string) =
        let mutable node: JsonNode = null
        if o.TryGetPropertyValue(key, &node) then
            if isNull node then fail "'%s' is null; leave the key out for its default" key
            Some node
        else None

    /// A config from a JSON object: every key known, every value of its type; missing keys take their defaults.
    /// The values' ranges are checked by RunConfig.validate.
    let read (o: JsonObject) : RunConfig =
        let timingObject =
            match tryNode o "timing" with
            | Some (:? JsonObject as t) -> t
            | Some _ -> fail "'timing' must be an object"
            | None -> JsonObject()
        checkKeys "" o ("timing" :: (fields |> List.filter (fun f -> not f.InTiming) |> List.map (fun f -> f.Key)))
        checkKeys " in 'timing'" timingObject (fields |> List.filter (fun f -> f.InTiming) |> List.map (fun f -> f.Key))
        (RunConfig.Default, fields)
        ||> List.fold (fun c f ->
            match tryNode (if f.InTiming then timingObject else o) f.Key with
            | Some node -> f.Read node c
            | None -> f.Absent c)

    /// The JSON object of a config, keys in schema order, "timing" where its first key falls.
    let write (c: RunConfig) : JsonObject =
        let o = JsonObject()
        let timingObject = JsonObject()
        for f in fields do
            match f.Write c with
            | Some node ->
                if f.InTiming then
                    if not (o.ContainsKey "timing") then o["timing"] <- timingObject
                    timingObject[f.Key] <- node
                else o[f.Key] <- node
            | None -> ()
        o

    /// Sets the key of a command-line option in a JSON object (a switch to its value).
    let setOption (o: JsonObject) (option: string) (value: JsonNode option) =
        match tryFindOption option with
        | None -> invalidArg "option" (sprintf "no configuration key has the option --%s" option)
        | Some f ->
            let node =
                match f.Switch, value with
                | Some v, _ -> JsonValue.Create v :> JsonNode
                | None, Some v -> v
                | None, None -> invalidArg "value" (sprintf "--%s needs a value" option)
            if f.InTiming then
                let t =
                    match o["timing"] with
                    | :? JsonObject as t -> t
                    | _ ->
                        let t = JsonObject()
                        o["timing"] <- t
                        t
                t[f.Key] <- node
            else o[f.Key] <- node
