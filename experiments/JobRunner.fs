/// Runs one job into its own folder, resumably; knows nothing of the store. A finished folder holds its
/// result file (run.json or dynamics.json), written last.
module SkipRnn.Experiments.JobRunner

open System
open System.IO
open System.Diagnostics
open System.Threading
open SkipRnn.Tasks
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Results

type JobOutcome =
    | Finished
    /// Stopped from outside; a training job resumes from its checkpoint, a dynamics comparison starts over.
    | Stopped
    /// Another process holds the folder (its lock); nothing was done.
    | Busy of reason: string
    /// The folder holds another job (its config.json is not this job's); nothing was done.
    | Unusable of reason: string

/// Writes config.json, or checks that the folder already holds this job.
let private claim (job: Job) (dir: string) =
    let json = ConfigJson.toJson job.Config
    let path = RunDirectory.configFile dir
    if File.Exists path && File.ReadAllText path <> json then
        Error(sprintf "%s holds a different run than %s (see its config.json)" dir job.Key)
    else
        if not (File.Exists path) then Files.writeAtomically path json
        Ok()

/// How often a training job saves its checkpoint.
let checkpointEvery = TimeSpan.FromSeconds 30.0

/// Example activity of the run's best network on fresh trials with the true dynamics, for the report's look
/// inside the networks (16 trials; 8 sequences of rule reversal), written before run.json. Only control runs
/// and rule-reversal runs get one (the report shows those; a file is a few MB); `skiprnn activity` exports
/// any other run.
let private writeActivity (config: RunConfig) (state: TrainingState) (dir: string) =
    let performances = state.Evaluations |> Seq.tryLast |> Option.map (fun e -> e.Performances) |> Option.defaultValue [| 0.0 |]
    // A diverged network (NaN parameters under the authors' rule) is never the example.
    let score i (p: float) = if Double.IsNaN p || (i < state.DivergedAt.Length && state.DivergedAt[i] >= 0) then -1.0 else p
    let best = performances |> Array.mapi (fun i p -> i, score i p) |> Array.maxBy snd |> fst
    let trials = if config.Task = "rulereversal" then 8 else 16
    let activity = SkipRnn.Analysis.ActivityExport.record config state.Parameters best trials (config.Seed + 7UL) SkipRnn.Model.Euler None
    SkipRnn.Analysis.ActivityExport.write (JobFolder.activityFile dir) activity

let private train (job: Job) (dir: string) (task: TaskDefinition) (workers: int option) device progress (warn: string -> unit) (cancel: CancellationToken) =
    let config = job.Config
    let arch = RunConfig.architecture config task
    let resumed = RunDirectory.resume dir config arch warn
    use trainer = new Trainer(config, task, ?workers = workers, ?state = resumed, device = device)
    let mutable lastCheckpoint = Stopwatch.StartNew()
    let onEvaluation (e: Evaluation) =
        progress e.Step e.Criterion
        if lastCheckpoint.Elapsed > checkpointEvery then
            RunDirectory.saveCheckpoint dir trainer.State
            lastCheckpoint <- Stopwatch.StartNew()
    let state = trainer.Run(onEvaluation, cancel)
    match state.Outcome with
    | Some Outcome.Interrupted ->
        RunDirectory.saveCheckpoint dir state
        Stopped
    | _ ->
        if config.Method = Control || config.Task = "rulereversal" then writeActivity config state dir
        RunDirectory.writeFinished dir state
        Finished

let private compare (job: Job) (dir: string) (task: TaskDefinition) (workers: int option) device (progress: int -> float -> unit) (cancel: CancellationToken) =
    use trainer = new Trainer(job.Config, task, ?workers = workers, device = device)
    while trainer.State.Step < job.Config.MaxSteps && not cancel.IsCancellationRequested do
        trainer.TrainStep() |> ignore
        if trainer.State.Step % 10 = 0 then progress trainer.State.Step nan
    if cancel.IsCancellationRequested then Stopped
    else
        let measurement = DynamicsComparison.measure trainer task
        Npz.write (RunDirectory.weightsFile dir) (RunDirectory.weightArrays trainer.State.Parameters)
        Files.writeAtomically (JobFolder.dynamicsFile dir) (JobFolder.dynamicsJson measurement)
        Finished

/// Runs `job` in `dir` on `device` unless it has finished there already, holding the folder's lock meanwhile (one
/// writer per folder, whatever runs it: `experiment run`, a sweep shard, or the same shard started twice).
/// `progress` sees (training step, criterion); `warn` hears of a checkpoint set aside.
let runOn (device: SkipRnn.Engine.Device) (job: Job) (dir: string) (workers: int option) (progress: int -> float -> unit)
          (warn: string -> unit) (cancel: CancellationToken) =
    Files.guard "create" dir (fun () -> Directory.CreateDirectory dir |> ignore)
    match FolderLock.TryAcquire(dir, sprintf "training %s" job.Key) with
    | Error message -> Busy message
    | Ok held ->
        use _writer = held
        match claim job dir with
        | Error message -> Unusable message
        | Ok () when JobFolder.isFinished job.Kind dir -> Finished
        | Ok () ->
            let task = (Catalog.tryFind job.Config.Task).Value
            match job.Kind with
            | Training -> train job dir task workers device progress warn cancel
            | DynamicsComparison -> compare job dir task workers device progress cancel

/// Runs `job` in `dir` on the CPU unless it has finished there already.
let run (job: Job) (dir: string) (workers: int option) (progress: int -> float -> unit) (warn: string -> unit) (cancel: CancellationToken) =
    runOn SkipRnn.Engine.Cpu job dir workers progress warn cancel
