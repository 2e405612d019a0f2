/// Backpropagation through time, checked against finite differences.
///
/// For each method, activation, Dale's law on/off and parameter group (W_in, W, b, W_out) the engine's
/// float32 gradient g is compared with the central difference of the double-precision reference loss along
/// random directions v of that group: (L(θ + hv) − L(θ − hv)) / 2h with h = 1e-6.
///
/// Tolerance: |⟨g, v⟩ − FD| ≤ 1e-3·max(|⟨g, v⟩|, |FD|) + 1e-7. The engine's own rounding (float32 sums over
/// ~10^3 terms, and noise that differs from the reference by a few ulp) stays below 1e-5 relative, and
/// h = 1e-6 makes a ReLU kink inside the difference interval rare and its effect far below 1e-3. A wrong term
/// — a missing θ on a DASC anchor's adjoint, a mix applied with β instead of 1 − β, a dropped regularizer,
/// a transposed product — moves a directional derivative by percents, far outside it.
module SkipRnn.Tests.GradientTests

open System
open Expecto
open SkipRnn.Numerics
open SkipRnn.Model
open SkipRnn.Engine

let private groups (arch: Architecture) =
    let l = ParameterLayout.Of arch
    [ "W_in", l.InputWeights, l.Recurrent
      "W", l.Recurrent, l.Bias
      "b", l.Bias, l.OutputWeights
      "W_out", l.OutputWeights, l.Count ]

/// The methods of the issue at their checked settings; CD runs on a grid 4× coarser.
let methods =
    [ "control", Euler, 0.005
      "CD (θ = 4)", CoarseEuler 4.0, 0.02
      "SCTT (θ = 5, β = 0.3)", WithSkips(Plain, 5, 0.3), 0.005
      "DASC (θ = 5, β = 0.3)", WithSkips(Aligned, 5, 0.3), 0.005
      "DASC-last (θ = 5, β = 0.3)", WithSkips(AlignedLast, 5, 0.3), 0.005 ]

/// Checks the engine's gradients of two networks on `batch` against finite differences of the reference loss.
let checkGradientsOn (arch: Architecture) (integrator: Integrator) (batch: SkipRnn.Tasks.TrialBatch) =
    let plan = Integrator.plan integrator batch
    let parameters = Parameters.initialize arch 2 7UL
    let noise = NoiseKey.Create(1UL, 2UL, 3UL)
    let prepared = PreparedBatch.prepare arch batch
    let gradients = Array.zeroCreate<float32> parameters.Values.Length
    use engine = new CpuEngine(arch, 2)
    let losses = engine.Gradients(parameters, [| 0; 1 |], prepared, plan, noise, gradients)
    let size = arch.ParameterCount
    let rng = Random(42)
    for m in 0 .. 1 do
        let theta = Array.init size (fun i -> float parameters.Values[m * size + i])
        let reference = ReferenceModel.run arch theta batch plan noise m
        Expect.floatClose { absolute = 1e-7; relative = 1e-4 } losses[m] reference.Loss "engine loss equals the reference loss"
        for (name, first, last) in groups arch do
            for _ in 1 .. 3 do
                let v = Array.zeroCreate<float> size
                for i in first .. last - 1 do v[i] <- rng.NextDouble() * 2.0 - 1.0
                let h = 1e-6
                let shifted sign = Array.init size (fun i -> theta[i] + sign * h * v[i])
                let fd =
                    ((ReferenceModel.runWith arch theta (shifted 1.0) batch plan noise m).Loss
                     - (ReferenceModel.runWith arch theta (shifted -1.0) batch plan noise m).Loss) / (2.0 * h)
                let mutable analytic = 0.0
                for i in first .. last - 1 do analytic <- analytic + float gradients[m * size + i] * v[i]
                let tolerance = 1e-3 * max (abs analytic) (abs fd) + 1e-7
                if abs (analytic - fd) > tolerance then
                    failtestf "network %d, %s: backpropagation gives %.9g, finite differences %.9g" m name analytic fd

/// The checks on a synthetic batch of 3 trials with these period lengths (steps) at `dt`.
let checkGradients (arch: Architecture) (integrator: Integrator) (dt: float) (periods: int list) =
    checkGradientsOn arch integrator (Synthetic.batch 3UL 3 dt arch.Inputs arch.Outputs periods)

[<Tests>]
let gradientTests =
    testList "gradients against finite differences" [
        for (name, integrator, dt) in methods do
            for activation in [ ReLU; Tanh ] do
                for dale in [ false; true ] do
                    testCase (sprintf "%s, %s, Dale %b" name activation.Name dale) <| fun () ->
                        // N = 10, 2 networks, 3 trials, 60 steps: a burn-in of 10 and periods with a partial window.
                        let arch = Synthetic.architecture 10 6 4 activation dale
                        checkGradients arch integrator dt [ 10; 17; 20; 13 ]
        testCase "softplus units and a softmax readout (control and DASC)" <| fun () ->
            let arch = { Synthetic.architecture 10 6 4 Softplus false with Readout = Softmax; OutputStart = 0; OutputUnits = 10; InputUnits = 10 }
            let softmaxTargets (b: SkipRnn.Tasks.TrialBatch) =
                // one-hot targets for cross-entropy
                let t = Array.zeroCreate<float32> b.Targets.Length
                for r in 0 .. b.Steps * b.Trials - 1 do t[r * b.OutputSize + r % b.OutputSize] <- 1.0f
                { b with Targets = t }
            for integrator in [ Euler; WithSkips(Aligned, 5, 0.3) ] do
                let batch = softmaxTargets (Synthetic.batch 3UL 3 0.005 arch.Inputs arch.Outputs [ 10; 17; 20; 13 ])
                let plan = Integrator.plan integrator batch
                let parameters = Parameters.initialize arch 1 7UL
                let noise = NoiseKey.Create(1UL, 2UL, 3UL)
                let gradients = Array.zeroCreate<float32> parameters.Values.Length
                use engine = new CpuEngine(arch, 1)
                let loss = (engine.Gradients(parameters, [| 0 |], PreparedBatch.prepare arch batch, plan, noise, gradients))[0]
                let theta = parameters.Values |> Array.map float
                let reference = ReferenceModel.run arch theta batch plan noise 0
                Expect.floatClose { absolute = 1e-7; relative = 1e-4 } loss reference.Loss "loss"
                let rng = Random(3)
                for (name, first, last) in groups arch do
                    let v = Array.init theta.Length (fun i -> if i >= first && i < last then rng.NextDouble() - 0.5 else 0.0)
                    let h = 1e-6
                    let at s = (ReferenceModel.runWith arch theta (Array.init theta.Length (fun i -> theta[i] + s * h * v[i])) batch plan noise 0).Loss
                    let fd = (at 1.0 - at -1.0) / (2.0 * h)
                    let analytic = Array.fold2 (fun acc (g: float32) vi -> acc + float g * vi) 0.0 gradients v
                    Expect.isLessThanOrEqual (abs (analytic - fd)) (1e-3 * max (abs analytic) (abs fd) + 1e-7) name
    ]

/// A task defined in C# (examples/CSharpTraining's TwoIntervalComparison, implementing SkipRnn.Api.ICustomTask)
/// goes through the same checks, on batches its own generator lays out: every method (CD on its θ-coarse grid),
/// activation and Dale's law.
[<Tests>]
let csharpTaskGradientTests =
    testList "gradients of a task defined in C#" [
        let task = SkipRnn.Api.CustomTask.definition (CSharpTraining.TwoIntervalComparison())
        // Short periods (20 steps at dt) keep the reference model fast; every period but the response is jittered.
        let timing =
            { SkipRnn.Tasks.Timing.Default with
                BurnIn = 0.05; Fixation = 0.1; Stimulus = 0.1; Delay = 0.1; Response = 0.1; Grace = 0.02; Jitter = 0.01 }
        for (name, integrator, _) in methods do
            for activation in [ ReLU; Tanh ] do
                for dale in [ false; true ] do
                    testCase (sprintf "%s, %s, Dale %b" name activation.Name dale) <| fun () ->
                        let arch = Synthetic.architecture 10 task.InputSize task.OutputSize activation dale
                        let settings: SkipRnn.Tasks.BatchSettings =
                            { Trials = 3; Timing = timing.Coarsened integrator.DtFactor; Jittered = true; Buffers = None }
                        let batch = task.Generate settings (Rng.Create(5UL))
                        Expect.equal batch.Task "twointerval" "the C# task's batch"
                        Expect.isGreaterThan (batch.Inputs |> Array.sumBy abs) 0.0f "with the inputs its C# code wrote"
                        checkGradientsOn arch integrator batch
    ]

[<Tests>]
let forwardTests =
    testList "engine states against the reference model" [
        for (name, integrator, dt) in methods do
            testCase name <| fun () ->
                let arch = Synthetic.architecture 10 6 4 ReLU false
                let batch = Synthetic.batch 5UL 3 dt arch.Inputs arch.Outputs [ 10; 17; 20; 13 ]
                let plan = Integrator.plan integrator batch
                let parameters = Parameters.initialize arch 1 9UL
                let noise = NoiseKey.Create(4UL, 2UL, 0UL)
                use engine = new CpuEngine(arch, 1)
                let states, _ = engine.Trajectory(parameters, 0, PreparedBatch.prepare arch batch, plan, noise)
                let reference = ReferenceModel.run arch (parameters.Values |> Array.map float) batch plan noise 0
                let n = arch.Units
                for k in 0 .. reference.States.Length - 1 do
                    for b in 0 .. batch.Trials - 1 do
                        for i in 0 .. n - 1 do
                            let e = reference.States[k].[b].[i]
                            let a = float states[(k * batch.Trials + b) * n + i]
                            if abs (a - e) > 1e-5 * (1.0 + abs e) then
                                failtestf "step %d trial %d unit %d: engine %g, reference %g" k b i a e
    ]
