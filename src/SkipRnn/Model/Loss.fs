namespace SkipRnn.Model

open System

/// The readout nonlinearity and the loss of one (step, trial) row of outputs (SPEC §1 and §7). Each
/// backend computes z = W_out r_out; these functions turn z into y, and y into the loss and dL/dz.
module Loss =

    /// dL/dz of a sigmoid output under the weighted squared error: 2w·(y − target)·y·(1 − y), from twoW = 2w and
    /// d = y − target (generic, so that vector lanes compute it the same way).
    let inline sigmoidSlope twoW d y one = twoW * d * y * (one - y)

    /// dL/dz of a softmax output under the weighted cross-entropy with one-hot targets: w·(y − target).
    let inline softmaxSlope w y target = w * (y - target)

    /// z → y in place for one row of `outputs` values.
    let activateRow (readout: Readout) (row: Span<float32>) (outputs: int) =
        match readout with
        | Sigmoid ->
            for o in 0 .. outputs - 1 do
                row[o] <- 1.0f / (1.0f + MathF.Exp(-row[o]))
        | Softmax ->
            let mutable top = Single.NegativeInfinity
            for o in 0 .. outputs - 1 do top <- max top row[o]
            let mutable sum = 0.0f
            for o in 0 .. outputs - 1 do
                let e = MathF.Exp(row[o] - top)
                row[o] <- e
                sum <- sum + e
            for o in 0 .. outputs - 1 do row[o] <- row[o] / sum

    /// Loss of one row with weight w, and y → dL/dz in place.
    /// Sigmoid: w·Σ_o (y − target)², dL/dz = 2w (y − target) y (1 − y).
    /// Softmax: −w·Σ_o target·log y, dL/dz = w (y − target) (targets are one-hot).
    let rowLossAndGradient (readout: Readout) (w: float32) (row: Span<float32>) (target: ReadOnlySpan<float32>) (outputs: int) =
        let mutable loss = 0.0
        match readout with
        | Sigmoid ->
            for o in 0 .. outputs - 1 do
                let y = row[o]
                let d = y - target[o]
                loss <- loss + float (d * d)
                row[o] <- sigmoidSlope (2.0f * w) d y 1.0f
        | Softmax ->
            for o in 0 .. outputs - 1 do
                let y = row[o]
                if target[o] > 0.0f then loss <- loss - float target[o] * Math.Log(max (float y) 1e-30)
                row[o] <- softmaxSlope w y target[o]
        float w * loss
