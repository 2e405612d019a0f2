module SkipRnn.Tests.TrainingTests

open System
open System.Threading
open Expecto
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

[<Tests>]
let methodTableTests =
    testList "the method table" [
        testCase "every case of Method has its own row, found by its name, and its Make gives that case back" <| fun () ->
            let cases = Microsoft.FSharp.Reflection.FSharpType.GetUnionCases(typeof<Method>)
            Expect.equal Method.rows.Length cases.Length "one row per case"
            Expect.equal (Method.rows |> List.map (fun r -> r.Name) |> List.distinct).Length cases.Length "distinct names"
            for row in Method.rows do
                let m = row.Make 40.0 0.5
                Expect.equal (Method.row m) row (sprintf "%s: Make and row agree" row.Name)
                Expect.equal (Method.tryCreate (row.Name.ToUpperInvariant()) 40.0 0.5) (Ok m) (sprintf "%s parses, in any case" row.Name)
                let config = { RunConfig.Default with Method = m }
                Expect.equal (SkipRnn.IO.ConfigJson.parse (SkipRnn.IO.ConfigJson.toJson config)) (Ok config) (sprintf "%s survives JSON" row.Name)
        testCase "labels and folder names" <| fun () ->
            Expect.equal [ for m in [ Control; CD 10.0; SCTT(40, 0.5); DASC(10, 0.8); DASCLast(40, 0.5) ] -> m.Label ]
                [ "Control"; "CD10"; "SCTT40"; "DASC10"; "DASC-last40" ] "labels"
            Expect.equal { RunConfig.Default with Method = DASCLast(40, 0.5) }.Slug "go_dasc-last_t40_s5_b0.5_n100_seed1" "slug"
        testCase "a skip method's θ must be whole; an unknown name lists every method" <| fun () ->
            Expect.equal (Method.tryCreate "dasc-last" 2.5 0.5) (Error "the skip length θ of dasc-last must be a whole number of steps, got 2.5") "θ"
            Expect.equal (Method.tryCreate "dsac" 10.0 0.5) (Error "unknown method 'dsac' (choose control, cd, sctt, dasc or dasc-last)") "name"
        testCase "DASC-last anchors a period's first window on its first increment, later ones after the previous mix" <| fun () ->
            let periods = [| { Name = "a"; Start = 0; Length = 12 }; { Name = "b"; Start = 12; Length = 8 } |]
            let batch = { (Synthetic.batch 1UL 1 0.005 2 2 [ 12; 8 ]) with Periods = periods }
            let plan = Integrator.plan (WithSkips(AlignedLast, 4, 0.5)) batch
            let anchors = plan.Skips |> Array.map (fun s -> s.Start, s.Anchor.Step, s.Anchor.AfterMixes, s.Anchor.IncrementWeight) |> List.ofArray
            Expect.equal anchors [ 0, 0, false, 4.0f; 4, 3, true, 4.0f; 8, 7, true, 4.0f; 12, 12, false, 4.0f; 16, 15, true, 4.0f ] "anchors"
            Expect.equal [ for t in 0 .. 19 -> plan.AnchoredAfter[t].Length ] [ for t in 0 .. 19 -> if t = 3 || t = 7 || t = 15 then 1 else 0 ] "taken after the mixes"
    ]

[<Tests>]
let scheduleTests =
    testList "annealing schedules" [
        testCase "CD with step count 5 goes 10, 8, 6, 4, 2, 1 and then the base model" <| fun () ->
            let s = { Method = CD 10.0; StepCount = 5; AnnealSteps = 20000; Hold = false }
            let at step = match s.IntegratorAt step with CoarseEuler t -> t | Euler -> 1.0 | other -> failwithf "%A" other
            Expect.equal [ for k in 0 .. 5 -> at (k * 3333) ] [ 10.0; 8.0; 6.0; 4.0; 2.0; 1.0 ] "stages"
            Expect.equal (s.IntegratorAt 20000) Euler "after annealing"
        testCase "DASC with step count 5 and β0 0.5 goes 0.5, 0.6, …, 1.0 (paper §4)" <| fun () ->
            let s = { Method = DASC(40, 0.5); StepCount = 5; AnnealSteps = 20000; Hold = false }
            let betas = [ for k in 0 .. 5 -> match s.IntegratorAt(k * 3333 + 1) with WithSkips(Aligned, 40, b) -> b | other -> failwithf "%A" other ]
            for (a, e) in List.zip betas [ 0.5; 0.6; 0.7; 0.8; 0.9; 1.0 ] do Expect.floatClose Accuracy.veryHigh a e "β"
            Expect.equal (s.IntegratorAt 19998) Euler "the last 20000 mod 6 steps are already the base model"
        testCase "step count 1 means two stages, β0 then 1" <| fun () ->
            let s = { Method = SCTT(10, 0.2); StepCount = 1; AnnealSteps = 20000; Hold = false }
            Expect.equal (s.IntegratorAt 0) (WithSkips(Plain, 10, 0.2)) "first half"
            Expect.equal (s.IntegratorAt 10000) (WithSkips(Plain, 10, 1.0)) "second half"
    ]

let private trainFor (config: RunConfig) steps =
    let task = (Catalog.tryFind config.Task).Value
    use trainer = new Trainer(config, task, 2)
    [ for _ in 1 .. steps do
        trainer.TrainStep() |> ignore
        yield trainer.State.LastLosses |> Array.average ]

[<Tests>]
let learningTests =
    testList "learning" [
        testCase "networks on go lower their loss clearly within 40 steps" <| fun () ->
            // Wrong gradients (a flipped sign, a missing term) leave the loss flat or make it rise; correct
            // ones bring it to about 0.3 of its start (0.31 of 0.55 measured).
            let losses = trainFor { RunConfig.Default with Task = "go"; Networks = 3; Seed = 4UL } 40
            Expect.isLessThan (List.last losses) (0.7 * List.head losses) (sprintf "loss went %.3f → %.3f" (List.head losses) (List.last losses))
        testCase "DASC40 also learns and leaves no network diverged" <| fun () ->
            let config = { RunConfig.Default with Task = "dlygo"; Method = DASC(40, 0.5); Networks = 2; Seed = 4UL }
            let losses = trainFor config 30
            Expect.isLessThan (List.last losses) (0.8 * List.head losses) (sprintf "loss went %.3f → %.3f" (List.head losses) (List.last losses))
        testCase "CD beyond τ/dt diverges and is recorded, not crashed on (Appendix E)" <| fun () ->
            let config = { RunConfig.Default with Task = "dlygo"; Method = CD 40.0; StepCount = 1; Networks = 2; Seed = 1UL; FreezeDiverged = true }
            let task = (Catalog.tryFind "dlygo").Value
            use trainer = new Trainer(config, task, 2)
            for _ in 1 .. 3 do trainer.TrainStep() |> ignore
            Expect.all trainer.State.DivergedAt (fun d -> d >= 0) "every network diverged at θ = 40"
            // θ = 10 (below τ/dt = 20) stays stable with the same weights and trials.
            use stable = new Trainer({ config with Method = CD 10.0 }, task, 2)
            for _ in 1 .. 3 do stable.TrainStep() |> ignore
            Expect.all stable.State.DivergedAt (fun d -> d < 0) "no network diverges at θ = 10"
            let e = trainer.Evaluate Euler
            Expect.all e.Performances (fun p -> not (System.Double.IsNaN p)) "frozen networks are still evaluated"
        testCase "a run is reproducible and independent of the number of workers" <| fun () ->
            let config = { RunConfig.Default with Task = "dm1"; Method = SCTT(10, 0.5); Networks = 3; Seed = 9UL }
            let task = (Catalog.tryFind "dm1").Value
            let final workers =
                use trainer = new Trainer(config, task, workers)
                for _ in 1 .. 5 do trainer.TrainStep() |> ignore
                Array.copy trainer.State.Parameters.Values
            Expect.sequenceEqual (final 1) (final 2) "same parameters with 1 and 2 workers"
        testCase "an evaluation batch laid out in the trainer's reused buffers is the batch laid out afresh" <| fun () ->
            for name in [ "dmc"; "rulereversal" ] do
                let config = { RunConfig.Default with Task = name; Networks = 1; EvaluationTrials = 12; Seed = 5UL }
                let task = (Catalog.tryFind name).Value
                use trainer = new Trainer(config, task, 1)
                for index in [ 0; 1; 0 ] do
                    let prepared, _ = trainer.EvaluationBatch index
                    let b = prepared.Batch
                    let settings = { Trials = 12; Timing = config.Timing; Jittered = false; Buffers = None }
                    let fresh = task.Generate settings (SkipRnn.Numerics.Rng.Create(config.Seed, SkipRnn.Numerics.Streams.EvaluationTrials, uint64 index))
                    let what = sprintf "%s, evaluation %d" name index
                    Expect.equal (b.Steps, b.Trials, b.Periods, b.Answers, b.Conditions) (fresh.Steps, fresh.Trials, fresh.Periods, fresh.Answers, fresh.Conditions) what
                    let used (a: float32[]) (length: int) = a.[.. length - 1]
                    Expect.equal (used b.Inputs (b.Steps * b.Trials * b.InputSize)) fresh.Inputs (what + ": inputs")
                    Expect.equal (used b.Targets (b.Steps * b.Trials * b.OutputSize)) fresh.Targets (what + ": targets")
                    Expect.equal (used b.LossWeights (b.Steps * b.Trials)) fresh.LossWeights (what + ": loss weights")
                    Expect.equal (b.Feedback |> ValueOption.map (fun f -> f.ChoiceSteps, f.Windows, f.Correct))
                        (fresh.Feedback |> ValueOption.map (fun f -> f.ChoiceSteps, f.Windows, f.Correct)) (what + ": closed-loop feedback")
    ]

let private trainer (config: RunConfig) = new Trainer(config, (Catalog.tryFind config.Task).Value, 2)

[<Tests>]
let authorsRuleTests =
    testList "the authors' rules for divergence and for CD's optimizer" [
        testCase "a network with a huge but finite state trains on under the authors' rule and is frozen under the other" <| fun () ->
            // A threshold every trajectory passes at once: only the freezing rule acts on it.
            let config = { RunConfig.Default with Task = "go"; Networks = 2; Seed = 3UL; DivergenceThreshold = 1e-3 }
            use authors = trainer config
            let before = Array.copy authors.State.Parameters.Values
            authors.TrainStep() |> ignore
            Expect.all authors.State.DivergedAt (fun d -> d < 0) "no network counted as diverged"
            Expect.isFalse (authors.State.Parameters.Values = before) "the networks were updated"
            use freezing = trainer { config with FreezeDiverged = true }
            freezing.TrainStep() |> ignore
            Expect.all freezing.State.DivergedAt (fun d -> d = 0) "every network frozen at step 0"
            Expect.sequenceEqual freezing.State.Parameters.Values before "frozen networks keep their parameters"

        testCase "under the authors' rule a non-finite update leaves the network's parameters NaN; frozen, they stay finite" <| fun () ->
            // A learning rate so large that the second forward pass overflows: the loss stops being finite.
            let config = { RunConfig.Default with Task = "go"; Networks = 2; Seed = 3UL; LearningRate = Some 1e30 }
            use authors = trainer config
            for _ in 1 .. 3 do authors.TrainStep() |> ignore
            Expect.all authors.State.DivergedAt (fun d -> d >= 0) "recorded as diverged"
            Expect.all authors.State.Parameters.Values Single.IsNaN "NaN parameters, as TensorFlow's Adam leaves them"
            use freezing = trainer { config with FreezeDiverged = true }
            for _ in 1 .. 3 do freezing.TrainStep() |> ignore
            Expect.all freezing.State.DivergedAt (fun d -> d >= 0) "recorded as diverged"
            Expect.all freezing.State.Parameters.Values (fun v -> not (Single.IsNaN v)) "frozen at finite parameters"

        testCase "CD starts a fresh Adam state at every change of θ, and keeps one with FreshOptimizerPerStage off" <| fun () ->
            // Step count 1 over 4 annealing steps: θ = 10 for steps 0 and 1, the base model from step 2.
            let config = { RunConfig.Default with Task = "go"; Method = CD 10.0; StepCount = 1; AnnealSteps = 4; Networks = 2; Seed = 5UL }
            let afterThreeSteps (c: RunConfig) =
                use t = trainer c
                let counts = [ for _ in 1 .. 3 -> t.TrainStep() |> ignore; t.State.Adam.Steps 0 ]
                let m, _, _ = t.State.Adam.Moments
                counts, Array.copy m, Array.copy t.State.Parameters.Values
            let fresh, freshMoments, freshParameters = afterThreeSteps config
            Expect.equal fresh [ 1; 2; 1 ] "Adam's step count starts again when θ goes from 10 to 1"
            let kept, keptMoments, keptParameters = afterThreeSteps { config with FreshOptimizerPerStage = false }
            Expect.equal kept [ 1; 2; 3 ] "one Adam state for the whole run"
            Expect.isFalse (freshMoments = keptMoments) "the moments differ after the reset"
            Expect.isFalse (freshParameters = keptParameters) "and so does the update"
            let sctt, _, _ = afterThreeSteps { config with Method = SCTT(10, 0.5) }
            Expect.equal sctt [ 1; 2; 3 ] "a change of β does not reset Adam (the authors' SCTT and DASC keep one optimizer)"
    ]

[<Tests>]
let allocationTests =
    testList "allocation" [
        testCase "a training step reuses its trial batch's arrays (dmc, 20 trials: 7.7 MB a step before)" <| fun () ->
            let config = { RunConfig.Default with Task = "dmc"; Networks = 2; Trials = 20 }
            use t = new Trainer(config, (Catalog.tryFind "dmc").Value, 1)
            for _ in 1 .. 2 do t.TrainStep() |> ignore
            // The batch is generated, laid out and planned on this thread; the engine's workers add a few kB.
            let before = GC.GetAllocatedBytesForCurrentThread()
            for _ in 1 .. 3 do t.TrainStep() |> ignore
            let perStep = float (GC.GetAllocatedBytesForCurrentThread() - before) / 3.0
            Expect.isLessThan perStep 300_000.0 (sprintf "%.0f bytes a step on the training thread" perStep)
    ]

[<Tests>]
let cpuTrainStepTests =
    testList "the CPU training step" [
        testCase "each listed network with a finite gradient gets Adam's update of its own gradient, on whichever worker" <| fun () ->
            // Adam runs on the worker right after a network's gradient: the parameters must be those of computing
            // every gradient first and then updating network after network, for any number of workers.
            let task = (Catalog.tryFind "go").Value
            let arch = Architecture.Standard(12, task.InputSize, task.OutputSize)
            let batch = task.Generate { Trials = 4; Timing = Timing.Default; Jittered = false; Buffers = None } (SkipRnn.Numerics.Rng.Create 5UL)
            let prepared = SkipRnn.Engine.PreparedBatch.prepare arch batch
            let plan = Integrator.plan Euler batch
            let noise = SkipRnn.Numerics.NoiseKey.Create(5UL, 1UL, 0UL)
            let networks = 5
            let size = arch.ParameterCount
            let fresh () =
                let p = Parameters.initialize arch networks 7UL
                // Network 2's gradient is not finite; network 4 is not listed.
                Array.fill p.Values (2 * size) size nanf
                p
            let listed = [| 0; 1; 2; 3 |]
            // The reference: every gradient, then Adam network by network.
            let expected = fresh ()
            let adam = Adam(networks, size, 0.01)
            use reference = new SkipRnn.Engine.CpuEngine(arch, 1)
            let gradients = Array.zeroCreate<float32> expected.Values.Length
            let losses = reference.Gradients(expected, listed, prepared, plan, noise, gradients)
            for m in listed do
                if Double.IsFinite losses[m] && Array.forall Single.IsFinite gradients[m * size .. (m + 1) * size - 1] then
                    adam.Update(m, expected.Values, gradients)
            for workers in [ 1; 2; 3 ] do
                let parameters = fresh ()
                let untouched = Array.copy parameters.Values
                let optimizer = Adam(networks, size, 0.01)
                use engine = new CpuTrainingEngine(arch, workers)
                let stepLosses = Array.zeroCreate<float> networks
                let updated = Array.create networks true
                (engine :> ITrainingEngine).TrainStep(parameters, optimizer, listed, prepared, plan, noise, infinity, stepLosses, updated)
                Expect.equal updated [| true; true; false; true; false |] (sprintf "%d workers: updated" workers)
                Expect.equal [ for m in 0 .. networks - 1 -> optimizer.Steps m ] [ 1; 1; 0; 1; 0 ] (sprintf "%d workers: Adam's steps" workers)
                Expect.isTrue (parameters.Values[2 * size .. 3 * size - 1] |> Array.forall Single.IsNaN) (sprintf "%d workers: network 2 left as it was" workers)
                Expect.equal parameters.Values[4 * size ..] untouched[4 * size ..] (sprintf "%d workers: network 4 untouched" workers)
                for m in [ 0; 1; 3 ] do
                    Expect.equal parameters.Values[m * size .. (m + 1) * size - 1] expected.Values[m * size .. (m + 1) * size - 1]
                        (sprintf "%d workers: network %d" workers m)
                    Expect.notEqual parameters.Values[m * size .. (m + 1) * size - 1] untouched[m * size .. (m + 1) * size - 1]
                        (sprintf "%d workers: network %d moved" workers m)
    ]
