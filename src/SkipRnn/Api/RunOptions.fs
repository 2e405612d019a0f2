namespace SkipRnn.Api

open System
open System.Text.Json.Nodes
open SkipRnn.IO

/// The options of a training run, named as `skiprnn train`'s (each property is the option of the same name,
/// `--init-ratio` is InitRatio, …). Unset properties (null) take the CLI's defaults. Build checks them with the
/// CLI's rules and messages: the options are written into a config.json document key by key (ConfigSchema)
/// and read back by the same code that reads `skiprnn train`'s options.
[<Sealed; AllowNullLiteral>]
type RunOptions
    /// Options with nothing set: every property takes the CLI's default but Task, which is required.
    () =
    /// The task's name (a built-in task, or one registered with TaskCatalog.Register). Required, as --task is.
    member val Task: string = null with get, set
    /// control, cd, sctt, dasc or dasc-last (default control).
    member val Method: string = null with get, set
    /// The skip length θ in base steps (the skip methods), or the initial coarsening θ0 (CD). Default 10.
    member val Skip = Nullable<float>() with get, set
    /// The initial mixing ratio β0 in (0, 1] of the skip methods (default 0.5).
    member val InitRatio = Nullable<float>() with get, set
    /// Annealing steps of θ or β over the first AnnealSteps training steps (default 5).
    member val StepCount = Nullable<int>() with get, set
    /// Networks trained side by side (default 100).
    member val Networks = Nullable<int>() with get, set
    /// The seed of weights, trials and noise (default 1).
    member val Seed = Nullable<uint64>() with get, set
    /// Units per network N (default 50).
    member val Units = Nullable<int>() with get, set
    /// relu, tanh or softplus (default relu).
    member val Activation: string = null with get, set
    /// Constrain the recurrent weights by Dale's law (default false).
    member val Dale = Nullable<bool>() with get, set
    /// Scale of the recurrent noise (default 0.1; 0 switches it off).
    member val Noise = Nullable<float>() with get, set
    /// Trials per training batch (default: the task's).
    member val Trials = Nullable<int>() with get, set
    /// Trials per evaluation (default 200).
    member val EvaluationTrials = Nullable<int>() with get, set
    /// Evaluate every this many training steps (default 10).
    member val EvaluateEvery = Nullable<int>() with get, set
    /// The training step limit (default 40000).
    member val MaxSteps = Nullable<int>() with get, set
    /// Training steps over which θ or β are annealed (default 20000).
    member val AnnealSteps = Nullable<int>() with get, set
    /// Keep θ0 or β0 constant over the annealing steps instead of annealing them (default false).
    member val Hold = Nullable<bool>() with get, set
    /// Target of the 10th–90th percentile mean performance (default 0.99).
    member val Criterion = Nullable<float>() with get, set
    /// Adam's learning rate (default 0.1/N).
    member val LearningRate = Nullable<float>() with get, set
    /// Base time step in seconds (default 0.005).
    member val Dt = Nullable<float>() with get, set
    /// Burn-in in seconds (default 1).
    member val BurnIn = Nullable<float>() with get, set
    /// Fixation period in seconds (default 0.5).
    member val Fixation = Nullable<float>() with get, set
    /// Stimulus period(s) in seconds (default 0.5).
    member val Stimulus = Nullable<float>() with get, set
    /// Delay period in seconds (default 1).
    member val Delay = Nullable<float>() with get, set
    /// Response period in seconds (default 0.5).
    member val Response = Nullable<float>() with get, set
    /// Training jitter half-width in seconds (default 0.1).
    member val Jitter = Nullable<float>() with get, set
    /// Time after the burn-in and into the response before the loss applies, seconds (default 0.2).
    member val Grace = Nullable<float>() with get, set
    /// Rule reversal: feedback period in seconds (default 0.5).
    member val Feedback = Nullable<float>() with get, set
    /// Rule reversal: wait period in seconds (default 0.5).
    member val Wait = Nullable<float>() with get, set
    /// Rule reversal: time into each response period before the loss applies, seconds (default 0.1).
    member val ChoiceGrace = Nullable<float>() with get, set
    /// With FreezeDiverged, the activity |r| past which a network counts as diverged (default 1e6).
    member val DivergenceThreshold = Nullable<float>() with get, set
    /// Freeze a network whose activity passes the threshold or whose loss or gradient is not finite (default
    /// false: as the authors, Adam goes on).
    member val FreezeDiverged = Nullable<bool>() with get, set
    /// CD: keep one Adam state for the whole run (default false: a fresh one at every change of θ).
    member val KeepOptimizer = Nullable<bool>() with get, set
    /// Initial ratio β'0 in (0, 1] of strategic skip connections between the trials of a multi-trial task.
    member val StrategicRatio = Nullable<float>() with get, set
    /// Stop as soon as the criterion is reached (default true; false trains for MaxSteps regardless).
    member val StopAtCriterion = Nullable<bool>() with get, set

    /// The config.json document of the options that are set, keyed as `skiprnn train` sets them.
    member this.ToDocument() : JsonObject =
        let o = JsonObject()
        let set option (value: JsonNode) = ConfigSchema.setOption o option (Some value)
        let text option (v: string) = if not (isNull v) then set option (JsonValue.Create v)
        let number option (v: Nullable<float>) = if v.HasValue then set option (JsonValue.Create v.Value)
        let whole option (v: Nullable<int>) = if v.HasValue then set option (JsonValue.Create v.Value)
        // A switch of the CLI sets its key to one value; here the key takes the value given (Dale = false too).
        let flag option (v: Nullable<bool>) (toKey: bool -> bool) =
            if v.HasValue then
                match ConfigSchema.tryFindOption option with
                | Some f -> o[f.Key] <- JsonValue.Create(toKey v.Value)
                | None -> invalidOp (sprintf "no configuration key has the option --%s" option)
        text "task" this.Task
        text "method" this.Method
        number "skip" this.Skip
        number "init-ratio" this.InitRatio
        whole "step-count" this.StepCount
        whole "networks" this.Networks
        // As a double, as config.json's reader takes it (whole numbers up to 2^53).
        if this.Seed.HasValue then set "seed" (JsonValue.Create(float this.Seed.Value))
        whole "units" this.Units
        text "activation" this.Activation
        flag "dale" this.Dale id
        number "noise" this.Noise
        whole "trials" this.Trials
        whole "eval-trials" this.EvaluationTrials
        whole "eval-every" this.EvaluateEvery
        whole "max-steps" this.MaxSteps
        whole "anneal-steps" this.AnnealSteps
        flag "hold" this.Hold id
        number "criterion" this.Criterion
        number "learning-rate" this.LearningRate
        number "dt" this.Dt
        number "burn-in" this.BurnIn
        number "fixation" this.Fixation
        number "stimulus" this.Stimulus
        number "delay" this.Delay
        number "response" this.Response
        number "jitter" this.Jitter
        number "grace" this.Grace
        number "feedback" this.Feedback
        number "wait" this.Wait
        number "choice-grace" this.ChoiceGrace
        number "divergence-threshold" this.DivergenceThreshold
        flag "freeze-diverged" this.FreezeDiverged id
        flag "keep-optimizer" this.KeepOptimizer not
        number "strategic-ratio" this.StrategicRatio
        flag "no-early-stop" this.StopAtCriterion id
        o

    /// The configuration of these options, or ArgumentException with the message `skiprnn train` prints for
    /// the same options.
    member this.Build() : RunConfiguration =
        match ConfigJson.ofObject (this.ToDocument()) with
        | Ok c -> RunConfiguration c
        | Error message -> raise (ArgumentException message)

    /// The configuration of these options; false with the message `skiprnn train` prints in `error` when they
    /// are not valid.
    member this.TryBuild([<Runtime.InteropServices.Out>] configuration: byref<RunConfiguration>,
                         [<Runtime.InteropServices.Out>] error: byref<string>) : bool =
        try
            configuration <- this.Build()
            error <- null
            true
        with :? ArgumentException as e ->
            configuration <- null
            error <- e.Message
            false
