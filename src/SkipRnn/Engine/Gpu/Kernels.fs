namespace SkipRnn.Engine.Gpu

open ILGPU
open SkipRnn.Model

/// The sizes and fixed choices every kernel knows. G networks, B trials, N units; every per-step array is
/// laid out [G, B, N] (element (m, b, i) at (m·B + b)·N + i), parameters [G, P] in the layout of
/// ParameterLayout, weights [G, N, N].
[<Struct>]
type internal Shape =
    { Networks: int
      Trials: int
      Units: int
      Inputs: int
      Outputs: int
      InputUnits: int
      OutputStart: int
      OutputUnits: int
      FastStart: int
      ParameterCount: int
      InputWeights: int
      Recurrent: int
      Bias: int
      OutputWeights: int
      /// 1 under Dale's law.
      Dale: int
      /// 0 ReLU, 1 tanh, 2 softplus.
      Activation: int
      /// 0 sigmoid + squared error, 1 softmax + cross-entropy.
      Softmax: int }

/// What an Euler step needs besides the arrays: the noise of this step and whether f' is kept.
[<Struct>]
type internal StepArgs =
    { Sigma: float32
      Decay: float32
      Gain: float32
      Key0: uint32
      Key1: uint32
      /// Noise row (t + 1 for step t).
      Row: int
      /// Global index of the group's first network (its noise stream).
      FirstNetwork: int
      Noisy: int
      StoreFprime: int }

/// Which score counts a state's readout feeds, and the task's Scoring values (SPEC §4).
[<Struct>]
type internal ScoreArgs =
    { InFixation: int
      InResponse: int
      Choice: int
      FixationThreshold: float32
      /// cos of the direction tolerance.
      CosTolerance: float
      /// Units of the ring the outputs after the fixation output are decoded with (the `ring` table holds the
      /// sines of their preferred directions, then the cosines).
      RingUnits: int }

/// The kernels of the GPU backend, one thread per output element, no shared memory and no barriers: simple
/// enough to be right by reading, and the same code on the CUDA and CPU accelerators. Counters in
/// `ScoreCounter` order: fixation held, held on Fixate trials, released on Respond trials, on target,
/// scored choices, correct choices.
module internal Kernels =

    let [<Literal>] ScoreCounters = 6

    let inline private sign (v: float32) = if v > 0.0f then 1.0f elif v < 0.0f then -1.0f else 0.0f

    /// W (row-major) and Wᵀ of every network from its raw parameters (|W_raw|·S under Dale's law).
    let effectiveWeights (index: Index1D) (parameters: ArrayView<float32>) (w: ArrayView<float32>) (wt: ArrayView<float32>) (s: Shape) =
        let e = index.X
        let nn = s.Units * s.Units
        let m = e / nn
        let ij = e - m * nn
        let i = ij / s.Units
        let j = ij - i * s.Units
        let raw = parameters.[m * s.ParameterCount + s.Recurrent + ij]
        let v = if s.Dale <> 0 then VectorField.daleWeight raw j s.FastStart else raw
        w.[e] <- v
        wt.[m * nn + j * s.Units + i] <- v

    /// x[s, m, b, k] = shared[s, b, k]: every network gets its own copy of the inputs (closed-loop feedback).
    let broadcastInputs (index: Index1D) (shared: ArrayView<float32>) (x: ArrayView<float32>) (s: Shape) =
        let e = index.X
        let k = e % s.Inputs
        let row = e / s.Inputs              // ((segment·G + m)·B + b)
        let b = row % s.Trials
        let segment = row / s.Trials / s.Networks
        x.[e] <- shared.[(segment * s.Trials + b) * s.Inputs + k]

    /// h[seg, m, b, i] = Σ_k W_in[m, i, k]·x[seg, m, b, k] on the input units, 0 elsewhere, for the segments
    /// from `first` on. x is per network when `xPerNetwork` is 1, shared ([seg, b, k]) otherwise.
    let inputCurrents (index: Index1D) (parameters: ArrayView<float32>) (x: ArrayView<float32>) (h: ArrayView<float32>)
                      (s: Shape) (first: int) (xPerNetwork: int) =
        let rowLength = s.Networks * s.Trials * s.Units
        let segment = first + index.X / rowLength
        let r = index.X % rowLength
        let i = r % s.Units
        let mb = r / s.Units
        let m = mb / s.Trials
        let b = mb - m * s.Trials
        let mutable acc = 0.0f
        if i < s.InputUnits then
            let xRow = if xPerNetwork <> 0 then (segment * s.Networks + m) * s.Trials + b else segment * s.Trials + b
            let xBase = xRow * s.Inputs
            let wBase = m * s.ParameterCount + s.InputWeights + i * s.Inputs
            for k in 0 .. s.Inputs - 1 do
                acc <- acc + parameters.[wBase + k] * x.[xBase + k]
        h.[segment * rowLength + r] <- acc

    /// η(0): noise row 0.
    let initialNoise (index: Index1D) (eta: ArrayView<float32>) (s: Shape) (a: StepArgs) =
        let e = index.X
        let perNetwork = s.Trials * s.Units
        let m = e / perNetwork
        eta.[e] <- DeviceMath.normal a.Key0 a.Key1 (uint32 (a.FirstNetwork + m)) 0 perNetwork (e - m * perNetwork)

    /// Euler step: p = W r + b + h + σ η;  Δ = α ⊙ (f(p) − r);  rOut = r + Δ;  f'(p) kept if asked;
    /// then η ← decay·η + gain·ξ with ξ the noise row of this step.
    let eulerStep (index: Index1D) (wt: ArrayView<float32>) (parameters: ArrayView<float32>) (alpha: ArrayView<float32>)
                  (rIn: ArrayView<float32>) (rOut: ArrayView<float32>) (h: ArrayView<float32>) (eta: ArrayView<float32>)
                  (delta: ArrayView<float32>) (fprime: ArrayView<float32>) (s: Shape) (a: StepArgs) =
        let e = index.X
        let n = s.Units
        let perNetwork = s.Trials * n
        let m = e / perNetwork
        let i = e % n
        let row = e - i
        let wBase = m * n * n + i
        let mutable pre = 0.0f
        for j in 0 .. n - 1 do
            pre <- pre + wt.[wBase + j * n] * rIn.[row + j]
        let noise = eta.[e]
        let p = VectorField.preActivation pre parameters.[m * s.ParameterCount + s.Bias + i] h.[e] a.Sigma noise
        let mutable f = 0.0f
        let mutable fp = 0.0f
        if s.Activation = 0 then
            if p > 0.0f then
                f <- p
                fp <- 1.0f
        elif s.Activation = 1 then
            f <- DeviceMath.tanh p
            fp <- 1.0f - f * f
        else
            let magnitude = if p < 0.0f then -p else p
            f <- (if p > 0.0f then p else 0.0f) + DeviceMath.log (1.0f + DeviceMath.exp -magnitude)
            fp <- DeviceMath.sigmoid p
        let r = rIn.[e]
        let step = VectorField.increment alpha.[i] f r
        delta.[e] <- step
        rOut.[e] <- r + step
        if a.StoreFprime <> 0 then fprime.[e] <- fp
        if a.Noisy <> 0 then
            let xi = DeviceMath.normal a.Key0 a.Key1 (uint32 (a.FirstNetwork + m)) a.Row perNetwork (e - m * perNetwork)
            eta.[e] <- VectorField.noise a.Decay noise a.Gain xi

    /// dst = a·x + b·y (anchors, mixes and their reverses).
    let combine (index: Index1D) (x: ArrayView<float32>) (y: ArrayView<float32>) (dst: ArrayView<float32>) (a: float32) (b: float32) =
        let e = index.X
        dst.[e] <- a * x.[e] + b * y.[e]

    /// z = W_out r_out of row (m, b) into `z` (O floats at zBase).
    let private readout (parameters: ArrayView<float32>) (r: ArrayView<float32>) (z: ArrayView<float32>) (s: Shape) (m: int) (rowBase: int) (zBase: int) =
        for o in 0 .. s.Outputs - 1 do
            let wBase = m * s.ParameterCount + s.OutputWeights + o * s.OutputUnits
            let mutable acc = 0.0f
            for j in 0 .. s.OutputUnits - 1 do
                acc <- acc + parameters.[wBase + j] * r.[rowBase + s.OutputStart + j]
            z.[zBase + o] <- acc

    let private softmaxRow (y: ArrayView<float32>) (s: Shape) (zBase: int) =
        let mutable top = y.[zBase]
        for o in 1 .. s.Outputs - 1 do
            if y.[zBase + o] > top then top <- y.[zBase + o]
        let mutable sum = 0.0f
        for o in 0 .. s.Outputs - 1 do
            let v = DeviceMath.exp (y.[zBase + o] - top)
            y.[zBase + o] <- v
            sum <- sum + v
        for o in 0 .. s.Outputs - 1 do
            y.[zBase + o] <- y.[zBase + o] / sum

    let private sigmoidRow (y: ArrayView<float32>) (s: Shape) (zBase: int) =
        for o in 0 .. s.Outputs - 1 do
            y.[zBase + o] <- DeviceMath.sigmoid y.[zBase + o]

    // The F# compiler moves a large branch of an if/else into a continuation method that takes unit (null) as
    // an argument, which ILGPU cannot compile: large branches here are calls of functions of their own.

    /// z → y in place: sigmoid, or softmax over the O outputs.
    let private activateReadout (y: ArrayView<float32>) (s: Shape) (zBase: int) =
        if s.Softmax <> 0 then softmaxRow y s zBase else sigmoidRow y s zBase

    /// The loss of row (m, b) with weight w: y and dL/dz into dz, the loss into sums[2m], and
    /// adjoint += W_outᵀ dL/dz on the output population.
    let private readoutLoss (parameters: ArrayView<float32>) (r: ArrayView<float32>) (adjoint: ArrayView<float32>)
                            (dz: ArrayView<float32>) (targets: ArrayView<float32>) (sums: ArrayView<float>) (s: Shape)
                            (m: int) (b: int) (w: float32) =
        let mb = m * s.Trials + b
        let rowBase = mb * s.Units
        let zBase = mb * s.Outputs
        readout parameters r dz s m rowBase zBase
        activateReadout dz s zBase
        let targetBase = b * s.Outputs
        let mutable loss = 0.0f
        for o in 0 .. s.Outputs - 1 do
            let y = dz.[zBase + o]
            let target = targets.[targetBase + o]
            if s.Softmax <> 0 then
                if target > 0.0f then loss <- loss - target * DeviceMath.log (if y > 1e-30f then y else 1e-30f)
                dz.[zBase + o] <- Loss.softmaxSlope w y target
            else
                let d = y - target
                loss <- loss + d * d
                dz.[zBase + o] <- Loss.sigmoidSlope (2.0f * w) d y 1.0f
        Atomic.Add(&sums.[2 * m], float (w * loss)) |> ignore
        for j in 0 .. s.OutputUnits - 1 do
            let mutable acc = 0.0f
            for o in 0 .. s.Outputs - 1 do
                acc <- acc + dz.[zBase + o] * parameters.[m * s.ParameterCount + s.OutputWeights + o * s.OutputUnits + j]
            adjoint.[rowBase + s.OutputStart + j] <- adjoint.[rowBase + s.OutputStart + j] + acc

    /// One thread per (m, b): the adjoint of the state r after a trained step, before the mixes are undone:
    /// adjoint = carry + c·sign(r) (+ W_outᵀ dL/dz when the step carries loss); dz = dL/dz (0 without loss);
    /// the network's loss, Σ|r| (sums[2m], sums[2m+1]) and max |r| (as float bits) accumulate atomically.
    let stateAdjoint (index: Index1D) (parameters: ArrayView<float32>) (r: ArrayView<float32>) (carry: ArrayView<float32>)
                     (adjoint: ArrayView<float32>) (dz: ArrayView<float32>) (weights: ArrayView<float32>) (targets: ArrayView<float32>)
                     (sums: ArrayView<float>) (peaks: ArrayView<int>) (s: Shape) (activityScale: float32) (hasLoss: int) =
        let mb = index.X
        let m = mb / s.Trials
        let b = mb - m * s.Trials
        let rowBase = mb * s.Units
        let mutable absSum = 0.0f
        let mutable top = 0.0f
        for i in 0 .. s.Units - 1 do
            let v = r.[rowBase + i]
            adjoint.[rowBase + i] <- carry.[rowBase + i] + activityScale * sign v
            let magnitude = if v < 0.0f then -v else v
            absSum <- absSum + magnitude
            if not (magnitude <= top) then
                // NaN counts as infinite activity: the network has diverged.
                top <- if magnitude = magnitude then magnitude else System.Single.PositiveInfinity
        Atomic.Add(&sums.[2 * m + 1], float absSum) |> ignore
        Atomic.Max(&peaks.[m], int (Interop.FloatAsInt top)) |> ignore
        let w = if hasLoss <> 0 then weights.[b] else 0.0f
        if w = 0.0f then
            for o in 0 .. s.Outputs - 1 do dz.[mb * s.Outputs + o] <- 0.0f
        else readoutLoss parameters r adjoint dz targets sums s m b w

    /// Reverse of the Euler step's pointwise part: δ = gΔ ⊙ α ⊙ f' (written over f'), carry = gId − α ⊙ gΔ,
    /// and δ summed into its input segment (for ∂b and ∂W_in).
    let eulerBackward (index: Index1D) (gDelta: ArrayView<float32>) (gId: ArrayView<float32>) (alpha: ArrayView<float32>)
                      (fprime: ArrayView<float32>) (carry: ArrayView<float32>) (segmentSum: ArrayView<float32>) (s: Shape) =
        let e = index.X
        let gd = gDelta.[e]
        let a = alpha.[e % s.Units]
        let d = VectorField.incrementAdjoint gd a fprime.[e]
        fprime.[e] <- d
        carry.[e] <- VectorField.stateAdjoint gId.[e] a gd
        segmentSum.[e] <- segmentSum.[e] + d

    let private carryProduct (w: ArrayView<float32>) (delta: ArrayView<float32>) (carry: ArrayView<float32>) (s: Shape) (e: int) =
        let n = s.Units
        let j = e % n
        let mb = e / n
        let m = mb / s.Trials
        let mutable acc = 0.0f
        for i in 0 .. n - 1 do
            acc <- acc + delta.[mb * n + i] * w.[(m * n + i) * n + j]
        carry.[e] <- carry.[e] + acc

    let private weightProduct (delta: ArrayView<float32>) (rBefore: ArrayView<float32>) (dW: ArrayView<float32>) (s: Shape) (q: int) =
        let n = s.Units
        let m = q / (n * n)
        let ij = q - m * n * n
        let i = ij / n
        let j = ij - i * n
        let mutable acc = 0.0f
        for b in 0 .. s.Trials - 1 do
            let row = (m * s.Trials + b) * n
            acc <- acc + delta.[row + i] * rBefore.[row + j]
        dW.[q] <- dW.[q] + acc

    let private outputWeightProduct (rAfter: ArrayView<float32>) (dz: ArrayView<float32>) (dWout: ArrayView<float32>) (s: Shape) (q: int) =
        let perNetwork = s.Outputs * s.OutputUnits
        let m = q / perNetwork
        let oj = q - m * perNetwork
        let o = oj / s.OutputUnits
        let j = oj - o * s.OutputUnits
        let mutable acc = 0.0f
        for b in 0 .. s.Trials - 1 do
            let mb = m * s.Trials + b
            acc <- acc + dz.[mb * s.Outputs + o] * rAfter.[mb * s.Units + s.OutputStart + j]
        dWout.[q] <- dWout.[q] + acc

    /// The products of the backward step, over three index ranges:
    ///   (m, b, j):  carry[m, b, j] += Σ_i δ[m, b, i]·W[m, i, j]
    ///   (m, i, j):  ∂W[m, i, j] += Σ_b δ[m, b, i]·r_before[m, b, j]
    ///   (m, o, j):  ∂W_out[m, o, j] += Σ_b dz[m, b, o]·r_after[m, b, OutputStart + j]   (steps with loss only)
    let backProducts (index: Index1D) (w: ArrayView<float32>) (delta: ArrayView<float32>) (rBefore: ArrayView<float32>)
                     (rAfter: ArrayView<float32>) (dz: ArrayView<float32>) (carry: ArrayView<float32>) (dW: ArrayView<float32>)
                     (dWout: ArrayView<float32>) (s: Shape) =
        let states = s.Networks * s.Trials * s.Units
        let weights = s.Networks * s.Units * s.Units
        let e = index.X
        if e < states then carryProduct w delta carry s e
        elif e < states + weights then weightProduct delta rBefore dW s (e - states)
        else outputWeightProduct rAfter dz dWout s (e - states - weights)

    /// The gradient of every parameter (one thread each), from the accumulated ∂W, ∂W_out and the per-segment
    /// sums of δ; flags[m] becomes 1 when a gradient of network m is not finite.
    let finishGradients (index: Index1D) (parameters: ArrayView<float32>) (x: ArrayView<float32>) (segmentSums: ArrayView<float32>)
                        (dW: ArrayView<float32>) (dWout: ArrayView<float32>) (gradients: ArrayView<float32>) (flags: ArrayView<int>)
                        (s: Shape) (segments: int) (xPerNetwork: int) (weightScale: float32) =
        let e = index.X
        let m = e / s.ParameterCount
        let q = e - m * s.ParameterCount
        let n = s.Units
        let rowLength = s.Networks * s.Trials * n
        let mutable g = 0.0f
        if q < s.Recurrent then
            let i = (q - s.InputWeights) / s.Inputs
            let k = (q - s.InputWeights) - i * s.Inputs
            for segment in 0 .. segments - 1 do
                for b in 0 .. s.Trials - 1 do
                    let xRow = if xPerNetwork <> 0 then (segment * s.Networks + m) * s.Trials + b else segment * s.Trials + b
                    g <- g + x.[xRow * s.Inputs + k] * segmentSums.[segment * rowLength + (m * s.Trials + b) * n + i]
        elif q < s.Bias then
            let ij = q - s.Recurrent
            let j = ij % n
            let raw = parameters.[e]
            let sg = sign raw
            let dEffective = dW.[m * n * n + ij]
            let dRaw = if s.Dale <> 0 then dEffective * (if j >= s.FastStart then -1.0f else 1.0f) * sg else dEffective
            g <- dRaw + weightScale * sg
        elif q < s.OutputWeights then
            let i = q - s.Bias
            for segment in 0 .. segments - 1 do
                for b in 0 .. s.Trials - 1 do
                    g <- g + segmentSums.[segment * rowLength + (m * s.Trials + b) * n + i]
        else
            g <- dWout.[m * s.Outputs * s.OutputUnits + q - s.OutputWeights]
        gradients.[e] <- g
        if not (DeviceMath.isFinite g) then flags.[m] <- 1

    /// Σ|W_raw| of each network (one thread per network), for the weight regularizer's share of the loss.
    let weightSums (index: Index1D) (parameters: ArrayView<float32>) (sums: ArrayView<float>) (s: Shape) =
        let m = index.X
        let mutable acc = 0.0
        for q in 0 .. s.Units * s.Units - 1 do
            let raw = parameters.[m * s.ParameterCount + s.Recurrent + q]
            acc <- acc + float (if raw < 0.0f then -raw else raw)
        sums.[m] <- acc

    /// Adam (Numerics/AdamRule.fs) on every parameter of the networks whose rate is positive.
    let adam (index: Index1D) (parameters: ArrayView<float32>) (gradients: ArrayView<float32>) (first: ArrayView<float32>)
             (second: ArrayView<float32>) (rates: ArrayView<float32>) (size: int) (beta1: float32) (beta2: float32) (epsilon: float32) =
        let e = index.X
        let rate = rates.[e / size]
        if rate > 0.0f then
            let g = gradients.[e]
            let mi = SkipRnn.Numerics.AdamRule.firstMoment beta1 first.[e] g
            let vi = SkipRnn.Numerics.AdamRule.secondMoment beta2 second.[e] g
            first.[e] <- mi
            second.[e] <- vi
            parameters.[e] <- parameters.[e] - SkipRnn.Numerics.AdamRule.step System.MathF.Sqrt rate mi vi epsilon

    let private scoreChoice (y: ArrayView<float32>) (weights: ArrayView<float32>) (targetClass: ArrayView<int>)
                            (counters: ArrayView<int>) (s: Shape) (b: int) (yBase: int) (c: int) =
        if weights.[b] > 0.0f then
            Atomic.Add(&counters.[c + 4], 1) |> ignore
            let mutable best = 0
            for o in 1 .. s.Outputs - 1 do
                if y.[yBase + o] > y.[yBase + best] then best <- o
            if best = targetClass.[b] then Atomic.Add(&counters.[c + 5], 1) |> ignore

    /// Decoded within 0.2π of the target ⇔ cos(angle between the population vector and the target) > cos 0.2π;
    /// a zero vector decodes to direction 0 (atan2(0, 0) = 0).
    let private onTarget (y: ArrayView<float32>) (directions: ArrayView<float>) (ring: ArrayView<float>) (s: Shape) (a: ScoreArgs) (b: int) (yBase: int) =
        let mutable sine = 0.0
        let mutable cosine = 0.0
        let units = if s.Outputs - 1 < a.RingUnits then s.Outputs - 1 else a.RingUnits
        for k in 0 .. units - 1 do
            let v = float y.[yBase + 1 + k]
            sine <- sine + v * ring.[k]
            cosine <- cosine + v * ring.[a.RingUnits + k]
        let targetCos = directions.[2 * b]
        let targetSin = directions.[2 * b + 1]
        let length = System.Math.Sqrt(sine * sine + cosine * cosine)
        if length = 0.0 then targetCos > a.CosTolerance
        else cosine * targetCos + sine * targetSin > a.CosTolerance * length

    let private scoreRing (y: ArrayView<float32>) (answers: ArrayView<int>) (directions: ArrayView<float>) (ring: ArrayView<float>)
                          (counters: ArrayView<int>) (s: Shape) (a: ScoreArgs) (b: int) (yBase: int) (c: int) =
        let fixation = y.[yBase]
        if a.InFixation <> 0 && fixation > a.FixationThreshold then Atomic.Add(&counters.[c], 1) |> ignore
        if a.InResponse <> 0 then
            if answers.[b] = 0 then
                if fixation < a.FixationThreshold then Atomic.Add(&counters.[c + 2], 1) |> ignore
                if onTarget y directions ring s a b yBase then Atomic.Add(&counters.[c + 3], 1) |> ignore
            elif fixation > a.FixationThreshold then Atomic.Add(&counters.[c + 1], 1) |> ignore

    /// One thread per (m, b): the readout of the state r after a step, counted into the network's score
    /// counters (Performance.Counts: the readouts are counted, not stored). `y` is scratch [G, B, O]; `answers`
    /// is 0 for a Respond trial, 1 otherwise; `directions` holds (cos, sin) of each trial's direction; `ring`
    /// holds sin ψ_k for the 32 ring units, then cos ψ_k.
    let scoreStep (index: Index1D) (parameters: ArrayView<float32>) (r: ArrayView<float32>) (y: ArrayView<float32>)
                  (answers: ArrayView<int>) (directions: ArrayView<float>) (ring: ArrayView<float>) (weights: ArrayView<float32>)
                  (targetClass: ArrayView<int>) (counters: ArrayView<int>) (s: Shape) (a: ScoreArgs) =
        let mb = index.X
        let m = mb / s.Trials
        let b = mb - m * s.Trials
        let yBase = mb * s.Outputs
        readout parameters r y s m (mb * s.Units) yBase
        activateReadout y s yBase
        let c = m * ScoreCounters
        if a.Choice <> 0 then scoreChoice y weights targetClass counters s b yBase c
        else scoreRing y answers directions ring counters s a b yBase c

    /// Closed-loop feedback, one thread per (m, b): the choice is the argmax of z = W_out r_out for the state
    /// after the choice step; the feedback units of the window's input row are set (correct or wrong).
    let choose (index: Index1D) (parameters: ArrayView<float32>) (r: ArrayView<float32>) (z: ArrayView<float32>)
               (x: ArrayView<float32>) (correct: ArrayView<int>) (choices: ArrayView<int>) (s: Shape)
               (correctInput: int) (wrongInput: int) =
        let mb = index.X
        let m = mb / s.Trials
        let b = mb - m * s.Trials
        let zBase = mb * s.Outputs
        readout parameters r z s m (mb * s.Units) zBase
        let mutable choice = 0
        for o in 1 .. s.Outputs - 1 do
            if z.[zBase + o] > z.[zBase + choice] then choice <- o
        choices.[mb] <- choice
        let right = choice = correct.[b]
        x.[mb * s.Inputs + correctInput] <- (if right then 1.0f else 0.0f)
        x.[mb * s.Inputs + wrongInput] <- (if right then 0.0f else 1.0f)
