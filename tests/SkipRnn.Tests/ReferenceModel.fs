/// A plain, double-precision implementation of the model's forward pass and loss, written from SPEC.md and
/// the paper's equations without any of the engine's layouts, padding or fused kernels. The engine's
/// gradients are checked against finite differences of this loss, and its states against these states.
module SkipRnn.Tests.ReferenceModel

open System
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model

type Trajectory =
    { /// [T][B][N]: the state after each trained step.
      States: float[][][]
      Loss: float }

/// Runs one network (parameters as float64, in the library's flat layout) through a batch with a plan.
/// The burn-in runs with `burnInTheta`: the training gradient treats the state at the end of the burn-in
/// as a constant (SPEC §3), so finite differences must perturb only the parameters used after it.
let runWith (arch: Architecture) (burnInTheta: float[]) (trainedTheta: float[]) (batch: TrialBatch) (plan: SkipPlan)
            (noise: NoiseKey) (network: int) =
    let layout = ParameterLayout.Of arch
    let theta = ref burnInTheta
    let n, nIn, inputs, outputs = arch.Units, arch.InputUnits, arch.Inputs, arch.Outputs
    let wIn i k = theta.Value[layout.InputWeights + i * inputs + k]
    let wRaw i j = theta.Value[layout.Recurrent + i * n + j]
    let w i j =
        if arch.Dale then abs (wRaw i j) * (if j >= arch.FastStart then -1.0 else 1.0) else wRaw i j
    let b i = theta.Value[layout.Bias + i]
    let wOut o j = theta.Value[layout.OutputWeights + o * arch.OutputUnits + j]
    let dt = batch.Dt
    let alpha i = dt / arch.TauOf i
    let decay = 1.0 - dt / arch.NoiseTau
    let gain = sqrt (2.0 * dt / arch.NoiseTau)
    let trials = batch.Trials
    let count = trials * n
    let xi row b i = float (Normal.sample noise network row count (b * n + i))
    let f (x: float) = arch.Activation.Apply x
    let r = Array.init trials (fun _ -> Array.zeroCreate<float> n)
    let eta = Array.init trials (fun bb -> Array.init n (fun i -> xi 0 bb i))
    let anchors = Array.init (max plan.Levels 1) (fun _ -> Array.init trials (fun _ -> Array.zeroCreate<float> n))
    let states = ResizeArray<float[][]>()
    // Closed-loop feedback: the input shown in each feedback window, per trial, once the choice is made.
    let inputAt = Array.init trials (fun _ -> Array.zeroCreate<float> inputs)
    let mutable feedbackUntil = -1
    let readout (s: float[]) o =
        let mutable acc = 0.0
        for j in 0 .. arch.OutputUnits - 1 do acc <- acc + theta.Value[layout.OutputWeights + o * arch.OutputUnits + j] * s[arch.OutputStart + j]
        acc
    for t in 0 .. batch.Steps - 1 do
        if t = batch.BurnIn then theta.Value <- trainedTheta
        match batch.Feedback with
        | ValueSome f ->
            match f.Windows |> Array.tryFindIndex (fun w -> w.Start = t) with
            | Some k ->
                let chosenFrom = states[f.ChoiceSteps[k] - batch.BurnIn]
                for bb in 0 .. trials - 1 do
                    let z = Array.init outputs (readout (chosenFrom.[bb]))
                    let choice = Array.findIndex (fun v -> v = Array.max z) z
                    Array.fill inputAt[bb] 0 inputs 0.0
                    inputAt[bb][if choice = f.Correct[k * trials + bb] then f.CorrectInput else f.WrongInput] <- 1.0
                feedbackUntil <- f.Windows[k].End
            | None -> ()
        | ValueNone -> ()
        let inFeedback = t < feedbackUntil
        let next = Array.init trials (fun _ -> Array.zeroCreate<float> n)
        let increment = Array.init trials (fun _ -> Array.zeroCreate<float> n)
        for bb in 0 .. trials - 1 do
            for i in 0 .. n - 1 do
                let mutable p = b i + arch.NoiseScale * eta[bb][i]
                for j in 0 .. n - 1 do p <- p + w i j * r[bb][j]
                if i < nIn then
                    for k in 0 .. inputs - 1 do
                        let x = float batch.Inputs[batch.InputIndex(t, bb) + k] + (if inFeedback then inputAt[bb][k] else 0.0)
                        p <- p + wIn i k * x
                increment[bb][i] <- alpha i * (-r[bb][i] + f p)
                next[bb][i] <- r[bb][i] + increment[bb][i]
        let takeAnchor (s: Skip) (from: float[][]) =
            let w = float s.Anchor.IncrementWeight
            let anchor = anchors[s.Level]
            for bb in 0 .. trials - 1 do
                for i in 0 .. n - 1 do
                    anchor[bb][i] <- from[bb][i] + w * increment[bb][i]
        for s in plan.AnchoredAt[t] do takeAnchor s r
        for s in plan.EndingAt[t] do
            let beta = float s.Beta
            let anchor = anchors[s.Level]
            for bb in 0 .. trials - 1 do
                for i in 0 .. n - 1 do
                    next[bb][i] <- beta * next[bb][i] + (1.0 - beta) * anchor[bb][i]
        for s in plan.AnchoredAfter[t] do takeAnchor s next
        for bb in 0 .. trials - 1 do
            for i in 0 .. n - 1 do
                r[bb][i] <- next[bb][i]
                eta[bb][i] <- decay * eta[bb][i] + gain * xi (t + 1) bb i
        if t >= batch.BurnIn then states.Add(r |> Array.map Array.copy)
    // Loss: weighted squared error (or cross-entropy) of the readout, plus the two regularizers.
    let mutable loss = 0.0
    let mutable activity = 0.0
    for k in 0 .. states.Count - 1 do
        let t = batch.BurnIn + k
        for bb in 0 .. trials - 1 do
            let s = states[k][bb]
            for i in 0 .. n - 1 do activity <- activity + abs s[i]
            let z = Array.init outputs (fun o ->
                let mutable acc = 0.0
                for j in 0 .. arch.OutputUnits - 1 do acc <- acc + wOut o j * s[arch.OutputStart + j]
                acc)
            let wgt = float batch.LossWeights[t * trials + bb]
            let target o = float batch.Targets[batch.OutputIndex(t, bb) + o]
            match arch.Readout with
            | Sigmoid ->
                for o in 0 .. outputs - 1 do
                    let y = 1.0 / (1.0 + exp (-z[o]))
                    loss <- loss + wgt * (y - target o) ** 2.0
            | Softmax ->
                let top = Array.max z
                let logSum = z |> Array.sumBy (fun v -> exp (v - top)) |> log
                for o in 0 .. outputs - 1 do
                    if target o > 0.0 then loss <- loss - wgt * target o * (z[o] - top - logSum)
    theta.Value <- trainedTheta
    let mutable weights = 0.0
    for i in 0 .. n - 1 do
        for j in 0 .. n - 1 do weights <- weights + abs (wRaw i j)
    loss <- loss + arch.ActivityRegularization * activity / float (states.Count * trials * n)
    loss <- loss + arch.WeightRegularization * weights / float (n * n)
    { States = states.ToArray(); Loss = loss }

/// The same parameters throughout.
let run (arch: Architecture) (theta: float[]) batch plan noise network = runWith arch theta theta batch plan noise network
