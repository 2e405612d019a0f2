namespace SkipRnn.Engine

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Model

#nowarn "9"

/// Elementwise work of the leaky-RNN step on the CPU, on padded rows (length a multiple of 16).
module internal Pointwise =

    let inline private vload (p: nativeptr<float32>) (i: int) = Vector512.Load(NativePtr.add p i)
    let inline private vstore (v: Vector512<float32>) (p: nativeptr<float32>) (i: int) = Vector512.Store(v, NativePtr.add p i)

    /// f and f' of the pre-activation, in place: pre ← f(pre), fprime ← f'(pre). ReLU is fused into
    /// `euler` instead and never comes here.
    let activation (act: Activation) (pre: Span<float32>) (fprime: Span<float32>) =
        match act with
        | ReLU -> invalidOp "ReLU is handled inline"
        | Tanh ->
            TensorPrimitives.Tanh(Span.op_Implicit pre, pre)
            // f' = 1 − f²
            TensorPrimitives.Multiply(Span.op_Implicit pre, Span.op_Implicit pre, fprime)
            TensorPrimitives.Negate(Span.op_Implicit fprime, fprime)
            TensorPrimitives.Add(Span.op_Implicit fprime, 1.0f, fprime)
        | Softplus ->
            // f' = sigmoid(x); f = max(x, 0) + log(1 + exp(−|x|)), stable for large |x|
            TensorPrimitives.Sigmoid(Span.op_Implicit pre, fprime)
            for i in 0 .. pre.Length - 1 do
                let x = pre[i]
                pre[i] <- max x 0.0f + MathF.Log(1.0f + MathF.Exp(-abs x))

    /// The Euler step on B rows of `width` floats:
    ///   ReLU: p = pre + b + h + σ·η, f = max(p, 0), fp = f' (when fp is not null);
    ///   otherwise pre already holds f(p) and fp already f'(p) (see `addInputs` and `activation`);
    ///   then Δ = α ⊙ (−r + f), rOut = rIn + Δ.
    let euler (relu: bool) (rows: int) (width: int) (pre: nativeptr<float32>) (bias: nativeptr<float32>)
              (h: nativeptr<float32>) (eta: nativeptr<float32>) (sigma: float32) (alpha: nativeptr<float32>)
              (rIn: nativeptr<float32>) (rOut: nativeptr<float32>) (delta: nativeptr<float32>) (fp: nativeptr<float32>) =
        let storeFp = not (NativePtr.isNullPtr fp)
        if Vector512.IsHardwareAccelerated then
            let s = Vector512.Create sigma
            let one = Vector512<float32>.One
            let zero = Vector512<float32>.Zero
            for b in 0 .. rows - 1 do
                let o = b * width
                let mutable j = 0
                while j < width do
                    let i = o + j
                    let mutable f = vload pre i
                    if relu then
                        let p = f + vload bias j + vload h i + s * vload eta i
                        f <- Vector512.Max(p, zero)
                        if storeFp then vstore (Vector512.ConditionalSelect(Vector512.GreaterThan(p, zero), one, zero)) fp i
                    let r = vload rIn i
                    let step = vload alpha j * (f - r)
                    vstore step delta i
                    vstore (r + step) rOut i
                    j <- j + 16
        else
            for b in 0 .. rows - 1 do
                let o = b * width
                for j in 0 .. width - 1 do
                    let i = o + j
                    let mutable f = NativePtr.get pre i
                    if relu then
                        let p = f + NativePtr.get bias j + NativePtr.get h i + sigma * NativePtr.get eta i
                        f <- max p 0.0f
                        if storeFp then NativePtr.set fp i (if p > 0.0f then 1.0f else 0.0f)
                    let r = NativePtr.get rIn i
                    let step = NativePtr.get alpha j * (f - r)
                    NativePtr.set delta i step
                    NativePtr.set rOut i (r + step)

    /// pre ← pre + b + h + σ·η (the non-ReLU path adds the inputs before applying f).
    let addInputs (rows: int) (width: int) (pre: nativeptr<float32>) (bias: nativeptr<float32>)
                  (h: nativeptr<float32>) (eta: nativeptr<float32>) (sigma: float32) =
        for b in 0 .. rows - 1 do
            let o = b * width
            for j in 0 .. width - 1 do
                let i = o + j
                NativePtr.set pre i (NativePtr.get pre i + NativePtr.get bias j + NativePtr.get h i + sigma * NativePtr.get eta i)

    /// η ← (decay·η + gain·ξ) ⊙ mask, where ξ is unpadded ([rows, units]) and η padded ([rows, width]).
    let ornsteinUhlenbeck (rows: int) (units: int) (width: int) (eta: nativeptr<float32>) (xi: nativeptr<float32>)
                          (decay: float32) (gain: float32) (mask: nativeptr<float32>) =
        if Vector512.IsHardwareAccelerated then
            let dv = Vector512.Create decay
            let gv = Vector512.Create gain
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let e = vload eta (b * width + j)
                    // Lanes past `units` read the next row's samples (or the slack) and are masked to zero.
                    let x = Vector512.Load(NativePtr.add xi (b * units + j))
                    vstore ((dv * e + gv * x) * vload mask j) eta (b * width + j)
                    j <- j + 16
        else
            for b in 0 .. rows - 1 do
                for j in 0 .. width - 1 do
                    let e = NativePtr.get eta (b * width + j)
                    let x = if j < units then NativePtr.get xi (b * units + j) else 0.0f
                    NativePtr.set eta (b * width + j) ((decay * e + gain * x) * NativePtr.get mask j)

    /// dst ← a·x + b·y over `count` floats (count a multiple of 16 on the vector path).
    let combine (count: int) (a: float32) (x: nativeptr<float32>) (b: float32) (y: nativeptr<float32>) (dst: nativeptr<float32>) =
        if Vector512.IsHardwareAccelerated then
            let av = Vector512.Create a
            let bv = Vector512.Create b
            let mutable i = 0
            while i < count do
                vstore (av * vload x i + bv * vload y i) dst i
                i <- i + 16
        else
            for i in 0 .. count - 1 do
                NativePtr.set dst i (a * NativePtr.get x i + b * NativePtr.get y i)

    /// dst ← dst + x over `count` floats.
    let accumulate (count: int) (x: nativeptr<float32>) (dst: nativeptr<float32>) =
        if Vector512.IsHardwareAccelerated then
            let mutable i = 0
            while i < count do
                vstore (vload dst i + vload x i) dst i
                i <- i + 16
        else
            for i in 0 .. count - 1 do
                NativePtr.set dst i (NativePtr.get dst i + NativePtr.get x i)

    /// The backward Euler step without anchors, fused: δ = g ⊙ α ⊙ f';  carry = g ⊙ (1 − α);  δ overwrites f'.
    let eulerBackward (rows: int) (width: int) (g: nativeptr<float32>) (alpha: nativeptr<float32>)
                      (fpDelta: nativeptr<float32>) (carry: nativeptr<float32>) =
        if Vector512.IsHardwareAccelerated then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let i = b * width + j
                    let gv = vload g i
                    let a = vload alpha j
                    vstore (gv * a * vload fpDelta i) fpDelta i
                    vstore (gv - a * gv) carry i
                    j <- j + 16
        else
            for b in 0 .. rows - 1 do
                for j in 0 .. width - 1 do
                    let i = b * width + j
                    let gv = NativePtr.get g i
                    let a = NativePtr.get alpha j
                    NativePtr.set fpDelta i (gv * a * NativePtr.get fpDelta i)
                    NativePtr.set carry i (gv - a * gv)

    /// The backward Euler step with anchors at this step: δ = gΔ ⊙ α ⊙ f', carry = gId − α ⊙ gΔ.
    let eulerBackwardAnchored (rows: int) (width: int) (gDelta: nativeptr<float32>) (gId: nativeptr<float32>)
                              (alpha: nativeptr<float32>) (fpDelta: nativeptr<float32>) (carry: nativeptr<float32>) =
        for b in 0 .. rows - 1 do
            for j in 0 .. width - 1 do
                let i = b * width + j
                let gd = NativePtr.get gDelta i
                let a = NativePtr.get alpha j
                NativePtr.set fpDelta i (gd * a * NativePtr.get fpDelta i)
                NativePtr.set carry i (NativePtr.get gId i - a * gd)

    /// dst += c·sign(x) over `count` floats.
    let addSign (count: int) (c: float32) (x: nativeptr<float32>) (dst: nativeptr<float32>) =
        for i in 0 .. count - 1 do
            let v = NativePtr.get x i
            if v > 0.0f then NativePtr.set dst i (NativePtr.get dst i + c)
            elif v < 0.0f then NativePtr.set dst i (NativePtr.get dst i - c)
