/// The rule-reversal task (SPEC §7) and the strategic skip connections (paper §4.1).
module SkipRnn.Tests.RuleReversalTests

open System
open Expecto
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Training

let private nominal = { BatchSettings.Trials = 40; Timing = Timing.Default; Jittered = false; Buffers = None }
let private batchOf seed = RuleReversal.generate nominal (Rng.Create(seed))

[<Tests>]
let generatorTests =
    testList "rule reversal task" [
        testCase "40 sequences cover the 8 rule patterns 5 times: no switch, switches after trials 1 and 3, both directions" <| fun () ->
            let b = batchOf 1UL
            let patterns = b.Conditions |> Array.map (fun c -> c.Rules) |> Array.countBy id
            Expect.equal patterns.Length 8 "8 patterns"
            Expect.all patterns (fun (_, count) -> count = 5) "5 sequences each"
            for (rules, _) in patterns do
                Expect.equal rules[1] rules[2] "no switch between trials 2 and 3"
                Expect.equal rules[3] rules[4] "no switch between trials 4 and 5"
            let switches = patterns |> Array.map (fun (r, _) -> r[0] <> r[1], r[2] <> r[3]) |> Set.ofArray
            Expect.equal switches (Set.ofList [ false, false; true, false; false, true; true, true ]) "every switch placement"
            Expect.isTrue (patterns |> Array.exists (fun (r, _) -> r[0] = 1 && r[1] = 2)) "rule 1 → 2"
            Expect.isTrue (patterns |> Array.exists (fun (r, _) -> r[0] = 2 && r[1] = 1)) "rule 2 → 1"

        testCase "the ideal response follows the previous trial's rule (rule 1 before the first)" <| fun () ->
            let b = batchOf 2UL
            for s in 0 .. b.Trials - 1 do
                let c = b.Conditions[s]
                for k in 0 .. 4 do
                    let stimulus = c.Stimuli[k].Modality - 1
                    let previousRule = if k = 0 then 1 else c.Rules[k - 1]
                    let expected = if previousRule = 1 then stimulus else 1 - stimulus
                    let response = b.Periods |> Array.find (fun p -> p.Name = sprintf "response%d" (k + 1))
                    for t in response.Start .. response.Start + response.Length - 1 do
                        let w = b.LossWeights[t * b.Trials + s]
                        if w > 0.0f then
                            Expect.equal b.Targets[b.OutputIndex(t, s) + expected] 1.0f "target on the ideal response"
                            Expect.equal b.Targets[b.OutputIndex(t, s) + 1 - expected] 0.0f "and off the other"

        testCase "feedback is 'correct' when the choice matches the current rule" <| fun () ->
            let b = batchOf 3UL
            let f = b.Feedback.Value
            for s in 0 .. b.Trials - 1 do
                let c = b.Conditions[s]
                for k in 0 .. 4 do
                    let stimulus = c.Stimuli[k].Modality - 1
                    let expected = if c.Rules[k] = 1 then stimulus else 1 - stimulus
                    Expect.equal f.Correct[k * b.Trials + s] expected "correct answer under the rule in force"

        testCase "timing: 1 s burn-in, then sample, response, feedback, wait of 0.5 s each, five times" <| fun () ->
            let b = batchOf 4UL
            Expect.equal b.BurnIn 200 "burn-in"
            Expect.equal b.Periods.Length 21 "burn-in and 20 periods"
            Expect.all b.Periods[1..] (fun p -> p.Length = 100) "0.5 s each"
            Expect.equal b.Steps (200 + 2000) "steps"
            Expect.equal b.Boundaries (b.Periods |> Array.filter (fun p -> p.Name.StartsWith "sample") |> Array.map (fun p -> p.Start)) "trials start at their samples"
            // the loss: from 0.1 s (20 steps) into each response to its end; weights sum to 1
            let scored = [ for t in 0 .. b.Steps - 1 do if b.LossWeights[t * b.Trials] > 0.0f then yield t ]
            Expect.equal scored.Length (5 * 80) "80 scored steps per response"
            Expect.floatClose Accuracy.medium (b.LossWeights |> Array.sumBy float) 1.0 "mean over steps, sequences and trials"
            // inputs: the stimulus during its sample only; no feedback input in the batch itself
            for s in 0 .. b.Trials - 1 do
                for k in 0 .. 4 do
                    let sample = b.Periods |> Array.find (fun p -> p.Name = sprintf "sample%d" (k + 1))
                    let unit = b.Conditions[s].Stimuli[k].Modality - 1
                    Expect.equal b.Inputs[b.InputIndex(sample.Start, s) + unit] 1.0f "stimulus on"
                    Expect.equal b.Inputs[b.InputIndex(sample.Start, s) + 1 - unit] 0.0f "the other off"
            Expect.all [ for t in 0 .. b.Steps - 1 do for s in 0 .. b.Trials - 1 do for u in 2 .. 3 -> b.Inputs[b.InputIndex(t, s) + u] ] ((=) 0.0f) "feedback comes from the network"

        testCase "training jitter: every period in [80, 120) steps, drawn per period" <| fun () ->
            let lengths = [ for seed in 1UL .. 200UL -> (RuleReversal.generate { nominal with Jittered = true; Buffers = None } (Rng.Create seed)).Periods[1..] |> Array.map (fun p -> p.Length) ]
            let all = lengths |> Array.concat
            Expect.equal (Array.min all) 80 "T − J"
            Expect.equal (Array.max all) 119 "T + J − 1"
            Expect.isTrue (lengths |> List.exists (fun l -> l |> Array.distinct |> Array.length > 1)) "periods jitter independently"
    ]

/// A rule-reversal network whose readout always prefers response 1 and whose unit 0 is driven by the
/// "correct" feedback only: the feedback the engine shows becomes visible in unit 0.
let private scriptedNetwork () =
    let task = Catalog.ruleReversal
    let config = { RunConfig.Default with Task = task.Name; Units = 10; NoiseScale = 0.0 }
    let arch = RunConfig.architecture config task
    let p = Parameters.initialize arch 1 1UL
    let l = p.Layout
    Array.fill p.Values 0 p.Values.Length 0.0f
    for i in 0 .. arch.Units - 1 do p.Values[l.Bias + i] <- 1.0f                      // r > 0 everywhere
    for j in 0 .. arch.OutputUnits - 1 do p.Values[l.OutputWeights + j] <- 1.0f       // z_1 = Σ r > 0 = z_2
    p.Values[l.InputWeights + 0 * arch.Inputs + RuleReversal.CorrectInput] <- 5.0f
    arch, p

[<Tests>]
let engineTests =
    testList "rule reversal in the engine" [
        testCase "a scripted readout gets the feedback the current rule gives its choices" <| fun () ->
            let arch, p = scriptedNetwork ()
            let batch = RuleReversal.generate { Trials = 16; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create 5UL)
            let prepared = PreparedBatch.prepare arch batch
            use engine = new CpuEngine(arch, 1)
            let states, _ = engine.Trajectory(p, 0, prepared, SkipPlan.Empty batch.Steps, NoiseKey.Create(1UL, 1UL, 1UL))
            let f = batch.Feedback.Value
            for k in 0 .. 4 do
                let w = f.Windows[k]
                let atEnd = w.End - 1 - batch.BurnIn
                for s in 0 .. batch.Trials - 1 do
                    let rightChoice = f.Correct[k * batch.Trials + s] = 0
                    let unit0 = states[(atEnd * batch.Trials + s) * arch.Units]
                    let other = states[(atEnd * batch.Trials + s) * arch.Units + 1]
                    if rightChoice then Expect.isGreaterThan unit0 (other + 1.0f) (sprintf "trial %d, sequence %d: 'correct' shown" k s)
                    else Expect.floatClose Accuracy.medium (float unit0) (float other) (sprintf "trial %d, sequence %d: 'wrong' shown" k s)

        testCase "strategic skips with β' = 1 change nothing" <| fun () ->
            let task = Catalog.ruleReversal
            let config = { RunConfig.Default with Task = task.Name }
            let arch = RunConfig.architecture config task
            let p = Parameters.initialize arch 1 2UL
            let batch = RuleReversal.generate { Trials = 8; Timing = Timing.Default; Jittered = true; Buffers = None } (Rng.Create 6UL)
            let prepared = PreparedBatch.prepare arch batch
            use engine = new CpuEngine(arch, 1)
            let noise = NoiseKey.Create(2UL, 2UL, 2UL)
            for integrator in [ Euler; WithSkips(Aligned, 40, 0.5) ] do
                let without, _ = engine.Trajectory(p, 0, prepared, Integrator.planWith integrator None batch, noise)
                let withOne, _ = engine.Trajectory(p, 0, prepared, Integrator.planWith integrator (Some 1.0) batch, noise)
                let withHalf, _ = engine.Trajectory(p, 0, prepared, Integrator.planWith integrator (Some 0.5) batch, noise)
                Expect.sequenceEqual withOne without (sprintf "%A: β' = 1 is the plain method" integrator)
                Expect.isFalse (Seq.forall2 (=) withHalf without) "β' = 0.5 does change the states"

        for name, integrator, strategic in [ "control + strategic β' = 0.3", Euler, 0.3; "DASC (θ = 2, β = 0.3) + strategic β' = 0.4", WithSkips(Aligned, 2, 0.3), 0.4; "SCTT (θ = 5, β = 0.3) + strategic β' = 0.4", WithSkips(Plain, 5, 0.3), 0.4 ] do
            testCase (sprintf "gradients against finite differences: %s, with closed-loop feedback" name) <| fun () ->
                let task = Catalog.ruleReversal
                let config = { RunConfig.Default with Task = task.Name; Units = 10 }
                let arch = { RunConfig.architecture config task with ActivityRegularization = 1e-2; WeightRegularization = 1e-2 }
                // dt = 25 ms: 20 steps a period, 440 steps in all; θ·dt stays at most τ/2 so the modified dynamics
                // stay tame (a coarse step beyond τ makes the logits explode and the comparison meaningless).
                let timing = { Timing.Default with Dt = 0.025 }
                let batch = RuleReversal.generate { Trials = 3; Timing = timing; Jittered = true; Buffers = None } (Rng.Create 7UL)
                let plan = Integrator.planWith integrator (Some strategic) batch
                Expect.isGreaterThan plan.Levels 1 "strategic skips are in the plan"
                let p = Parameters.initialize arch 2 8UL
                let noise = NoiseKey.Create(3UL, 3UL, 3UL)
                let gradients = Array.zeroCreate<float32> p.Values.Length
                use engine = new CpuEngine(arch, 2)
                let losses = engine.Gradients(p, [| 0; 1 |], PreparedBatch.prepare arch batch, plan, noise, gradients)
                let size = arch.ParameterCount
                let l = ParameterLayout.Of arch
                let rng = Random(11)
                for m in 0 .. 1 do
                    let theta = Array.init size (fun i -> float p.Values[m * size + i])
                    Expect.floatClose { absolute = 1e-7; relative = 1e-4 } losses[m] (ReferenceModel.run arch theta batch plan noise m).Loss "loss"
                    for groupName, first, last in [ "W_in", l.InputWeights, l.Recurrent; "W", l.Recurrent, l.Bias; "b", l.Bias, l.OutputWeights; "W_out", l.OutputWeights, l.Count ] do
                        for _ in 1 .. 2 do
                            let v = Array.init size (fun i -> if i >= first && i < last then rng.NextDouble() - 0.5 else 0.0)
                            let h = 1e-6
                            let at sign = (ReferenceModel.runWith arch theta (Array.init size (fun i -> theta[i] + sign * h * v[i])) batch plan noise m).Loss
                            let fd = (at 1.0 - at -1.0) / (2.0 * h)
                            let analytic = Seq.fold2 (fun acc (g: float32) vi -> acc + float g * vi) 0.0 gradients[m * size .. (m + 1) * size - 1] v
                            if abs (analytic - fd) > 1e-3 * max (abs analytic) (abs fd) + 1e-7 then
                                failtestf "network %d, %s: backpropagation %.9g, finite differences %.9g" m groupName analytic fd
    ]
