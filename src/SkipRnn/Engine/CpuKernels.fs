namespace SkipRnn.Engine

open System
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Model

#nowarn "9"

/// Elementwise work of the leaky-RNN step on the CPU, on rows padded to a multiple of 16 floats. The hot
/// functions have an AVX-512 path, an AVX2 path (16 floats as two 8-lane halves), a 128-bit path (NEON on ARM,
/// SSE on x64: four lanes) and a plain scalar one.
module internal Pointwise =

    let inline private vload (p: nativeptr<float32>) (i: int) = Vector512.Load(NativePtr.add p i)
    let inline private vstore (v: Vector512<float32>) (p: nativeptr<float32>) (i: int) = Vector512.Store(v, NativePtr.add p i)
    let inline private hload (p: nativeptr<float32>) (i: int) = Vector256.Load(NativePtr.add p i)
    let inline private hstore (v: Vector256<float32>) (p: nativeptr<float32>) (i: int) = Vector256.Store(v, NativePtr.add p i)
    let inline private qload (p: nativeptr<float32>) (i: int) = Vector128.Load(NativePtr.add p i)
    let inline private qstore (v: Vector128<float32>) (p: nativeptr<float32>) (i: int) = Vector128.Store(v, NativePtr.add p i)

    /// f and f' in place: pre ← f(pre), fprime ← f'(pre), for tanh and softplus (ReLU is fused into
    /// `eulerRelu`).
    let activation (act: Activation) (pre: Span<float32>) (fprime: Span<float32>) =
        match act with
        | ReLU -> invalidOp "ReLU is fused into the Euler step"
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

    /// Whether unit i was active ([p > 0], ReLU's f') in a row of bits, 16 units to a word.
    let inline private isActive (active: nativeptr<uint16>) (i: int) = (int (NativePtr.get active (i / 16)) >>> (i % 16)) &&& 1 = 1

    /// The ReLU Euler step with the noise update, fused, over B rows of `width` (the narrower paths
    /// over their whole vectors of the units):
    ///   p = pre + b + h + σ·η;  f = max(p, 0);  Δ = α ⊙ (f − r);  rOut = r + Δ
    ///   delta ← Δ (if delta ≠ null: only an anchor reads it)
    ///   active: one bit per unit, [p > 0] = f'(p), 16 units to a word (if active ≠ null)
    ///   η ← (decay·η + gain·ξ) ⊙ mask   (ξ unpadded, [B, units]; skipped when gain = 0)
    /// The vector paths take max(p, 0) as the processor's own maximum with p second: one instruction that returns p
    /// when p is NaN, as IEEE's maximum does. The two differ only at p = −0, which never occurs: the recurrent sum
    /// starts from +0, and a sum is −0 only when both its terms are.
    let eulerRelu (rows: int) (width: int) (units: int) (pre: nativeptr<float32>) (bias: nativeptr<float32>)
                  (h: nativeptr<float32>) (eta: nativeptr<float32>) (sigma: float32) (alpha: nativeptr<float32>)
                  (rIn: nativeptr<float32>) (rOut: nativeptr<float32>) (delta: nativeptr<float32>) (active: nativeptr<uint16>)
                  (xi: nativeptr<float32>) (decay: float32) (gain: float32) (mask: nativeptr<float32>) =
        let storeFp = not (NativePtr.isNullPtr active)
        let storeDelta = not (NativePtr.isNullPtr delta)
        let noisy = gain <> 0.0f
        // The narrower paths stop at their last vector with a real unit. The padded lanes past it are never written:
        // like every padded lane (α = 0, zero weights, masked noise) they stay zero, what the full row would give them.
        let lanes8 = Simd.wholeVectors units 8
        let lanes4 = Simd.wholeVectors units 4
        if Simd.hasAvx512 then
            let s = Vector512.Create sigma
            let dv = Vector512.Create decay
            let gv = Vector512.Create gain
            let zero = Vector512<float32>.Zero
            for b in 0 .. rows - 1 do
                let o = b * width
                let xiRow = NativePtr.add xi (b * units)
                let mutable j = 0
                while j < width do
                    let i = o + j
                    let e = vload eta i
                    let p = VectorField.preActivation (vload pre i) (vload bias j) (vload h i) s e
                    let f = Vector512.MaxNative(zero, p)
                    if storeFp then NativePtr.set active (i >>> 4) (uint16 (Vector512.ExtractMostSignificantBits(Vector512.GreaterThan(p, zero))))
                    let r = vload rIn i
                    let step = VectorField.increment (vload alpha j) f r
                    if storeDelta then vstore step delta i
                    vstore (r + step) rOut i
                    if noisy then
                        // Lanes past `units` read the next row's samples (or the slack) and are masked to zero.
                        let x = Vector512.Load(NativePtr.add xiRow j)
                        vstore (VectorField.noise dv e gv x * vload mask j) eta i
                    j <- j + 16
        elif Simd.hasAvx2 then
            let s = Vector256.Create sigma
            let dv = Vector256.Create decay
            let gv = Vector256.Create gain
            let zero = Vector256<float32>.Zero
            for b in 0 .. rows - 1 do
                let o = b * width
                let xiRow = NativePtr.add xi (b * units)
                let mutable j = 0
                while j < lanes8 do
                    let i = o + j
                    let e = hload eta i
                    let p = VectorField.preActivation (hload pre i) (hload bias j) (hload h i) s e
                    let f = Vector256.MaxNative(zero, p)
                    if storeFp then
                        let bits = Vector256.ExtractMostSignificantBits(Vector256.GreaterThan(p, zero))
                        // Units i..i+7 are the low byte of their word when i is a multiple of 16, the high byte otherwise.
                        let word = NativePtr.get active (i >>> 4)
                        NativePtr.set active (i >>> 4) (if i &&& 15 = 0 then uint16 bits else word ||| uint16 (bits <<< 8))
                    let r = hload rIn i
                    let step = VectorField.increment (hload alpha j) f r
                    if storeDelta then hstore step delta i
                    hstore (r + step) rOut i
                    if noisy then
                        let x = Vector256.Load(NativePtr.add xiRow j)
                        hstore (VectorField.noise dv e gv x * hload mask j) eta i
                    j <- j + 8
        elif Simd.has128 then
            let s = Vector128.Create sigma
            let dv = Vector128.Create decay
            let gv = Vector128.Create gain
            let zero = Vector128<float32>.Zero
            for b in 0 .. rows - 1 do
                let o = b * width
                let xiRow = NativePtr.add xi (b * units)
                let mutable j = 0
                while j < lanes4 do
                    let i = o + j
                    let e = qload eta i
                    let p = VectorField.preActivation (qload pre i) (qload bias j) (qload h i) s e
                    let f = Vector128.MaxNative(zero, p)
                    if storeFp then
                        let bits = Vector128.ExtractMostSignificantBits(Vector128.GreaterThan(p, zero))
                        // Units i..i+3 are bits i % 16 .. i % 16 + 3 of their word; the first quarter starts it.
                        let word = if i &&& 15 = 0 then 0us else NativePtr.get active (i >>> 4)
                        NativePtr.set active (i >>> 4) (word ||| uint16 (bits <<< (i &&& 15)))
                    let r = qload rIn i
                    let step = VectorField.increment (qload alpha j) f r
                    if storeDelta then qstore step delta i
                    qstore (r + step) rOut i
                    if noisy then
                        let x = Vector128.Load(NativePtr.add xiRow j)
                        qstore (VectorField.noise dv e gv x * qload mask j) eta i
                    j <- j + 4
        else
            for b in 0 .. rows - 1 do
                let o = b * width
                for j in 0 .. width - 1 do
                    let i = o + j
                    let e = NativePtr.get eta i
                    let p = VectorField.preActivation (NativePtr.get pre i) (NativePtr.get bias j) (NativePtr.get h i) sigma e
                    if storeFp then
                        let word = NativePtr.get active (i / 16)
                        let bit = uint16 (1 <<< (i % 16))
                        NativePtr.set active (i / 16) (if p > 0.0f then word ||| bit else word &&& ~~~bit)
                    let r = NativePtr.get rIn i
                    let step = VectorField.increment (NativePtr.get alpha j) (max p 0.0f) r
                    if storeDelta then NativePtr.set delta i step
                    NativePtr.set rOut i (r + step)
                    if noisy then
                        let x = if j < units then NativePtr.get xi (b * units + j) else 0.0f
                        NativePtr.set eta i (VectorField.noise decay e gain x * NativePtr.get mask j)

    /// pre ← pre + b + h + σ·η (the tanh/softplus path, before `activation`).
    let addInputs (rows: int) (width: int) (pre: nativeptr<float32>) (bias: nativeptr<float32>)
                  (h: nativeptr<float32>) (eta: nativeptr<float32>) (sigma: float32) =
        for b in 0 .. rows - 1 do
            let o = b * width
            for j in 0 .. width - 1 do
                let i = o + j
                NativePtr.set pre i (VectorField.preActivation (NativePtr.get pre i) (NativePtr.get bias j) (NativePtr.get h i) sigma (NativePtr.get eta i))

    /// The rest of the tanh/softplus Euler step: pre holds f(p); Δ = α ⊙ (f − r), rOut = r + Δ, and the noise.
    let eulerGeneral (rows: int) (width: int) (units: int) (f: nativeptr<float32>) (alpha: nativeptr<float32>)
                     (rIn: nativeptr<float32>) (rOut: nativeptr<float32>) (delta: nativeptr<float32>)
                     (eta: nativeptr<float32>) (xi: nativeptr<float32>) (decay: float32) (gain: float32) (mask: nativeptr<float32>) =
        for b in 0 .. rows - 1 do
            let o = b * width
            for j in 0 .. width - 1 do
                let i = o + j
                let r = NativePtr.get rIn i
                let step = VectorField.increment (NativePtr.get alpha j) (NativePtr.get f i) r
                NativePtr.set delta i step
                NativePtr.set rOut i (r + step)
                if gain <> 0.0f then
                    let x = if j < units then NativePtr.get xi (b * units + j) else 0.0f
                    NativePtr.set eta i (VectorField.noise decay (NativePtr.get eta i) gain x * NativePtr.get mask j)

    /// η ← (decay·η + gain·ξ) ⊙ mask on its own (the initial draw).
    let ornsteinUhlenbeck (rows: int) (units: int) (width: int) (eta: nativeptr<float32>) (xi: nativeptr<float32>)
                          (decay: float32) (gain: float32) (mask: nativeptr<float32>) =
        for b in 0 .. rows - 1 do
            for j in 0 .. width - 1 do
                let e = NativePtr.get eta (b * width + j)
                let x = if j < units then NativePtr.get xi (b * units + j) else 0.0f
                NativePtr.set eta (b * width + j) (VectorField.noise decay e gain x * NativePtr.get mask j)

    /// dst ← a·x + b·y over `count` floats (a multiple of 16).
    let combine (count: int) (a: float32) (x: nativeptr<float32>) (b: float32) (y: nativeptr<float32>) (dst: nativeptr<float32>) =
        if Simd.hasAvx512 then
            let av = Vector512.Create a
            let bv = Vector512.Create b
            let mutable i = 0
            while i < count do
                vstore (av * vload x i + bv * vload y i) dst i
                i <- i + 16
        elif Simd.hasAvx2 then
            let av = Vector256.Create a
            let bv = Vector256.Create b
            let mutable i = 0
            while i < count do
                hstore (av * hload x i + bv * hload y i) dst i
                i <- i + 8
        elif Simd.has128 then
            let av = Vector128.Create a
            let bv = Vector128.Create b
            let mutable i = 0
            while i < count do
                qstore (av * qload x i + bv * qload y i) dst i
                i <- i + 4
        else
            for i in 0 .. count - 1 do
                NativePtr.set dst i (a * NativePtr.get x i + b * NativePtr.get y i)

    /// dst ← dst + x over `count` floats.
    let accumulate (count: int) (x: nativeptr<float32>) (dst: nativeptr<float32>) =
        let mutable i = 0
        if Simd.hasAvx512 then
            while i + 16 <= count do
                vstore (vload dst i + vload x i) dst i
                i <- i + 16
        elif Simd.hasAvx2 then
            while i + 8 <= count do
                hstore (hload dst i + hload x i) dst i
                i <- i + 8
        elif Simd.has128 then
            while i + 4 <= count do
                qstore (qload dst i + qload x i) dst i
                i <- i + 4
        while i < count do
            NativePtr.set dst i (NativePtr.get dst i + NativePtr.get x i)
            i <- i + 1

    /// The recurrent block of the gradient over `count` floats, from the raw weights and ∂W (both in the
    /// parameters' order) with the weight regularizer's c·sign(raw):
    ///   g ← g + ∂W_raw + c·sign(raw),   ∂W_raw = ∂W·sign(raw) under Dale's law (W = ±|raw|: ∂W there already
    ///   carries its column's sign), ∂W otherwise.
    let recurrentGradient (count: int) (g: nativeptr<float32>) (raw: nativeptr<float32>) (dW: nativeptr<float32>)
                          (c: float32) (dale: bool) =
        let mutable i = 0
        if Simd.hasAvx512 then
            let cv = Vector512.Create c
            let one = Vector512<float32>.One
            let zero = Vector512<float32>.Zero
            while i + 16 <= count do
                let r = vload raw i
                let sign = Vector512.ConditionalSelect(Vector512.GreaterThan(r, zero), one, zero)
                           - Vector512.ConditionalSelect(Vector512.LessThan(r, zero), one, zero)
                let dRaw = if dale then vload dW i * sign else vload dW i
                vstore (vload g i + dRaw + cv * sign) g i
                i <- i + 16
        elif Simd.hasAvx2 then
            let cv = Vector256.Create c
            let one = Vector256<float32>.One
            let zero = Vector256<float32>.Zero
            while i + 8 <= count do
                let r = hload raw i
                let sign = Vector256.ConditionalSelect(Vector256.GreaterThan(r, zero), one, zero)
                           - Vector256.ConditionalSelect(Vector256.LessThan(r, zero), one, zero)
                let dRaw = if dale then hload dW i * sign else hload dW i
                hstore (hload g i + dRaw + cv * sign) g i
                i <- i + 8
        elif Simd.has128 then
            let cv = Vector128.Create c
            let one = Vector128<float32>.One
            let zero = Vector128<float32>.Zero
            while i + 4 <= count do
                let r = qload raw i
                let sign = Vector128.ConditionalSelect(Vector128.GreaterThan(r, zero), one, zero)
                           - Vector128.ConditionalSelect(Vector128.LessThan(r, zero), one, zero)
                let dRaw = if dale then qload dW i * sign else qload dW i
                qstore (qload g i + dRaw + cv * sign) g i
                i <- i + 4
        while i < count do
            let r = NativePtr.get raw i
            let sign = if r > 0.0f then 1.0f elif r < 0.0f then -1.0f else 0.0f
            let dRaw = if dale then NativePtr.get dW i * sign else NativePtr.get dW i
            NativePtr.set g i (NativePtr.get g i + dRaw + c * sign)
            i <- i + 1

    /// The adjoint of a recorded state before its readout term: adjoint = carry + c·sign(r), and the
    /// running Σ|r| and max |r| of the recorded states (for the activity regularizer and divergence).
    let stateAdjoint (count: int) (carry: nativeptr<float32>) (c: float32) (r: nativeptr<float32>)
                     (adjoint: nativeptr<float32>) (absSum: byref<float>) (peak: byref<float32>) =
        if Simd.hasAvx512 then
            let cv = Vector512.Create c
            let zero = Vector512<float32>.Zero
            let mutable sum = zero
            let mutable top = zero
            let mutable i = 0
            while i < count do
                let v = vload r i
                let sign = Vector512.ConditionalSelect(Vector512.GreaterThan(v, zero), cv, zero)
                           - Vector512.ConditionalSelect(Vector512.LessThan(v, zero), cv, zero)
                vstore (vload carry i + sign) adjoint i
                let a = Vector512.Abs v
                sum <- sum + a
                top <- Vector512.Max(top, a)
                i <- i + 16
            absSum <- absSum + float (Vector512.Sum sum)
            for k in 0 .. 15 do peak <- max peak (top.GetElement k)
        elif Simd.hasAvx2 then
            let cv = Vector256.Create c
            let zero = Vector256<float32>.Zero
            let mutable sum = zero
            let mutable top = zero
            let mutable i = 0
            while i < count do
                let v = hload r i
                let sign = Vector256.ConditionalSelect(Vector256.GreaterThan(v, zero), cv, zero)
                           - Vector256.ConditionalSelect(Vector256.LessThan(v, zero), cv, zero)
                hstore (hload carry i + sign) adjoint i
                let a = Vector256.Abs v
                sum <- sum + a
                top <- Vector256.Max(top, a)
                i <- i + 8
            absSum <- absSum + float (Vector256.Sum sum)
            for k in 0 .. 7 do peak <- max peak (top.GetElement k)
        elif Simd.has128 then
            let cv = Vector128.Create c
            let zero = Vector128<float32>.Zero
            let mutable sum = zero
            let mutable top = zero
            let mutable i = 0
            while i < count do
                let v = qload r i
                let sign = Vector128.ConditionalSelect(Vector128.GreaterThan(v, zero), cv, zero)
                           - Vector128.ConditionalSelect(Vector128.LessThan(v, zero), cv, zero)
                qstore (qload carry i + sign) adjoint i
                let a = Vector128.Abs v
                sum <- sum + a
                top <- Vector128.Max(top, a)
                i <- i + 4
            absSum <- absSum + float (Vector128.Sum sum)
            for k in 0 .. 3 do peak <- max peak (top.GetElement k)
        else
            for i in 0 .. count - 1 do
                let v = NativePtr.get r i
                let sign = if v > 0.0f then c elif v < 0.0f then -c else 0.0f
                NativePtr.set adjoint i (NativePtr.get carry i + sign)
                absSum <- absSum + float (abs v)
                peak <- max peak (abs v)

    let private laneBits = Vector512.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u, 512u, 1024u, 2048u, 4096u, 8192u, 16384u, 32768u)

    /// f'(p) of 16 units as a float mask (all ones where the unit was active) from their word of bits.
    let inline private activeLanes (word: uint16) =
        Vector512.Equals(Vector512.Create(uint32 word) &&& laneBits, laneBits).AsSingle()

    let private halfLaneBits = Vector256.Create(1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u)

    /// The same for 8 units from their byte of bits.
    let inline private activeHalfLanes (bits: uint32) =
        Vector256.Equals(Vector256.Create bits &&& halfLaneBits, halfLaneBits).AsSingle()

    let private quarterLaneBits = Vector128.Create(1u, 2u, 4u, 8u)

    /// The same for 4 units from their four bits.
    let inline private activeQuarterLanes (bits: uint32) =
        Vector128.Equals(Vector128.Create bits &&& quarterLaneBits, quarterLaneBits).AsSingle()

    /// The ReLU backward Euler step without anchors, fused, over B rows of `width` (the narrower paths over
    /// their whole vectors of the units):
    /// δ = g ⊙ α ⊙ f' (f' from the active bits), carry = g ⊙ (1 − α), and δ summed into its input segment's
    /// accumulator.
    let eulerBackwardRelu (rows: int) (width: int) (units: int) (g: nativeptr<float32>) (alpha: nativeptr<float32>)
                          (active: nativeptr<uint16>) (delta: nativeptr<float32>) (carry: nativeptr<float32>) (segmentSum: nativeptr<float32>) =
        let lanes8 = Simd.wholeVectors units 8
        let lanes4 = Simd.wholeVectors units 4
        if Simd.hasAvx512 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let i = b * width + j
                    let gv = vload g i
                    let a = vload alpha j
                    // VectorField.incrementAdjoint with f' ∈ {0, 1}: a mask instead of a product.
                    let d = (gv * a) &&& activeLanes (NativePtr.get active (i / 16))
                    vstore d delta i
                    vstore (VectorField.stateAdjoint gv a gv) carry i
                    vstore (vload segmentSum i + d) segmentSum i
                    j <- j + 16
        elif Simd.hasAvx2 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < lanes8 do
                    let i = b * width + j
                    let gv = hload g i
                    let a = hload alpha j
                    let bits = (uint32 (NativePtr.get active (i / 16)) >>> (i % 16)) &&& 0xFFu
                    let d = (gv * a) &&& activeHalfLanes bits
                    hstore d delta i
                    hstore (VectorField.stateAdjoint gv a gv) carry i
                    hstore (hload segmentSum i + d) segmentSum i
                    j <- j + 8
        elif Simd.has128 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < lanes4 do
                    let i = b * width + j
                    let gv = qload g i
                    let a = qload alpha j
                    let bits = (uint32 (NativePtr.get active (i / 16)) >>> (i % 16)) &&& 0xFu
                    let d = (gv * a) &&& activeQuarterLanes bits
                    qstore d delta i
                    qstore (VectorField.stateAdjoint gv a gv) carry i
                    qstore (qload segmentSum i + d) segmentSum i
                    j <- j + 4
        else
            for b in 0 .. rows - 1 do
                for j in 0 .. width - 1 do
                    let i = b * width + j
                    let gv = NativePtr.get g i
                    let a = NativePtr.get alpha j
                    let d = if isActive active i then gv * a else 0.0f
                    NativePtr.set delta i d
                    NativePtr.set carry i (VectorField.stateAdjoint gv a gv)
                    NativePtr.set segmentSum i (NativePtr.get segmentSum i + d)

    /// f' as floats from the active bits (for the rarer steps with anchors).
    let expandActive (count: int) (active: nativeptr<uint16>) (fprime: nativeptr<float32>) =
        for i in 0 .. count - 1 do
            NativePtr.set fprime i (if isActive active i then 1.0f else 0.0f)

    /// The backward Euler step without anchors for tanh and softplus: δ = g ⊙ α ⊙ f', carry = g ⊙ (1 − α), and δ
    /// summed into its input segment's accumulator.
    let eulerBackward (rows: int) (width: int) (g: nativeptr<float32>) (alpha: nativeptr<float32>)
                      (fprime: nativeptr<float32>) (delta: nativeptr<float32>) (carry: nativeptr<float32>) (segmentSum: nativeptr<float32>) =
        if Simd.hasAvx512 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let i = b * width + j
                    let gv = vload g i
                    let a = vload alpha j
                    let d = VectorField.incrementAdjoint gv a (vload fprime i)
                    vstore d delta i
                    vstore (VectorField.stateAdjoint gv a gv) carry i
                    vstore (vload segmentSum i + d) segmentSum i
                    j <- j + 16
        elif Simd.hasAvx2 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let i = b * width + j
                    let gv = hload g i
                    let a = hload alpha j
                    let d = VectorField.incrementAdjoint gv a (hload fprime i)
                    hstore d delta i
                    hstore (VectorField.stateAdjoint gv a gv) carry i
                    hstore (hload segmentSum i + d) segmentSum i
                    j <- j + 8
        elif Simd.has128 then
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < width do
                    let i = b * width + j
                    let gv = qload g i
                    let a = qload alpha j
                    let d = VectorField.incrementAdjoint gv a (qload fprime i)
                    qstore d delta i
                    qstore (VectorField.stateAdjoint gv a gv) carry i
                    qstore (qload segmentSum i + d) segmentSum i
                    j <- j + 4
        else
            for b in 0 .. rows - 1 do
                for j in 0 .. width - 1 do
                    let i = b * width + j
                    let gv = NativePtr.get g i
                    let a = NativePtr.get alpha j
                    let d = VectorField.incrementAdjoint gv a (NativePtr.get fprime i)
                    NativePtr.set delta i d
                    NativePtr.set carry i (VectorField.stateAdjoint gv a gv)
                    NativePtr.set segmentSum i (NativePtr.get segmentSum i + d)

    /// The backward Euler step with anchors at this step: δ = gΔ ⊙ α ⊙ f', carry = gId − α ⊙ gΔ.
    let eulerBackwardAnchored (rows: int) (width: int) (gDelta: nativeptr<float32>) (gId: nativeptr<float32>)
                              (alpha: nativeptr<float32>) (fprime: nativeptr<float32>) (delta: nativeptr<float32>)
                              (carry: nativeptr<float32>) (segmentSum: nativeptr<float32>) =
        for b in 0 .. rows - 1 do
            for j in 0 .. width - 1 do
                let i = b * width + j
                let gd = NativePtr.get gDelta i
                let a = NativePtr.get alpha j
                let d = VectorField.incrementAdjoint gd a (NativePtr.get fprime i)
                NativePtr.set delta i d
                NativePtr.set carry i (VectorField.stateAdjoint (NativePtr.get gId i) a gd)
                NativePtr.set segmentSum i (NativePtr.get segmentSum i + d)

    /// The readouts y = 1/(1 + e^−z) in place on the first `outputs` columns of `rows` rows of `width` (padded)
    /// columns. Whole vectors of real outputs go row by row; a last vector with at most 4 real outputs (the ring
    /// tasks' 33rd, a step scored for fixation alone) would spend most of its exponentials on padding, so those
    /// of four rows share one vector, and the row's other lanes get ½, the y of a padding column's z = 0. Lane by
    /// lane the arithmetic is the same either way, and the same as TensorPrimitives.Sigmoid's.
    let sigmoidRows (rows: int) (outputs: int) (width: int) (z: nativeptr<float32>) =
        if Simd.hasAvx512 then
            let one = Vector512<float32>.One
            let inline sigmoid (x: Vector512<float32>) = one / (one + Vector512.Exp(-x))
            let rest = outputs % 16
            let whole = if rest > 4 then outputs + 16 - rest else outputs - rest
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < whole do
                    let i = b * width + j
                    vstore (sigmoid (vload z i)) z i
                    j <- j + 16
            if whole < outputs then
                let half = Vector128.Create 0.5f
                let halfRow = Vector256.Create 0.5f
                let mutable b = 0
                while b < rows do
                    let inline quarter (r: int) = if b + r < rows then Vector128.Load(NativePtr.add z ((b + r) * width + whole)) else half
                    let y = sigmoid (Vector512.Create(Vector256.Create(quarter 0, quarter 1), Vector256.Create(quarter 2, quarter 3)))
                    let inline store (r: int) (q: Vector128<float32>) =
                        if b + r < rows then vstore (Vector512.Create(Vector256.Create(q, half), halfRow)) z ((b + r) * width + whole)
                    store 0 (y.GetLower().GetLower())
                    store 1 (y.GetLower().GetUpper())
                    store 2 (y.GetUpper().GetLower())
                    store 3 (y.GetUpper().GetUpper())
                    b <- b + 4
        elif Simd.hasAvx2 then
            let one = Vector256<float32>.One
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < outputs do
                    let i = b * width + j
                    hstore (one / (one + Vector256.Exp(-(hload z i)))) z i
                    j <- j + 8
        elif Simd.has128 then
            let one = Vector128<float32>.One
            for b in 0 .. rows - 1 do
                let mutable j = 0
                while j < outputs do
                    let i = b * width + j
                    qstore (one / (one + Vector128.Exp(-(qload z i)))) z i
                    j <- j + 4
        else
            for b in 0 .. rows - 1 do
                for j in 0 .. outputs - 1 do
                    let i = b * width + j
                    NativePtr.set z i (1.0f / (1.0f + MathF.Exp(-(NativePtr.get z i))))

    /// Squared error of one row of sigmoid readouts: y → dL/dz in place over `width` (padded) columns of `row`, of
    /// which the first `outputs` are real and hold y (`sigmoidRows`); returns w·Σ (y − target)². The padding columns
    /// count as z = 0 (y = ½). `target` holds the row's `outputs` targets and must be readable for `width` floats (the lanes past
    /// `outputs` are ignored).
    let sigmoidSquaredErrorRow (row: nativeptr<float32>) (target: nativeptr<float32>) (w: float32) (outputs: int) (width: int) =
        let mutable loss = 0.0f
        if Simd.hasAvx512 then
            let one = Vector512<float32>.One
            let half = Vector512.Create 0.5f
            let twoW = Vector512.Create(2.0f * w)
            let mutable acc = Vector512<float32>.Zero
            let mutable j = 0
            while j < width do
                let lane = Vector512.Create(float32 j) + Vector512.Create(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f, 10.0f, 11.0f, 12.0f, 13.0f, 14.0f, 15.0f)
                let real = Vector512.LessThan(lane, Vector512.Create(float32 outputs))
                let y = Vector512.ConditionalSelect(real, vload row j, half)
                let d = Vector512.ConditionalSelect(real, y - Vector512.Load(NativePtr.add target j), Vector512<float32>.Zero)
                acc <- acc + d * d
                vstore (Loss.sigmoidSlope twoW d y one) row j
                j <- j + 16
            loss <- w * Vector512.Sum acc
        elif Simd.hasAvx2 then
            let one = Vector256<float32>.One
            let half = Vector256.Create 0.5f
            let twoW = Vector256.Create(2.0f * w)
            let mutable acc = Vector256<float32>.Zero
            let mutable j = 0
            while j < width do
                let lane = Vector256.Create(float32 j) + Vector256.Create(0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f)
                let real = Vector256.LessThan(lane, Vector256.Create(float32 outputs))
                let y = Vector256.ConditionalSelect(real, hload row j, half)
                let d = Vector256.ConditionalSelect(real, y - Vector256.Load(NativePtr.add target j), Vector256<float32>.Zero)
                acc <- acc + d * d
                hstore (Loss.sigmoidSlope twoW d y one) row j
                j <- j + 8
            loss <- w * Vector256.Sum acc
        elif Simd.has128 then
            let one = Vector128<float32>.One
            let half = Vector128.Create 0.5f
            let twoW = Vector128.Create(2.0f * w)
            let mutable acc = Vector128<float32>.Zero
            let mutable j = 0
            while j < width do
                let lane = Vector128.Create(float32 j) + Vector128.Create(0.0f, 1.0f, 2.0f, 3.0f)
                let real = Vector128.LessThan(lane, Vector128.Create(float32 outputs))
                let y = Vector128.ConditionalSelect(real, qload row j, half)
                let d = Vector128.ConditionalSelect(real, y - Vector128.Load(NativePtr.add target j), Vector128<float32>.Zero)
                acc <- acc + d * d
                qstore (Loss.sigmoidSlope twoW d y one) row j
                j <- j + 4
            loss <- w * Vector128.Sum acc
        else
            for j in 0 .. width - 1 do
                if j < outputs then
                    let yj = NativePtr.get row j
                    let d = yj - NativePtr.get target j
                    loss <- loss + w * d * d
                    NativePtr.set row j (Loss.sigmoidSlope (2.0f * w) d yj 1.0f)
                else NativePtr.set row j 0.0f
        loss
