/// `skiprnn train`: one run, resumable, with a live progress line.
module SkipRnn.Cli.TrainCommand

open System
open System.IO
open System.Diagnostics
open System.Threading
open Argu
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

/// The run configuration: SPEC's defaults, then the --config file, then the options given.
let configOf (args: ParseResults<TrainArgs>) : RunConfig =
    let fromFile =
        match args.TryGetResult TrainArgs.Config with
        | None -> RunConfig.Default
        | Some path ->
            let text =
                try File.ReadAllText path
                with e -> fail "cannot read the configuration %s (%s)" path (e.Message.TrimEnd('.'))
            match ConfigJson.parse text with
            | Ok c -> c
            | Error message -> fail "configuration %s: %s" path message
    let c = fromFile
    let methodName = args.TryGetResult TrainArgs.Method |> Option.defaultValue c.Method.Name
    let currentSkip, currentRatio = Method.hyperparameters c.Method
    let skip = args.TryGetResult TrainArgs.Skip |> Option.defaultValue currentSkip
    let ratio = args.TryGetResult Init_Ratio |> Option.defaultValue currentRatio
    if skip < 1.0 then fail "the skip length θ must be at least 1, got %g" skip
    let method =
        match Method.tryCreate methodName skip ratio with
        | Ok m -> m
        | Error message -> fail "%s" message
    let activation =
        match args.TryGetResult TrainArgs.Activation with
        | None -> c.Activation
        | Some name ->
            match Activation.TryParse name with
            | Some a -> a
            | None -> fail "unknown activation '%s' (choose relu, tanh or softplus)" name
    let t = c.Timing
    let inline (|?) (given: 'a option) (current: 'a) = defaultArg given current
    let config =
        { c with
            Task = (args.TryGetResult TrainArgs.Task |? c.Task)
            Method = method
            StepCount = (args.TryGetResult Step_Count |? c.StepCount)
            Networks = (args.TryGetResult TrainArgs.Networks |? c.Networks)
            Seed = (match args.TryGetResult TrainArgs.Seed with Some s when s < 0 -> fail "the seed must not be negative" | Some s -> uint64 s | None -> c.Seed)
            Units = (args.TryGetResult Units |? c.Units)
            Activation = activation
            Dale = c.Dale || args.Contains Dale
            NoiseScale = (args.TryGetResult Noise |? c.NoiseScale)
            Trials =
                match args.TryGetResult TrainArgs.Trials with
                | Some n -> n
                | None when args.Contains TrainArgs.Config -> c.Trials
                | None ->
                    // Without a configuration file, the batch size is the paper's for the task.
                    Catalog.tryFind (args.TryGetResult TrainArgs.Task |? c.Task)
                    |> Option.map (fun t -> t.BatchTrials) |> Option.defaultValue c.Trials
            EvaluationTrials = (args.TryGetResult Eval_Trials |? c.EvaluationTrials)
            EvaluateEvery = (args.TryGetResult Eval_Every |? c.EvaluateEvery)
            MaxSteps = (args.TryGetResult Max_Steps |? c.MaxSteps)
            AnnealSteps = (args.TryGetResult Anneal_Steps |? c.AnnealSteps)
            Hold = c.Hold || args.Contains Hold
            StrategicRatio = (match args.TryGetResult TrainArgs.Strategic_Ratio with Some b -> Some b | None -> c.StrategicRatio)
            StopAtCriterion = c.StopAtCriterion && not (args.Contains No_Early_Stop)
            FreezeDiverged = c.FreezeDiverged || args.Contains Freeze_Diverged
            FreshOptimizerPerStage = c.FreshOptimizerPerStage && not (args.Contains Keep_Optimizer)
            Criterion = (args.TryGetResult Criterion |? c.Criterion)
            LearningRate = (match args.TryGetResult Learning_Rate with Some lr -> Some lr | None -> c.LearningRate)
            Timing =
                { Dt = (args.TryGetResult Dt |? t.Dt); BurnIn = (args.TryGetResult Burn_In |? t.BurnIn); Fixation = (args.TryGetResult Fixation |? t.Fixation)
                  Stimulus = (args.TryGetResult Stimulus |? t.Stimulus); Delay = (args.TryGetResult Delay |? t.Delay); Response = (args.TryGetResult Response |? t.Response)
                  Jitter = (args.TryGetResult Jitter |? t.Jitter); Grace = (args.TryGetResult Grace |? t.Grace)
                  Feedback = (args.TryGetResult TrainArgs.Feedback |? t.Feedback); Wait = (args.TryGetResult Wait |? t.Wait)
                  ChoiceGrace = (args.TryGetResult Choice_Grace |? t.ChoiceGrace) } }
    match RunConfig.validate config with
    | Ok c -> c
    | Error message -> fail "%s" message

let private summary (s: TrainingState) =
    let last = if s.Evaluations.Count = 0 then nan else s.Evaluations[s.Evaluations.Count - 1].Criterion
    let outcome = match s.Outcome with Some o -> o.Name | None -> "running"
    sprintf "%s after %d steps: criterion %.4f, %.1f s of training, %.3g FLOP (%.3g per network), %d diverged"
        outcome s.Step last s.TrainSeconds s.Flops (s.Flops / float s.Config.Networks)
        (s.DivergedAt |> Array.filter (fun d -> d >= 0) |> Array.length)

let run (args: ParseResults<TrainArgs>) =
    let config = configOf args
    let device = device (args.TryGetResult TrainArgs.Device)
    let out =
        match args.TryGetResult TrainArgs.Out with
        | Some o -> o
        | None -> fail "--out is required: the folder that will hold the run"
    let dir =
        match Files.ensureWritableFolder out with
        | Ok d -> d
        | Error message -> fail "%s" message
    let configJson = ConfigJson.toJson config
    let configPath = RunDirectory.configFile dir
    if File.Exists configPath && File.ReadAllText configPath <> configJson then
        fail "%s holds a different run (see its config.json); choose another --out" out
    let quiet = args.Contains Quiet
    if RunDirectory.isFinished dir then
        let record = RunDirectory.readRecord dir
        printfn "%s is already finished: %s after %d steps (criterion %s). Nothing to do."
            out (record["outcome"].GetValue<string>()) (record["steps"].GetValue<int>()) (string record["criterion"])
        0
    else
        let task = (Catalog.tryFind config.Task).Value
        Files.writeAtomically configPath configJson
        let workers = args.TryGetResult TrainArgs.Workers
        let arch = RunConfig.architecture config task
        let resumed =
            if File.Exists(RunDirectory.checkpointFile dir) then
                let s = RunDirectory.loadCheckpoint dir config arch
                if not quiet then eprintfn "resuming %s from step %d" out s.Step
                Some s
            else None
        use trainer = new Trainer(config, task, ?workers = workers, ?state = resumed, device = device)
        if not quiet then eprintfn "training on %s" trainer.Engine.Description
        use cancel = new CancellationTokenSource()
        // Ctrl-C, and SIGTERM from a scheduler, stop at the next step with a checkpoint instead of killing us.
        let stop (context: Runtime.InteropServices.PosixSignalContext) =
            context.Cancel <- true
            cancel.Cancel()
        use _interrupt = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGINT, stop)
        use _terminate = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGTERM, stop)
        let progress = Progress(quiet)
        let wall = Stopwatch.StartNew()
        let startStep = trainer.State.Step
        let mutable lastCheckpoint = Stopwatch.StartNew()
        let label = sprintf "%s %s" config.Task config.Method.Label
        let onEvaluation (e: Evaluation) =
            let perStep = wall.Elapsed.TotalSeconds / float (max 1 (e.Step - startStep))
            let left = float (config.MaxSteps - e.Step) * perStep
            progress.Update(
                sprintf "%s  step %d/%d  criterion %.3f  best %.3f  worst %.3f  diverged %d  θ %g β %.2f  train %s  at most %s left"
                    label e.Step config.MaxSteps e.Criterion (Array.max e.Performances) (Array.min e.Performances)
                    e.Diverged e.Theta e.Beta (duration e.TrainSeconds) (duration left))
            if lastCheckpoint.Elapsed.TotalSeconds > 60.0 then
                RunDirectory.saveCheckpoint dir trainer.State
                lastCheckpoint <- Stopwatch.StartNew()
        let state = trainer.Run(onEvaluation, cancel.Token)
        progress.Finish()
        match state.Outcome with
        | Some Interrupted ->
            RunDirectory.saveCheckpoint dir state
            eprintfn "interrupted at step %d; the same command resumes from there" state.Step
            130
        | _ ->
            RunDirectory.writeFinished dir state
            printfn "%s: %s" label (summary state)
            printfn "written to %s" out
            0
