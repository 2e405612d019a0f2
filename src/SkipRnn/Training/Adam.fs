namespace SkipRnn.Training

open System
open SkipRnn.Numerics

/// Adam with the settings of SPEC §1 (learning rate 0.1/N, β1 0.9, β2 0.999, ε 1e-7), one independent
/// optimizer state per network, in the formulation of TensorFlow/Keras that the authors used:
///     lr_t = lr·√(1 − β2^t)/(1 − β1^t),   θ ← θ − lr_t·m/(√v + ε).
[<Sealed>]
type Adam(networks: int, size: int, learningRate: float, ?beta1: float, ?beta2: float, ?epsilon: float) =
    let beta1 = defaultArg beta1 0.9
    let beta2 = defaultArg beta2 0.999
    let epsilon = defaultArg epsilon 1e-7
    let mutable m = Array.zeroCreate<float32> (networks * size)
    let mutable v = Array.zeroCreate<float32> (networks * size)
    let steps = Array.zeroCreate<int> networks

    member _.LearningRate = learningRate
    member _.Steps(network: int) = steps[network]
    member _.Beta1 = beta1
    member _.Beta2 = beta2
    member _.Epsilon = epsilon

    /// Counts one more step of network `network` and returns its step size lr_t (for an optimizer that
    /// applies the update elsewhere, e.g. on a GPU).
    member _.NextRate(network: int) =
        steps[network] <- steps[network] + 1
        let t = float steps[network]
        float32 (learningRate * sqrt (1.0 - beta2 ** t) / (1.0 - beta1 ** t))

    /// One update of network `network`'s block of `parameters` with its block of `gradients`.
    member this.Update(network: int, parameters: float32[], gradients: float32[]) =
        let lrT = this.NextRate network
        let b1 = float32 beta1
        let b2 = float32 beta2
        let eps = float32 epsilon
        let o = network * size
        for i in o .. o + size - 1 do
            let g = gradients[i]
            let mi = AdamRule.firstMoment b1 m[i] g
            let vi = AdamRule.secondMoment b2 v[i] g
            m[i] <- mi
            v[i] <- vi
            parameters[i] <- parameters[i] - AdamRule.step lrT mi vi eps

    /// A fresh state for every network: zero moments and step counts. The moments are new arrays, not cleared
    /// ones: an engine that keeps them on its device binds the host arrays by identity, and uploads new ones.
    member _.Reset() =
        m <- Array.zeroCreate<float32> (networks * size)
        v <- Array.zeroCreate<float32> (networks * size)
        Array.fill steps 0 steps.Length 0

    /// The optimizer state, for checkpoints: first and second moments and step counts (live arrays).
    member _.Moments = m, v, steps

    /// Restores a state saved from `Moments` (into new arrays, for the same reason as Reset).
    member _.Restore(first: float32[], second: float32[], counts: int[]) =
        if first.Length <> networks * size || second.Length <> networks * size || counts.Length <> networks then
            invalidArg "first" (sprintf "an optimizer state for %d networks of %d parameters was expected" networks size)
        m <- Array.copy first
        v <- Array.copy second
        Array.blit counts 0 steps 0 steps.Length
