module SkipRnn.Tests.PerformanceTests

open System
open Expecto
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

/// Readouts laid out as the engine gives them: row (k·Trials + b) for the state after trained step k.
let private readoutsOf (batch: TrialBatch) (value: int -> int -> int -> float32) =
    let o = batch.OutputSize
    let rows = batch.TrainedSteps * batch.Trials
    Array.init (rows * o) (fun i ->
        let row, output = i / o, i % o
        value (batch.BurnIn + row / batch.Trials) (row % batch.Trials) output)

let private score (batch: TrialBatch) (readouts: float32[]) = Performance.score batch (ReadOnlySpan readouts) batch.OutputSize

[<Tests>]
let performanceTests =
    testList "performance" [
        for task in Catalog.standard do
            testCase (sprintf "%s: a readout equal to the targets scores 1" task.Name) <| fun () ->
                let batch = task.Generate { Trials = 50; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create(1UL))
                let perfect = readoutsOf batch (fun t b o -> batch.Targets[batch.OutputIndex(t, b) + o])
                Expect.floatClose Accuracy.high (score batch perfect) 1.0 "perfect readout"

            testCase (sprintf "%s: a readout that never fixates scores near 0" task.Name) <| fun () ->
                let batch = task.Generate { Trials = 50; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create(2UL))
                let never = readoutsOf batch (fun _ _ _ -> 0.0f)
                Expect.isLessThan (score batch never) 0.1 "never fixating, no direction"

        testCase "a readout that fixates but points the wrong way loses the response share" <| fun () ->
            let task = (Catalog.tryFind "go").Value
            let batch = task.Generate { Trials = 40; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create(3UL))
            let opposite =
                readoutsOf batch (fun t b o ->
                    if o = 0 then batch.Targets[batch.OutputIndex(t, b)]
                    else
                        match batch.Answers[b] with
                        | Respond psi when batch.ResponseWindow.Contains t -> float32 (Ring.tuning (psi + Math.PI) (o - 1))
                        | _ -> 0.05f)
            // fixation right (2/3), released right but never on target: resp = 1 × 0
            Expect.floatClose Accuracy.high (score batch opposite) (2.0 / 3.0) "w·fix only"
    ]

[<Tests>]
let criterionTests =
    testList "percentile criterion" [
        testCase "drops the lowest and highest 10 %" <| fun () ->
            let p = [| 0.0; 0.5; 0.9; 0.91; 0.92; 0.93; 0.94; 0.95; 0.96; 1.0 |]
            Expect.floatClose Accuracy.veryHigh (Performance.criterion p) (Array.average p[1..8]) "indices 1..8 of 10"
        testCase "order does not matter" <| fun () ->
            let p = [| 1.0; 0.2; 0.99; 0.3; 0.97; 0.98; 0.4; 0.96; 0.95; 0.94 |]
            Expect.floatClose Accuracy.veryHigh (Performance.criterion p) (Performance.criterion (Array.sort p)) "sorted first"
        testCase "100 networks: indices 10..89 of the sorted list" <| fun () ->
            let p = Array.init 100 (fun i -> float i / 100.0)
            Expect.floatClose Accuracy.veryHigh (Performance.criterion p) (Array.average p[10..89]) "10th to 90th percentile"
        testCase "a single bad network below the 10th percentile does not block success" <| fun () ->
            let p = Array.init 20 (fun i -> if i = 0 then 0.0 else 0.995)
            Expect.isGreaterThanOrEqual (Performance.criterion p) 0.99 "one outlier of 20 is dropped"
        testCase "NaN counts as 0" <| fun () ->
            Expect.floatClose Accuracy.veryHigh (Performance.criterion [| nan |]) 0.0 "diverged network"
    ]

/// What a training step may allocate after warm-up: nothing (see README, Speed). The count is the fewest bytes of
/// three rounds of 20 steps (Benchmark.allocatedPerCall); the bound, a third of the smallest object (24 bytes) per
/// step, leaves the runtime's and the test runner's own work in the quietest round some room, but not a step that
/// allocates anything, even one object every third step.
let private allowedBytesPerStep = 8.0

[<Tests>]
let scoredAsItGoesTests =
    // Evaluate keeps no trajectory and counts each step's readouts as it goes; the score must be the one of the
    // kept trajectory's readouts, bit for bit, with skips mixing the states and with closed-loop feedback.
    testList "evaluation scored as it goes" [
        for name in [ "go"; "dlygo"; "dmc"; "rulereversal" ] do
            for integrator in [ Euler; WithSkips(Aligned, 10, 0.5) ] do
                testCase (sprintf "%s, %A: the score of the kept trajectory" name integrator) <| fun () ->
                    let task = (Catalog.tryFind name).Value
                    // Strong noise, so that the states (and the choices the feedback reads from them) differ from
                    // step to step even in untrained networks.
                    let arch = { RunConfig.architecture { RunConfig.Default with Task = name } task with NoiseScale = 3.0 }
                    let parameters = Parameters.initialize arch 3 7UL
                    let batch = task.Generate { Trials = 16; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create(4UL))
                    // Rule reversal also with each feedback window one and 50 steps later: the choice's state is then
                    // two and 51 steps old when the feedback reads it (the latter needs the trajectory).
                    let variants =
                        match batch.Feedback with
                        | ValueSome f ->
                            Expect.isTrue (f.Windows |> Array.forall (fun w -> w.Length > 50)) "feedback windows long enough to move by 50 steps"
                            let later (d: int) = { f with Windows = f.Windows |> Array.map (fun w -> { Start = w.Start + d; Length = w.Length - d }) }
                            [ batch; { batch with Feedback = ValueSome(later 1) }; { batch with Feedback = ValueSome(later 50) } ]
                        | ValueNone -> [ batch ]
                    for b in variants do
                        let prepared = SkipRnn.Engine.PreparedBatch.prepare arch b
                        let plan = Integrator.plan integrator b
                        let noise = NoiseKey.Create(9UL, 2UL, 0UL)
                        use engine = new SkipRnn.Engine.CpuEngine(arch, 2)
                        let scores = engine.Evaluate(parameters, [| 0; 1; 2 |], prepared, plan, noise)
                        for m in 0 .. 2 do
                            let _, readouts = engine.Trajectory(parameters, m, prepared, plan, noise)
                            let expected = Performance.score b (ReadOnlySpan readouts) b.OutputSize
                            Expect.equal scores[m] expected (sprintf "network %d" m)
                        // The choices the feedback answered, with and without the trajectory kept.
                        if b.Feedback.IsSome then
                            use backend = new SkipRnn.Engine.CpuBackend(arch)
                            let choices (scoresOnly: bool) =
                                backend.ScoresOnly <- scoresOnly
                                let k = backend :> SkipRnn.Engine.IRecurrentKernels
                                k.Begin(parameters, 0, prepared, noise, false)
                                SkipRnn.Engine.Driver.forward k plan prepared
                                k.Score() |> ignore
                                backend.Choices
                            Expect.equal (choices true) (choices false) "the same choices"
    ]

[<Tests>]
let allocationTests =
    // Sequenced: the count is the whole process's, so no other test may run meanwhile.
    testSequenced <| testList "allocation per training step" [
        for task, method, strategic in
            [ "go", Control, None
              "dlygo", CD 10.0, None
              "dlygo", SCTT(40, 0.5), None
              "dlygo", DASC(40, 0.5), None
              "dlygo", DASCLast(40, 0.5), None
              "rulereversal", SCTT(10, 0.5), Some 0.5 ] do
            let config =
                { RunConfig.Default with
                    Task = task; Method = method; Networks = 4; Trials = 20; StrategicRatio = strategic
                    Hold = true; AnnealSteps = Int32.MaxValue }
            testCase (sprintf "%s on %s%s: nothing after warm-up" config.Label task
                          (if strategic.IsSome then " with strategic skips" else "")) <| fun () ->
                use trainer = new Trainer(config, (Catalog.tryFind task).Value, 2)
                // Warm-up: the reused buffers grow to the largest batch of the jitter seen so far.
                for _ in 1 .. 10 do trainer.TrainStep() |> ignore
                let perStep = Benchmark.allocatedPerCall 3 20 (fun () -> trainer.TrainStep() |> ignore)
                Expect.isLessThan perStep allowedBytesPerStep "bytes allocated per training step"
    ]

[<Tests>]
let sharesTests =
    let counting (runs: int[]) = Action<int>(fun w -> Threading.Interlocked.Increment &runs[w] |> ignore)
    testList "the CPU engine's shares of work" [
        testCase "every share runs once per call, call after call" <| fun () ->
            use shares = new SkipRnn.Engine.Shares(3)
            let runs = Array.zeroCreate<int> 3
            let work = counting runs
            for _ in 1 .. 2000 do shares.Run work
            Expect.equal runs [| 2000; 2000; 2000 |] "runs of each share"
        testCase "a share that throws: the call raises it once every share is done, and the next call runs" <| fun () ->
            use shares = new SkipRnn.Engine.Shares(3)
            let runs = Array.zeroCreate<int> 3
            let failing = Action<int>(fun w ->
                Threading.Interlocked.Increment &runs[w] |> ignore
                if w = 1 then invalidOp "share 1 fails")
            let thrown =
                try
                    shares.Run failing
                    []
                with :? AggregateException as e -> [ for inner in e.InnerExceptions -> inner.Message ]
            Expect.equal thrown [ "share 1 fails" ] "what the share threw"
            Expect.equal runs [| 1; 1; 1 |] "every share ran"
            shares.Run(counting runs)
            Expect.equal runs [| 2; 2; 2 |] "the next call ran every share, and raised nothing"
    ]

[<Tests>]
let benchTests =
    testList "bench's shares of the peak" [
        testCase "each step's rate comes from its own operations; the median and the fastest of the rates" <| fun () ->
            // Rates 100, 150 and 120 GFLOP/s: from the mean operations over the median seconds it would read 173.
            let timings = { Seconds = [| 1.0; 2.0; 1.0 |]; RecurrentFlops = [| 100e9; 300e9; 120e9 |]; AllFlops = [| 200e9; 400e9; 150e9 |]
                            Steps = [| 800.0; 800.0; 800.0 |] }
            let r = Benchmark.result "x" timings 300.0
            Expect.equal r.Seconds 1.0 "median seconds"
            Expect.floatClose Accuracy.veryHigh r.GflopsPerSecond 120.0 "median rate"
            Expect.floatClose Accuracy.veryHigh r.FractionOfPeak 0.4 "median share"
            Expect.floatClose Accuracy.veryHigh r.BestFractionOfPeak 0.5 "fastest share"
            Expect.floatClose Accuracy.veryHigh r.FractionOfPeakAll (200.0 / 300.0) "median share, all products"
            Expect.floatClose Accuracy.veryHigh r.RecurrentFlops (520e9 / 3.0) "mean operations"
        testCase "the operations of each timed training step are those of the batch it trained on; at least the steps asked for, lasting at least a second" <| fun () ->
            let config = { RunConfig.Default with Task = "dmc"; Networks = 2; Trials = 4 }
            let timings = Benchmark.timeTrainingStep config 3
            use t = new Trainer(config, (Catalog.tryFind "dmc").Value)
            // The bench times the steps after its 3 warm-up steps.
            let timed = [ 3 .. 2 + timings.Seconds.Length ]
            let expected =
                [| for step in timed ->
                    let struct (_, prepared, _, _) = t.TrainingBatch step
                    Flops.recurrentTrainingStep t.Architecture prepared * 2.0 |]
            Expect.equal timings.RecurrentFlops expected "operations per timed step"
            Expect.equal timings.Steps [| for step in timed -> let struct (_, prepared, _, _) = t.TrainingBatch step in float prepared.Batch.Steps |] "each timed batch's length"
            Expect.isGreaterThan (Array.distinct expected).Length 1 "the jittered batches differ in length (the test's premise)"
            Expect.isGreaterThanOrEqual timings.Seconds.Length 3 "at least the steps asked for"
            Expect.isGreaterThanOrEqual (Array.sum timings.Seconds) Benchmark.minimumTimedSeconds "steps timed for at least the least time"
            if timings.Seconds.Length > 3 then
                Expect.isLessThan (Array.sum timings.Seconds[.. timings.Seconds.Length - 2]) Benchmark.minimumTimedSeconds "no more steps than that takes"
        testCase "the evaluation's ceiling: its product and its noise at the rates measured alone, nothing else" <| fun () ->
            // N = 50: 100 operations per sample. At 100 GFLOP/s the product takes 1 ns per sample, the noise at 1e9 samples/s
            // another: 100 operations in 2 ns, 50 GFLOP/s, a quarter of a 200 GFLOP/s peak.
            Expect.floatClose Accuracy.veryHigh (Benchmark.evaluationCeiling 50 100.0 1e9 200.0) 0.25 "product and noise"
            Expect.floatClose Accuracy.veryHigh (Benchmark.evaluationCeiling 50 200.0 infinity 200.0) 1.0 "free noise: the product's own share"
        testCase "the evaluation's parts are timed at its shape, on every core" <| fun () ->
            let gflops, samplesPerSecond = Benchmark.evaluationParts 8 50 0.02 1
            Expect.isTrue (Double.IsFinite gflops && gflops > 0.0) (sprintf "product rate %g GFLOP/s" gflops)
            Expect.isTrue (Double.IsFinite samplesPerSecond && samplesPerSecond > 0.0) (sprintf "noise rate %g samples/s" samplesPerSecond)
    ]
