/// `skiprnn bench`: how fast the engine trains, against this machine's own peak, measured in one run.
module SkipRnn.Cli.BenchCommand

open System
open System.Diagnostics
open Argu
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Engine.Gpu
open SkipRnn.Training
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

/// Every method of the table at the paper's Table 1 setting: CD at θ0 = 10, the skip methods at θ = 40.
let private benchedMethods =
    [ for row in Method.rows -> row.Make (if row.Dynamics = Coarsened then 10.0 else 40.0) 0.5 ]

/// The GPU bench: training steps at M = `networks`, 1,000 and 10,000 (control on the task, SPEC's batch), the
/// methods at M = `networks`, and an evaluation pass, against the GPU's single-precision peak.
let private runGpu (gpu: GpuDevice) (config: RunConfig) (repeats: int) (quick: bool) =
    let device = SkipRnn.Engine.Cuda
    let peak = gpu.PeakGflops
    printfn "skiprnn bench --device cuda: %s, %.1f GiB, %s, M = %d networks, %d trials, N = %d"
        gpu.Name (float gpu.MemoryBytes / float (1L <<< 30)) config.Task config.Networks config.Trials config.Units
    printfn "single-precision peak (multiprocessors x FP32 lanes x 2 x clock): %.0f GFLOP/s" peak
    printfn ""
    printfn "%-34s %12s %14s %10s %10s %10s" "training step (batch, forward, backward, Adam)" "s/step" "recurrent GF" "GFLOP/s" "of peak" "fastest"
    let show (r: BenchResult) =
        printfn "%-34s %12.4f %14.2f %10.1f %9.2f%% %9.2f%%" r.Label r.Seconds (r.RecurrentFlops / 1e9) r.GflopsPerSecond
            (100.0 * r.FractionOfPeak) (100.0 * r.BestFractionOfPeak)
    let methods = if quick then [ Control ] else benchedMethods
    for method in methods do
        show (Benchmark.result (sprintf "%s, M = %d" method.Label config.Networks) (Benchmark.timeTrainingStepOn device { config with Method = method } repeats) peak)
    show (Benchmark.result (sprintf "evaluation (%d trials, forward)" config.EvaluationTrials) (Benchmark.timeEvaluationOn device config repeats) peak)
    printfn "(medians of the timed steps; fastest: the fastest step's share)"
    printfn "(the paper's GPU: 0.43 s per training step of 100 networks, control on dmc, Table 1)"
    let task = (SkipRnn.Tasks.Catalog.tryFind config.Task).Value
    let arch = RunConfig.architecture config task
    let batch = task.Generate { Trials = config.Trials; Timing = config.Timing; Jittered = true; Buffers = None } (SkipRnn.Numerics.Rng.Create(config.Seed))
    let perNetwork = GpuEngine.TrainingBytesPerNetwork(arch, PreparedBatch.prepare arch batch, config.EvaluationTrials)
    if not quick then
        printfn ""
        printfn "cost against the number of networks M (control):"
        for m in [ config.Networks; 1000; 10000 ] |> List.distinct |> List.sort do
            if float m * perNetwork > 0.95 * float gpu.MemoryBytes then
                printfn "  M = %6d   needs about %.1f GiB: does not fit" m (float m * perNetwork / float (1L <<< 30))
            else
                try
                    show (Benchmark.result (sprintf "  M = %d" m) (Benchmark.timeTrainingStepOn device { config with Networks = m } repeats) peak)
                with e -> printfn "  M = %6d   failed: %s" m (e.Message.Split('\n')[0])
    printfn ""
    printfn "device memory per network (training and evaluation): %.2f MiB; largest M that fits (estimate): %d"
        (perNetwork / float (1 <<< 20)) (int (0.95 * float gpu.MemoryBytes / perNetwork))
    0

let run (args: ParseResults<BenchArgs>) =
    let networks = args.TryGetResult BenchArgs.Networks |> Option.defaultValue 100
    let trials = args.TryGetResult BenchArgs.Trials |> Option.defaultValue 20
    let task = args.TryGetResult BenchArgs.Task |> Option.defaultValue "dmc"
    let repeats = args.TryGetResult Repeats |> Option.defaultValue 5
    let quick = args.Contains BenchArgs.Quick
    if networks < 1 || trials < 1 || repeats < 1 then fail "networks, trials and repeats must be at least 1"
    let config = { RunConfig.Default with Task = task; Networks = networks; Trials = trials }
    match RunConfig.validate config with
    | Error e -> fail "%s" e
    | Ok _ -> ()
    let gpu =
        match device (args.TryGetResult BenchArgs.Device) with
        | SkipRnn.Engine.Cpu -> None
        | _ -> GpuDevice.TryCuda()
    match gpu with
    | Some g -> runGpu g config repeats quick
    | None ->
    printfn "skiprnn bench: %s, M = %d networks, %d trials, N = %d; %s" task networks trials config.Units
        (SkipRnn.Numerics.Machine.describe ())
    if SkipRnn.Numerics.Simd.width = 0 then fail "this processor runs scalar kernels: there is no vector FMA peak to measure against"
    let peak, how = Benchmark.fmaPeak 0.5 5
    printfn "single-precision FMA peak, measured now: %.1f GFLOP/s (%s)" peak how
    match Benchmark.fmaReference 0.5 5 with
    | Ok (reference, line) ->
        printfn "  the C loop of scripts/fma-peak.c, same run: %s; ours is %.1f%% of it" line (100.0 * peak / reference)
    | Error why -> printfn "  the C loop of scripts/fma-peak.c could not be run (%s)" why
    printfn ""
    printfn "%-34s %12s %14s %10s %10s %10s %14s %10s" "training step (batch, forward, backward, Adam)" "s/step" "recurrent GF" "GFLOP/s" "of peak" "fastest" "all products GF" "of peak"
    let show (r: BenchResult) =
        printfn "%-34s %12.4f %14.2f %10.1f %9.1f%% %9.1f%% %14.2f %9.1f%%" r.Label r.Seconds (r.RecurrentFlops / 1e9) r.GflopsPerSecond
            (100.0 * r.FractionOfPeak) (100.0 * r.BestFractionOfPeak) (r.AllFlops / 1e9) (100.0 * r.FractionOfPeakAll)
    let training =
        [ for method in benchedMethods do
            let r = Benchmark.result method.Label (Benchmark.timeTrainingStep { config with Method = method } repeats) peak
            show r
            yield r.Seconds ]
    let evaluation = Benchmark.result (sprintf "evaluation (%d trials, forward)" config.EvaluationTrials) (Benchmark.timeEvaluation config repeats) peak
    show evaluation
    printfn "(medians of at least %d timed steps lasting at least %g s, each step's rate from its own batch, whose jittered" repeats Benchmark.minimumTimedSeconds
    printfn " trials vary its length;"
    printfn " fastest: the fastest step's share, like for like with the peak, the best of its intervals;"
    printfn " recurrent GF: the recurrent products only, as SPEC counts; all products: with the readout, which reads %d"
        (SkipRnn.Tasks.Catalog.tryFind task).Value.OutputSize
    printfn " outputs from N units at every step with loss, and the input currents)"
    let productGflops, samplesPerSecond = Benchmark.evaluationParts config.EvaluationTrials config.Units 0.5 3
    let samples = evaluation.RecurrentFlops / (2.0 * float config.Units)
    printfn "what bounds the evaluation: its two largest parts, each alone on every core (best of 3 intervals of 0.5 s),"
    printfn " the recurrent product %.1f GFLOP/s (%.1f%% of peak; N = %d computed as %d columns) and the noise %.2f ns per sample, would take"
        productGflops (100.0 * productGflops / peak) config.Units (SkipRnn.Numerics.Simd.wholeVectors config.Units (SkipRnn.Numerics.Simd.width / 32))
        (1e9 / samplesPerSecond)
    printfn " %.0f%% and %.0f%% of the pass; with nothing else to do, the evaluation would reach %.1f%% of peak"
        (100.0 * evaluation.RecurrentFlops / (productGflops * 1e9) / evaluation.Seconds) (100.0 * samples / samplesPerSecond / evaluation.Seconds)
        (100.0 * Benchmark.evaluationCeiling config.Units productGflops samplesPerSecond peak)
    let evaluating = Benchmark.timeTrainerEvaluation config repeats / float config.EvaluateEvery
    printfn "what a user waits for per training step of control, with an evaluation every %d steps: %.4f s (%.0f%% of it evaluating;"
        config.EvaluateEvery (training.Head + evaluating) (100.0 * evaluating / (training.Head + evaluating))
    printfn " an evaluation as the trainer runs it, its %d trials generated, took %.4f s)" config.EvaluationTrials (evaluating * float config.EvaluateEvery)
    if not quick then
        printfn ""
        printfn "cost against trial length T (control; delay period varied; T the mean length of the timed batches):"
        let lengths =
            [ for delay in [ 0.5; 1.0; 2.0; 4.0 ] do
                let timings = Benchmark.timeTrainingStep { config with Timing = { config.Timing with Delay = delay } } repeats
                let seconds = Benchmark.medianSeconds timings
                let steps = Array.average timings.Steps
                printfn "  T = %7.1f steps   %.4f s/step" steps seconds
                yield steps, seconds ]
        let slope, intercept, deviation = Benchmark.linearFit lengths
        printfn "  slope %.3g s per 1000 time steps, intercept %.3g s, largest deviation from the line %.1f%%" (slope * 1000.0) intercept (100.0 * deviation)
        printfn "cost against the number of networks M (control):"
        let sizes =
            [ for m in [ networks / 4; networks / 2; networks; 2 * networks ] |> List.filter (fun m -> m >= 1) |> List.distinct do
                let seconds = Benchmark.medianSeconds (Benchmark.timeTrainingStep { config with Networks = m } repeats)
                printfn "  M = %5d   %.4f s/step" m seconds
                yield float m, seconds ]
        let slope, intercept, deviation = Benchmark.linearFit sizes
        printfn "  slope %.3g s per network, intercept %.3g s, largest deviation from the line %.1f%%" slope intercept (100.0 * deviation)
    let step, engine = Benchmark.allocations config repeats
    printfn ""
    printfn "bytes allocated per training step after warm-up: %.0f (engine alone: %.0f)" step engine
    printfn "peak memory (working set): %.0f MB" (float (Process.GetCurrentProcess().PeakWorkingSet64) / 1e6)
    0
