/// `skiprnn eval`: re-evaluates the trained networks of a finished run on fresh trials.
module SkipRnn.Cli.EvalCommand

open System.IO
open Argu
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

let run (args: ParseResults<EvalArgs>) =
    match args.TryGetResult EvalArgs.Seed, args.TryGetResult EvalArgs.Workers with
    | Some s, _ when s < 0 -> fail "the seed must not be negative, got %d" s
    | _, Some w when w < 1 -> fail "the number of workers must be at least 1, got %d" w
    | _ -> ()
    let device = device (args.TryGetResult EvalArgs.Device)
    let run = loadRun (args.GetResult EvalArgs.Weights)
    let config = { run.Config with EvaluationTrials = args.TryGetResult EvalArgs.Trials |> Option.defaultValue run.Config.EvaluationTrials }
    if config.EvaluationTrials < 1 then fail "the number of trials must be at least 1"
    let task = (Catalog.tryFind config.Task).Value
    let parameters = run.Parameters
    let arch = parameters.Architecture
    let seed = args.TryGetResult EvalArgs.Seed |> Option.map uint64 |> Option.defaultValue (config.Seed + 1000UL)
    let batch = task.Generate { Trials = config.EvaluationTrials; Timing = config.Timing; Jittered = false; Buffers = None } (Rng.Create(seed, Streams.EvaluationTrials))
    let prepared = PreparedBatch.prepare arch batch
    use engine = TrainingEngine.create arch device (args.TryGetResult EvalArgs.Workers)
    let performances =
        engine.Evaluate(parameters, Array.init parameters.Networks id, prepared, SkipPlan.Empty batch.Steps,
                        NoiseKey.Create(seed, Streams.EvaluationNoise, 0UL))
    printfn "%s, %d networks, %d fresh trials (seed %d), true dynamics" config.Task parameters.Networks config.EvaluationTrials seed
    printfn "criterion (10th-90th percentile mean) %.4f   mean %.4f   min %.4f   max %.4f"
        (Performance.criterion performances) (Array.average performances) (Array.min performances) (Array.max performances)
    printfn "performances: %s" (performances |> Array.map (sprintf "%.3f") |> String.concat " ")
    0
