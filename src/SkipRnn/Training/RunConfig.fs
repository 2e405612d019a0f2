namespace SkipRnn.Training

open System
open SkipRnn.Tasks
open SkipRnn.Model

/// Everything that defines one training run (SPEC defaults). Two runs with equal configs produce the same
/// numbers (up to the order of floating-point reductions, which is fixed per network).
type RunConfig =
    { Task: string
      Method: Method
      /// Number of annealing steps for θ (CD) or β (SCTT, DASC); s = StepCount + 1 stages.
      StepCount: int
      Networks: int
      Seed: uint64
      Units: int
      Activation: Activation
      Dale: bool
      NoiseScale: float
      /// Trials per training batch.
      Trials: int
      /// Trials per evaluation.
      EvaluationTrials: int
      /// Evaluate every this many training steps.
      EvaluateEvery: int
      MaxSteps: int
      /// Training steps over which the annealing stages are spread.
      AnnealSteps: int
      /// Keep θ0 / β0 constant over AnnealSteps instead of annealing (paper Fig. 3).
      Hold: bool
      /// Target of the 10th–90th-percentile mean performance.
      Criterion: float
      /// None: 0.1/N.
      LearningRate: float option
      Timing: Timing
      /// With FreezeDiverged, a network whose |r| exceeds this anywhere in a training trajectory has diverged
      /// (e.g. CD with θ > τ/dt, paper Appendix E) and is frozen.
      DivergenceThreshold: float
      /// true: a network past DivergenceThreshold, or whose loss or gradient is not finite, is frozen (no
      /// further updates, still evaluated). false, the authors' rule: Adam goes on whatever the activity, and a
      /// network whose loss or gradient stops being finite takes the non-finite update (its parameters become
      /// NaN, as with TensorFlow's Adam), so it scores what a non-finite network scores.
      FreezeDiverged: bool
      /// CD only: a fresh Adam state (moments and step counts) at every change of θ, as the authors' scripts,
      /// which build a new model and with it a new optimizer for every coarsening stage and the base phase;
      /// false keeps one state for the whole run.
      FreshOptimizerPerStage: bool
      /// Initial ratio β'0 of strategic skip connections between the trials of a multi-trial task (paper
      /// §4.1), annealed like β; None: no strategic skips.
      StrategicRatio: float option
      /// Stop as soon as the criterion is reached (the paper's Table 1), or train for MaxSteps regardless
      /// (Table 2 counts the networks trained after a fixed budget).
      StopAtCriterion: bool }

    static member Default =
        { Task = "go"; Method = Control; StepCount = 5; Networks = 100; Seed = 1UL; Units = 50
          Activation = ReLU; Dale = false; NoiseScale = 0.1; Trials = 20; EvaluationTrials = 200
          EvaluateEvery = 10; MaxSteps = 40000; AnnealSteps = 20000; Hold = false; Criterion = 0.99
          LearningRate = None; Timing = Timing.Default; DivergenceThreshold = 1e6; FreezeDiverged = false
          FreshOptimizerPerStage = true; StrategicRatio = None; StopAtCriterion = true }

    member c.EffectiveLearningRate = defaultArg c.LearningRate (0.1 / float c.Units)

    /// The paper's label of the configuration: Control, CD10, DASC40, … and "+ strategic SC" when strategic
    /// skip connections are added (Table 2).
    member c.Label = c.Method.Label + (if c.StrategicRatio.IsSome then RunConfig.StrategicSuffix else "")

    /// What the label of a configuration with strategic skips ends in.
    static member StrategicSuffix = " + strategic SC"
    member c.Schedule = { Method = c.Method; StepCount = c.StepCount; AnnealSteps = c.AnnealSteps; Hold = c.Hold }

    /// A short name for folders and tables: task_method_θ_stepcount_β0_seed.
    member c.Slug =
        let hyper =
            let theta, beta0 = Method.hyperparameters c.Method
            match c.Method.Row.Dynamics with
            | BaseModel -> ""
            | Coarsened -> sprintf "_t%g_s%d" theta c.StepCount
            | Skipped _ -> sprintf "_t%d_s%d_b%g" (int theta) c.StepCount beta0
        let hold = if c.Hold then "_hold" else ""
        let strategic = match c.StrategicRatio with Some b -> sprintf "_strategic%g" b | None -> ""
        sprintf "%s_%s%s%s%s_n%d_seed%d" c.Task c.Method.Name hyper hold strategic c.Networks c.Seed

module RunConfig =

    /// The network a config asks for on a task.
    let architecture (config: RunConfig) (task: TaskDefinition) =
        let standard = Architecture.Standard(config.Units, task.InputSize, task.OutputSize)
        let arch =
            match task.Network with
            | PopulationNetwork -> standard
            | ChoiceNetwork ->
                { standard with
                    InputUnits = config.Units; OutputStart = 0; OutputUnits = config.Units; Readout = Softmax }
        { arch with Activation = config.Activation; Dale = config.Dale; NoiseScale = config.NoiseScale }

    /// Whether one batch of the task can be laid out with a timing: the shortest jittered period must last a step
    /// and the grace times must leave the scored windows non-empty (the generator's own checks, run on one trial).
    let private layOut (task: TaskDefinition) (timing: Timing) (grid: string) =
        try Ok(task.Generate { Trials = 1; Timing = timing; Jittered = true; Buffers = None } (SkipRnn.Numerics.Rng.Create(0UL)))
        with :? ArgumentException as e when e.ParamName = "settings" -> Error(sprintf "%s%s" (e.Message.Split(" (Parameter")[0]) grid)

    /// The first thing wrong with the numbers of a timing: each finite, the durations not negative, dt positive.
    let private timingError (t: Timing) =
        let durations =
            [ "burn-in", t.BurnIn; "fixation", t.Fixation; "stimulus", t.Stimulus; "delay", t.Delay; "response", t.Response
              "jitter", t.Jitter; "grace", t.Grace; "feedback", t.Feedback; "wait", t.Wait; "choice-grace", t.ChoiceGrace ]
        if not (Double.IsFinite t.Dt && t.Dt > 0.0) then Some(sprintf "dt must be a positive number of seconds, got %g" t.Dt)
        else
            match durations |> List.tryFind (fun (_, v) -> not (Double.IsFinite v && v >= 0.0)) with
            | Some (name, v) -> Some(sprintf "the %s must be a finite, non-negative number of seconds, got %g" name v)
            | None ->
                // A generous bound on a trial's steps (the paper's are 300 to 1,000), far from overflowing any index.
                let longest = durations |> List.sumBy snd
                if longest / t.Dt > 100000.0 then
                    Some(sprintf "a trial would last up to %.3g steps at dt = %g s; at most 100,000 are allowed" (longest / t.Dt) t.Dt)
                else None

    /// One clear sentence for the first thing wrong with a config, or the config (its task under the catalogue's name).
    let validate (config: RunConfig) : Result<RunConfig, string> =
        // One identity per task: "GO", " go" and the paper's name all become the catalogue's name.
        let config =
            match Catalog.tryFind config.Task with
            | Some t -> { config with Task = t.Name }
            | None -> config
        let beta name b =
            if not (b > 0.0 && b <= 1.0) then Some (sprintf "the initial ratio β0 must lie in (0, 1], got %g (%s)" b name) else None
        let methodError =
            let row = config.Method.Row
            let theta, beta0 = Method.hyperparameters config.Method
            if row.UsesTheta && not (Double.IsFinite theta && theta >= 1.0 && theta <= 100000.0) then
                Some (sprintf "the skip length θ must be a number of steps from 1 to 100000, got %g" theta)
            elif row.UsesBeta then beta row.Name beta0
            else None
        match methodError with
        | Some e -> Error e
        | None ->
            if (Catalog.tryFind config.Task).IsNone then
                Error (sprintf "unknown task '%s' (known tasks: %s)" config.Task (Catalog.names ()))
            elif config.Networks < 1 then Error (sprintf "the number of networks must be at least 1, got %d" config.Networks)
            elif config.Units < 2 then Error (sprintf "the number of units must be at least 2, got %d" config.Units)
            elif config.StepCount < 0 then Error (sprintf "the step count must not be negative, got %d" config.StepCount)
            elif config.Trials < 1 || config.EvaluationTrials < 1 then Error "the numbers of training and evaluation trials must be at least 1"
            elif config.EvaluateEvery < 1 then Error "evaluations must happen at least every 1 step"
            elif config.MaxSteps < 1 then Error "the maximum number of training steps must be at least 1"
            elif config.AnnealSteps < 0 then Error "the annealing span must not be negative"
            elif not (config.Criterion > 0.0 && config.Criterion <= 1.0) then Error "the criterion must lie in (0, 1]"
            elif not (Double.IsFinite config.NoiseScale && config.NoiseScale >= 0.0) then
                Error (sprintf "the noise scale must be a finite, non-negative number, got %g" config.NoiseScale)
            elif config.LearningRate |> Option.exists (fun lr -> not (Double.IsFinite lr && lr > 0.0)) then
                Error (sprintf "the learning rate must be a finite, positive number, got %g" config.LearningRate.Value)
            elif not (config.DivergenceThreshold > 0.0) then Error "the divergence threshold must be positive"
            elif config.StrategicRatio |> Option.exists (fun b -> not (b > 0.0 && b <= 1.0)) then
                Error (sprintf "the strategic ratio β'0 must lie in (0, 1], got %g" config.StrategicRatio.Value)
            else
                let task = (Catalog.tryFind config.Task).Value
                let coarsest =
                    match config.Method.Row.Dynamics with
                    | Coarsened -> fst (Method.hyperparameters config.Method)
                    | BaseModel | Skipped _ -> 1.0
                match timingError config.Timing with
                | Some e -> Error e
                | None ->
                    match layOut task config.Timing "" with
                    | Error e -> Error e
                    | Ok batch when config.StrategicRatio.IsSome && batch.Boundaries.Length = 0 ->
                        Error (sprintf "strategic skips go between the trials of a multi-trial task (rulereversal); %s has one trial" task.Name)
                    | Ok _ when coarsest > 1.0 ->
                        layOut task (config.Timing.Coarsened coarsest) (sprintf " (on CD's grid at θ0 = %g)" coarsest)
                        |> Result.map (fun _ -> config)
                    | Ok _ -> Ok config

    /// A rough upper bound of the memory a run needs, in bytes: the parameters with their gradients and Adam's
    /// moments, a training batch and an evaluation batch, and what each worker keeps for them (every state, f',
    /// readouts), at the longest jittered trial.
    let memoryEstimate (config: RunConfig) =
        let task = (Catalog.tryFind config.Task).Value
        let arch = architecture config task
        let nominal = task.Generate { Trials = 1; Timing = config.Timing; Jittered = false; Buffers = None } (SkipRnn.Numerics.Rng.Create(0UL))
        let steps = float nominal.Steps + 8.0 * float (config.Timing.Steps config.Timing.Jitter)
        let padded = float (SkipRnn.Numerics.Gemm.padded arch.Units)
        let io = float (task.InputSize + task.OutputSize + 1)
        let workers = float (min Environment.ProcessorCount config.Networks)
        let parameters = 16.0 * float config.Networks * float arch.ParameterCount
        let batch (trials: int) = 4.0 * steps * float trials * io
        let perWorker (trials: int) = 4.0 * steps * float trials * (3.0 * padded + 2.0 * float task.OutputSize)
        int64 (parameters + batch config.Trials + batch config.EvaluationTrials
               + workers * (perWorker config.Trials + perWorker config.EvaluationTrials))

    /// The sentence refusing a run that needs more than 90 % of the memory this process may use, if it does
    /// (`skiprnn train` and SkipRnn.Api's Train both refuse with it).
    let memoryError (config: RunConfig) =
        let needed = memoryEstimate config
        let available = float (GC.GetGCMemoryInfo().TotalAvailableMemoryBytes)
        if float needed > 0.9 * available then
            Some(sprintf "this run needs about %.1f GB of memory (%d networks, %d trials a batch, %d evaluation trials), more than the %.1f GB this machine has"
                    (float needed / 1e9) config.Networks config.Trials config.EvaluationTrials (available / 1e9))
        else None
