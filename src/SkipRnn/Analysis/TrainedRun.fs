namespace SkipRnn.Analysis

open System
open System.IO
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Training
open SkipRnn.IO

/// A finished run loaded from its folder: the entry point for analysing trained networks from F#, C# or any
/// other .NET language (plain methods and arrays, no F#-only types needed).
[<Sealed; AllowNullLiteral>]
type TrainedRun private (folder: string, config: RunConfig, parameters: Parameters) =

    /// Loads config.json and weights.npz of a finished run; throws ArgumentException with a clear message
    /// when the folder is not a finished run.
    static member Load(folder: string) =
        let configPath = RunDirectory.configFile folder
        let weightsPath = RunDirectory.weightsFile folder
        if not (File.Exists configPath) then invalidArg "folder" (sprintf "%s has no config.json: not a run folder" folder)
        if not (File.Exists weightsPath) then invalidArg "folder" (sprintf "%s has no weights.npz: the run has not finished" folder)
        let config =
            match ConfigJson.parse (File.ReadAllText configPath) with
            | Ok c -> c
            | Error message -> invalidArg "folder" (sprintf "%s: %s" configPath message)
        let task = (Catalog.tryFind config.Task).Value
        let arch = RunConfig.architecture config task
        let parameters =
            try RunDirectory.parametersOf arch config.Networks (Npz.read weightsPath)
            with Failure message -> invalidArg "folder" (sprintf "%s does not fit %s: %s" weightsPath configPath message)
        TrainedRun(folder, config, parameters)

    /// The networks of a run trained in this process (SkipRnn.Api's TrainingResult); Folder is null.
    static member internal Of(config: RunConfig, parameters: Parameters) = TrainedRun(null, config, parameters)

    member _.Folder = folder
    member _.Config = config
    member _.Task = config.Task
    member _.Networks = parameters.Networks
    member _.Units = parameters.Architecture.Units
    member _.Parameters = parameters

    /// The effective recurrent weights W of one network, row-major N × N.
    member _.RecurrentWeights(network: int) =
        let a = parameters.Architecture
        let l = parameters.Layout
        let block = parameters.ReadOnlyBlock(network).ToArray()
        Array.init (a.Units * a.Units) (fun k -> Parameters.effectiveRecurrent a block[l.Recurrent + k] (k % a.Units))

    /// Performance of every network on `trials` fresh trials with the true dynamics.
    member _.Evaluate(trials: int, seed: uint64) =
        let task = (Catalog.tryFind config.Task).Value
        let arch = parameters.Architecture
        let batch = task.Generate { Trials = trials; Timing = config.Timing; Jittered = false; Buffers = None } (Rng.Create(seed, Streams.EvaluationTrials))
        use engine = new CpuEngine(arch)
        engine.Evaluate(parameters, Array.init parameters.Networks id, PreparedBatch.prepare arch batch,
                        SkipPlan.Empty batch.Steps, NoiseKey.Create(seed, Streams.EvaluationNoise, 0UL))

    /// Runs `trials` evaluation trials through one network with the true dynamics and records everything.
    member _.RecordActivity(network: int, trials: int, seed: uint64) =
        ActivityExport.record config parameters network trials seed Euler None

    /// Records activity and writes it to an .npz file (numpy.load(path) opens it).
    member this.WriteActivity(network: int, trials: int, seed: uint64, path: string) =
        let activity = this.RecordActivity(network, trials, seed)
        ActivityExport.write path activity
        activity
