namespace SkipRnn.Api

open System
open System.Collections.Generic
open System.IO
open System.Text.Json.Nodes
open System.Threading
open SkipRnn.Tasks
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Analysis

/// How a training run ended (the core's Outcome, as an enum for C#).
type RunOutcome =
    /// The criterion was reached.
    | Succeeded = 0
    /// The step limit came first.
    | Failed = 1
    /// Stopped by its cancellation token before either; Save writes a checkpoint.
    | Interrupted = 2

/// The trained weights of one network, as plain row-major arrays (the arrays of weights.npz, one network's slice).
[<Sealed>]
type NetworkWeights internal (units: int, inputs: int, outputs: int, inputUnits: int, outputUnits: int,
                              input: float32[], recurrentRaw: float32[], recurrent: float32[], bias: float32[], output: float32[]) =
    /// Units N of the network.
    member _.Units = units
    /// Inputs of the task.
    member _.Inputs = inputs
    /// Outputs of the task.
    member _.Outputs = outputs
    /// Units that receive input (the input population; all N for a choice network).
    member _.InputUnits = inputUnits
    /// Units read out (the output population; all N for a choice network).
    member _.OutputUnits = outputUnits
    /// W_in, InputUnits × Inputs.
    member _.InputWeights = input
    /// The trained recurrent parameters before Dale's law is applied, N × N (equal to Recurrent without it).
    member _.RecurrentRaw = recurrentRaw
    /// The effective recurrent weights W, N × N (row i: the weights onto unit i).
    member _.Recurrent = recurrent
    /// The biases b, N.
    member _.Bias = bias
    /// W_out, Outputs × OutputUnits.
    member _.OutputWeights = output

/// A validated run configuration: what `skiprnn train` would run with the same options. Build one with
/// RunOptions, or read one from config.json with FromJson.
[<Sealed; AllowNullLiteral>]
type RunConfiguration internal (config: RunConfig) =
    let theta, beta0 = Method.hyperparameters config.Method
    /// The core's configuration record (for F# callers and the core's functions).
    member _.Config = config
    /// The task's name.
    member _.Task = config.Task
    /// The method's name: control, cd, sctt, dasc or dasc-last.
    member _.Method = config.Method.Name
    /// The paper's label: Control, CD10, DASC40, … ("+ strategic SC" with strategic skips).
    member _.Label = config.Label
    /// The skip length θ (θ0 for CD), or null for control.
    member _.Skip = if config.Method.Row.UsesTheta then Nullable theta else Nullable()
    /// The initial ratio β0 of the skip methods, or null for control and CD.
    member _.InitRatio = if config.Method.Row.UsesBeta then Nullable beta0 else Nullable()
    /// Annealing steps of θ or β.
    member _.StepCount = config.StepCount
    /// Networks trained side by side.
    member _.Networks = config.Networks
    /// The seed of weights, trials and noise.
    member _.Seed = config.Seed
    /// Units per network N.
    member _.Units = config.Units
    /// Trials per training batch.
    member _.Trials = config.Trials
    /// Trials per evaluation.
    member _.EvaluationTrials = config.EvaluationTrials
    /// Training steps between evaluations.
    member _.EvaluateEvery = config.EvaluateEvery
    /// The training step limit.
    member _.MaxSteps = config.MaxSteps
    /// Training steps over which θ or β are annealed.
    member _.AnnealSteps = config.AnnealSteps
    /// The target of the 10th–90th percentile mean performance.
    member _.Criterion = config.Criterion
    /// Adam's learning rate (0.1/N unless set).
    member _.LearningRate = config.EffectiveLearningRate
    /// A short name for folders and tables: task_method_θ_stepcount_β0_seed.
    member _.Slug = config.Slug
    /// The configuration as config.json holds it.
    member _.ToJson() = ConfigJson.toJson config
    /// The slug.
    override _.ToString() = config.Slug

    /// A configuration from the core's record, checked by the CLI's rules; ArgumentException with the CLI's
    /// message when it is not valid.
    static member Of(config: RunConfig) =
        match RunConfig.validate config with
        | Ok c -> RunConfiguration c
        | Error message -> raise (ArgumentException message)

    /// A configuration from the text of a config.json (missing keys but the task take their defaults);
    /// ArgumentException with the CLI's message when a key or a value is not valid.
    static member FromJson(json: string) =
        if isNull json then nullArg "json"
        match ConfigJson.parse json with
        | Ok c -> RunConfiguration c
        | Error message -> raise (ArgumentException message)

    /// A configuration from the text of a config.json; false with the CLI's message in `error` when not valid.
    static member TryFromJson(json: string, [<Runtime.InteropServices.Out>] configuration: byref<RunConfiguration>,
                              [<Runtime.InteropServices.Out>] error: byref<string>) : bool =
        match (if isNull json then Error "no configuration text" else ConfigJson.parse json) with
        | Ok c ->
            configuration <- RunConfiguration c
            error <- null
            true
        | Error message ->
            configuration <- null
            error <- message
            false

    /// Trains this configuration on the CPU until its criterion, its step limit or cancellation (then the result's
    /// Outcome is Interrupted: cancellation ends the run after the current step, it does not throw). `progress`
    /// sees every evaluation; `workers` threads train (0: one per core, as the CLI). ArgumentException with the
    /// CLI's message when the run needs more memory than the machine has.
    member this.Train(progress: IProgress<Evaluation>, cancellationToken: CancellationToken, workers: int) : TrainingResult =
        if workers < 0 then raise (ArgumentException(sprintf "the number of workers must not be negative (0: one per core), got %d" workers))
        let task =
            match Catalog.tryFind config.Task with
            | Some t -> t
            | None -> raise (ArgumentException(sprintf "unknown task '%s' (known tasks: %s)" config.Task (Catalog.names ())))
        match RunConfig.memoryError config with
        | Some message -> raise (ArgumentException message)
        | None -> ()
        use trainer = if workers = 0 then new Trainer(config, task) else new Trainer(config, task, workers)
        let report (e: Evaluation) = if not (isNull progress) then progress.Report e
        let state = trainer.Run(report, cancellationToken)
        TrainingResult(this, state)

    /// Trains this configuration on the CPU with one worker per core; see the overload with workers.
    member this.Train(progress: IProgress<Evaluation>, cancellationToken: CancellationToken) =
        this.Train(progress, cancellationToken, 0)

    /// Trains this configuration on the CPU to its criterion or step limit, without progress or cancellation.
    member this.Train() = this.Train(null, CancellationToken.None, 0)

/// The outcome of a training run: its evaluations, its networks' weights, and their analysis.
and [<Sealed>] TrainingResult internal (configuration: RunConfiguration, state: TrainingState) =
    let last = if state.Evaluations.Count = 0 then None else Some state.Evaluations[state.Evaluations.Count - 1]
    let arrays = lazy (RunDirectory.weightArrays state.Parameters |> Map.ofList)
    /// The configuration trained.
    member _.Configuration = configuration
    /// The core's training state (for F# callers; resumable with the core's Trainer).
    member _.State = state
    /// How the run ended.
    member _.Outcome =
        match state.Outcome with
        | Some Succeeded -> RunOutcome.Succeeded
        | Some Failed -> RunOutcome.Failed
        | Some Interrupted | None -> RunOutcome.Interrupted
    /// Whether the criterion was reached.
    member _.Succeeded = state.Succeeded
    /// Training steps done.
    member _.Steps = state.Step
    /// Seconds spent training (evaluations excluded).
    member _.TrainSeconds = state.TrainSeconds
    /// Counted floating-point operations of training, all networks.
    member _.Flops = state.Flops
    /// The criterion (10th–90th percentile mean performance) at the last evaluation; NaN before any.
    member _.Criterion = match last with Some e -> e.Criterion | None -> nan
    /// Every network's performance at the last evaluation (empty before any).
    member _.Performances = match last with Some e -> Array.copy e.Performances | None -> [||]
    /// Every evaluation, in order.
    member _.Evaluations: IReadOnlyList<Evaluation> = state.Evaluations.AsReadOnly()
    /// Per network, the training step at which it diverged, or −1.
    member _.DivergedAt = Array.copy state.DivergedAt
    /// Networks trained.
    member _.Networks = state.Parameters.Networks
    /// Units per network.
    member _.Units = state.Architecture.Units

    /// The trained weights of one network.
    member _.Weights(network: int) =
        if network < 0 || network >= state.Parameters.Networks then
            raise (ArgumentOutOfRangeException("network", sprintf "network %d does not exist (the run has %d)" network state.Parameters.Networks))
        let slice name =
            let a: NdArray = arrays.Value[name]
            let size = a.Shape[1 ..] |> Array.fold (*) 1
            a.AsFloat32[network * size .. (network + 1) * size - 1]
        let a = state.Architecture
        NetworkWeights(a.Units, a.Inputs, a.Outputs, a.InputUnits, a.OutputUnits,
                       slice "W_in", slice "W_rec_raw", slice "W_rec", slice "b", slice "W_out")

    /// The trained networks for analysis (evaluation, activity), as TrainedRun.Load gives a saved run.
    member _.ToTrainedRun() = TrainedRun.Of(configuration.Config, state.Parameters)

    /// Performance of every network on `trials` fresh trials with the true dynamics.
    member this.Evaluate(trials: int, seed: uint64) = this.ToTrainedRun().Evaluate(trials, seed)

    /// Runs `trials` evaluation trials through one network with the true dynamics and writes everything to an
    /// .npz file (numpy.load opens it; `skiprnn activity` writes the same).
    member this.WriteActivity(network: int, trials: int, seed: uint64, path: string) =
        this.ToTrainedRun().WriteActivity(network, trials, seed, path)

    /// Writes the run's folder as `skiprnn train --out folder` would: config.json, then weights.npz,
    /// evaluations.csv and run.json (or, for an interrupted run, checkpoint.npz), holding the folder's lock as
    /// `skiprnn train` does. ArgumentException when the folder holds another run, is in use or cannot be written
    /// to at all; SkipRnn.IO.FileFailure (an IOException whose message names the file) when a file cannot be
    /// written, a full disk say.
    member _.Save(folder: string) =
        if String.IsNullOrWhiteSpace folder then raise (ArgumentException "a folder is needed")
        let dir =
            match Files.ensureWritableFolder folder with
            | Ok d -> d
            | Error message -> raise (ArgumentException message)
        use _writer =
            match FolderLock.TryAcquire(dir, "SkipRnn.Api TrainingResult.Save") with
            | Ok held -> held
            | Error message -> raise (ArgumentException message)
        let json = ConfigJson.toJson configuration.Config
        let configPath = RunDirectory.configFile dir
        if File.Exists configPath && File.ReadAllText configPath <> json then
            raise (ArgumentException(sprintf "%s holds a different run (see its config.json); choose another folder" folder))
        Files.writeAtomically configPath json
        match state.Outcome with
        | Some Succeeded | Some Failed -> RunDirectory.writeFinished dir state
        | Some Interrupted | None -> RunDirectory.saveCheckpoint dir state
