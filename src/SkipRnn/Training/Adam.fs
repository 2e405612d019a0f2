namespace SkipRnn.Training

open System
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics

#nowarn "9"

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
        use theta = fixed &parameters[o]
        use grad = fixed &gradients[o]
        use first = fixed &m[o]
        use second = fixed &v[o]
        let inline at (p: nativeptr<float32>) (i: int) = NativePtr.add p i
        let mutable i = 0
        if Simd.hasAvx512 then
            let b1, b2, rate, eps = Vector512.Create b1, Vector512.Create b2, Vector512.Create lrT, Vector512.Create eps
            while i + 16 <= size do
                let g = Vector512.Load(at grad i)
                let mi = AdamRule.firstMoment b1 (Vector512.Load(at first i)) g
                let vi = AdamRule.secondMoment b2 (Vector512.Load(at second i)) g
                Vector512.Store(mi, at first i)
                Vector512.Store(vi, at second i)
                Vector512.Store(Vector512.Load(at theta i) - AdamRule.step Vector512.Sqrt rate mi vi eps, at theta i)
                i <- i + 16
        elif Simd.hasAvx2 then
            let b1, b2, rate, eps = Vector256.Create b1, Vector256.Create b2, Vector256.Create lrT, Vector256.Create eps
            while i + 8 <= size do
                let g = Vector256.Load(at grad i)
                let mi = AdamRule.firstMoment b1 (Vector256.Load(at first i)) g
                let vi = AdamRule.secondMoment b2 (Vector256.Load(at second i)) g
                Vector256.Store(mi, at first i)
                Vector256.Store(vi, at second i)
                Vector256.Store(Vector256.Load(at theta i) - AdamRule.step Vector256.Sqrt rate mi vi eps, at theta i)
                i <- i + 8
        elif Simd.has128 then
            let b1, b2, rate, eps = Vector128.Create b1, Vector128.Create b2, Vector128.Create lrT, Vector128.Create eps
            while i + 4 <= size do
                let g = Vector128.Load(at grad i)
                let mi = AdamRule.firstMoment b1 (Vector128.Load(at first i)) g
                let vi = AdamRule.secondMoment b2 (Vector128.Load(at second i)) g
                Vector128.Store(mi, at first i)
                Vector128.Store(vi, at second i)
                Vector128.Store(Vector128.Load(at theta i) - AdamRule.step Vector128.Sqrt rate mi vi eps, at theta i)
                i <- i + 4
        // The parameters past the last whole vector (all of them without vectors).
        while i < size do
            let g = NativePtr.get grad i
            let mi = AdamRule.firstMoment b1 (NativePtr.get first i) g
            let vi = AdamRule.secondMoment b2 (NativePtr.get second i) g
            NativePtr.set first i mi
            NativePtr.set second i vi
            NativePtr.set theta i (NativePtr.get theta i - AdamRule.step MathF.Sqrt lrT mi vi eps)
            i <- i + 1

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
