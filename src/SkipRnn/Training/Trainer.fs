namespace SkipRnn.Training

open System
open System.Diagnostics
open System.Threading
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

/// One evaluation of every network on fresh trials with the true dynamics.
type Evaluation =
    { /// Training steps done when evaluated.
      Step: int
      /// Seconds spent training so far (evaluations excluded).
      TrainSeconds: float
      /// Mean performance of the networks between the 10th and 90th percentile.
      Criterion: float
      Performances: float[]
      /// Mean training loss of the last step over the networks still training.
      MeanLoss: float
      /// θ and β of the schedule at the last training step (1 when not used).
      Theta: float
      Beta: float
      Diverged: int }

type Outcome =
    /// The criterion was reached.
    | Succeeded
    /// The step limit was reached first.
    | Failed
    /// Stopped from outside (Ctrl-C, a time limit) before either; resumable from its checkpoint.
    | Interrupted

    member o.Name = match o with Succeeded -> "succeeded" | Failed -> "failed" | Interrupted -> "interrupted"

/// Where training stands; everything needed to resume exactly.
type TrainingState =
    { Config: RunConfig
      Architecture: Architecture
      Parameters: Parameters
      Adam: Adam
      /// Training step at which each network diverged (its loss or gradient stopped being finite, or, with
      /// FreezeDiverged, its activity passed the divergence threshold), or −1. A diverged network gets no
      /// further updates but is still evaluated: frozen at its last parameters with FreezeDiverged, else with
      /// the non-finite parameters its last update gave it.
      DivergedAt: int[]
      Evaluations: ResizeArray<Evaluation>
      mutable Step: int
      mutable TrainSeconds: float
      /// Counted floating-point operations of training, all networks (see Flops).
      mutable Flops: float
      mutable LastLosses: float[]
      mutable Outcome: Outcome option }

    member s.Succeeded = s.Outcome = Some Succeeded

/// Trains the networks of a run on one device (`device`: Cpu by default; the device is not part of the run's
/// identity: results agree between devices to float tolerance). `engine`, if given, is used instead and
/// owned by the trainer (the tests pass the GPU engine on ILGPU's CPU accelerator).
[<Sealed>]
type Trainer(config: RunConfig, task: TaskDefinition, ?workers: int, ?state: TrainingState, ?device: SkipRnn.Engine.Device,
             ?engine: ITrainingEngine) =
    let arch = RunConfig.architecture config task
    let engine =
        match engine with
        | Some e -> e
        | None -> TrainingEngine.create arch (defaultArg device SkipRnn.Engine.Cpu) workers
    let schedule = config.Schedule
    let state =
        match state with
        | Some s -> s
        | None ->
            let parameters = Parameters.initialize arch config.Networks config.Seed
            { Config = config
              Architecture = arch
              Parameters = parameters
              Adam = Adam(config.Networks, arch.ParameterCount, config.EffectiveLearningRate)
              DivergedAt = Array.create config.Networks -1
              Evaluations = ResizeArray()
              Step = 0
              TrainSeconds = 0.0
              Flops = 0.0
              LastLosses = Array.create config.Networks nan
              Outcome = None }
    let everyNetwork = Array.init config.Networks id
    // The networks still training: rebuilt only when one diverges.
    let mutable active = everyNetwork |> Array.filter (fun m -> state.DivergedAt[m] < 0)
    // What a training step lays out, reused from step to step: the batch's arrays, their preparation, the skip
    // plan, which networks the engine updated, and the generator of the batch's trials.
    let trainingBuffers = BatchBuffers()
    let preparedBuffers = PreparedBuffers()
    let plan = SkipPlan()
    let updated = Array.zeroCreate<bool> config.Networks
    let trialRng = Rng.Create(config.Seed)
    // What an evaluation lays out, reused likewise: the batch's arrays and their preparation. Laid out afresh (40 MB
    // allocated and zeroed at 200 trials, on one core), an evaluation of 100 networks took 1.1 s instead of 0.8.
    let evaluationBuffers = BatchBuffers()
    let evaluationPrepared = PreparedBuffers()
    // What a training step takes from the schedule, kept while its stage lasts (a run has a few): the integrator,
    // the batch settings (the timing on the integrator's grid) and the strategic skips' ratio.
    let stageKey (step: int) = match schedule.StageAt step with ValueSome k -> k | ValueNone -> -1
    let mutable stage = Int32.MinValue
    let mutable stageIntegrator = Euler
    let mutable stageSettings = Unchecked.defaultof<BatchSettings>
    let mutable stageStrategicRatio: float option = None
    let enterStageOf (step: int) =
        let key = stageKey step
        if key <> stage then
            stage <- key
            stageIntegrator <- schedule.IntegratorAt step
            stageSettings <-
                { Trials = config.Trials; Timing = config.Timing.Coarsened stageIntegrator.DtFactor; Jittered = true
                  Buffers = Some trainingBuffers }
            stageStrategicRatio <-
                match config.StrategicRatio with
                | Some beta0 -> schedule.StrategicRatioAt(step, beta0)
                | None -> None

    /// Where training stands (the optimizer state brought back from the device first, if it lives there).
    member _.State =
        engine.Synchronize state.Adam
        state
    member _.Architecture = arch
    member _.Engine = engine

    /// The batch, plan and noise of training step `step` (a pure function of the config and the step). The batch
    /// and the plan live in the trainer's buffers: they are valid until the next call.
    member _.TrainingBatch(step: int) =
        enterStageOf step
        trialRng.Reseed(config.Seed, Streams.TrainingTrials, uint64 step)
        let batch = task.Generate stageSettings trialRng
        let prepared = PreparedBatch.prepareIn preparedBuffers arch batch
        Integrator.planInto plan stageIntegrator stageStrategicRatio batch
        struct (stageIntegrator, prepared, plan, NoiseKey.Create(config.Seed, Streams.TrainingNoise, uint64 step))

    /// The batch of evaluation number `index`: fresh trials, nominal timing, base dt. It lives in the trainer's
    /// buffers: it is valid until the next call.
    member _.EvaluationBatch(index: int) =
        trialRng.Reseed(config.Seed, Streams.EvaluationTrials, uint64 index)
        let settings = { Trials = config.EvaluationTrials; Timing = config.Timing; Jittered = false; Buffers = Some evaluationBuffers }
        let batch = task.Generate settings trialRng
        PreparedBatch.prepareIn evaluationPrepared arch batch, NoiseKey.Create(config.Seed, Streams.EvaluationNoise, uint64 index)

    /// One training step of every network that has not diverged.
    member this.TrainStep() =
        let started = Stopwatch.GetTimestamp()
        let step = state.Step
        let struct (integrator, prepared, plan, noise) = this.TrainingBatch step
        // The authors' scripts build a new optimizer for every coarsening stage (RunConfig.FreshOptimizerPerStage).
        if config.Method.Row.Dynamics = Coarsened && config.FreshOptimizerPerStage && step > 0
           && stageKey (step - 1) <> stageKey step && schedule.IntegratorAt(step - 1) <> integrator then
            state.Adam.Reset()
        let threshold = if config.FreezeDiverged then config.DivergenceThreshold else infinity
        let training = active
        engine.TrainStep(state.Parameters, state.Adam, training, prepared, plan, noise, threshold, state.LastLosses, updated)
        for m in training do
            if not updated[m] then
                state.DivergedAt[m] <- step
                active <- everyNetwork |> Array.filter (fun m -> state.DivergedAt[m] < 0)
                if not config.FreezeDiverged then
                    let size = arch.ParameterCount
                    Array.fill state.Parameters.Values (m * size) size nanf
        state.Flops <- state.Flops + float training.Length * Flops.trainingStep arch prepared
        state.Step <- step + 1
        state.TrainSeconds <- state.TrainSeconds + Stopwatch.GetElapsedTime(started).TotalSeconds
        integrator

    /// Evaluates every network on fresh trials with the true dynamics and records the result.
    member this.Evaluate(integrator: Integrator) =
        let index = state.Evaluations.Count
        let prepared, noise = this.EvaluationBatch index
        let plan = SkipPlan.Empty prepared.Batch.Steps
        let performances = engine.Evaluate(state.Parameters, everyNetwork, prepared, plan, noise)
        let live = state.LastLosses |> Array.filter Double.IsFinite
        let theta, beta =
            match integrator with
            | Euler -> 1.0, 1.0
            | CoarseEuler theta -> theta, 1.0
            | WithSkips (_, theta, beta) -> float theta, beta
        let evaluation =
            { Step = state.Step
              TrainSeconds = state.TrainSeconds
              Criterion = Performance.criterion performances
              Performances = performances
              MeanLoss = (if live.Length = 0 then nan else Array.average live)
              Theta = theta
              Beta = beta
              Diverged = state.DivergedAt |> Array.filter (fun d -> d >= 0) |> Array.length }
        state.Evaluations.Add evaluation
        evaluation

    /// Trains until the criterion, the step limit, or cancellation. `onEvaluation` sees every evaluation
    /// (progress, checkpoints).
    member this.Run(onEvaluation: Evaluation -> unit, cancel: CancellationToken) =
        let mutable finished =
            match state.Outcome with
            | Some Succeeded | Some Failed -> true
            | Some Interrupted | None -> false
        if not finished then state.Outcome <- None
        while not finished do
            if cancel.IsCancellationRequested then
                state.Outcome <- Some Interrupted
                finished <- true
            else
                let integrator = this.TrainStep()
                if state.Step % config.EvaluateEvery = 0 || state.Step >= config.MaxSteps then
                    let e = this.Evaluate integrator
                    let reached = e.Criterion >= config.Criterion
                    if reached && config.StopAtCriterion then state.Outcome <- Some Succeeded
                    elif state.Step >= config.MaxSteps then state.Outcome <- Some(if reached then Succeeded else Failed)
                    onEvaluation e
                    finished <- state.Outcome.IsSome
        engine.Synchronize state.Adam
        state

    interface IDisposable with
        member _.Dispose() = engine.Dispose()
