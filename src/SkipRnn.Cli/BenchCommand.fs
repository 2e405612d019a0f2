/// `skiprnn bench`: how fast the engine trains, against this machine's own peak, measured in one run.
module SkipRnn.Cli.BenchCommand

open System
open System.Diagnostics
open Argu
open SkipRnn.Model
open SkipRnn.Training
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

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
    printfn "skiprnn bench: %s, M = %d networks, %d trials, N = %d, %d cores, AVX-512 %b" task networks trials config.Units
        Environment.ProcessorCount Runtime.Intrinsics.Vector512.IsHardwareAccelerated
    let peak = Benchmark.fmaPeak 1.0
    printfn "single-precision FMA peak (all cores, measured now): %.1f GFLOP/s" peak
    printfn ""
    printfn "%-34s %12s %14s %10s %10s" "training step (batch, forward, backward, Adam)" "s/step" "recurrent GF" "GFLOP/s" "of peak"
    let show (r: BenchResult) =
        printfn "%-34s %12.4f %14.2f %10.1f %9.1f%%" r.Label r.Seconds (r.RecurrentFlops / 1e9) r.GflopsPerSecond (100.0 * r.FractionOfPeak)
    for label, method in [ "control", Control; "CD10", CD 10.0; "SCTT40", SCTT(40, 0.5); "DASC40", DASC(40, 0.5) ] do
        let seconds, flops = Benchmark.timeTrainingStep { config with Method = method } repeats
        show (Benchmark.result label seconds flops peak)
    let seconds, flops = Benchmark.timeEvaluation config repeats
    show (Benchmark.result (sprintf "evaluation (%d trials, forward)" config.EvaluationTrials) seconds flops peak)
    if not quick then
        printfn ""
        printfn "cost against trial length T (control; delay period varied):"
        let lengths =
            [ for delay in [ 0.5; 1.0; 2.0; 4.0 ] do
                let c = { config with Timing = { config.Timing with Delay = delay } }
                let seconds, _ = Benchmark.timeTrainingStep c repeats
                let steps = int (Math.Round((c.Timing.BurnIn + c.Timing.Fixation + 2.0 * c.Timing.Stimulus + delay + c.Timing.Response) / c.Timing.Dt))
                printfn "  T = %5d steps   %.4f s/step" steps seconds
                yield float steps, seconds ]
        let slope, intercept, deviation = Benchmark.linearFit lengths
        printfn "  slope %.3g s per 1000 time steps, intercept %.3g s, largest deviation from the line %.1f%%" (slope * 1000.0) intercept (100.0 * deviation)
        printfn "cost against the number of networks M (control):"
        let sizes =
            [ for m in [ networks / 4; networks / 2; networks; 2 * networks ] |> List.filter (fun m -> m >= 1) |> List.distinct do
                let seconds, _ = Benchmark.timeTrainingStep { config with Networks = m } repeats
                printfn "  M = %5d   %.4f s/step" m seconds
                yield float m, seconds ]
        let slope, intercept, deviation = Benchmark.linearFit sizes
        printfn "  slope %.3g s per network, intercept %.3g s, largest deviation from the line %.1f%%" slope intercept (100.0 * deviation)
    let step, engine = Benchmark.allocations config repeats
    printfn ""
    printfn "bytes allocated per training step after warm-up: %.0f (engine alone: %.0f)" step engine
    printfn "peak memory (working set): %.0f MB" (float (Process.GetCurrentProcess().PeakWorkingSet64) / 1e6)
    0
