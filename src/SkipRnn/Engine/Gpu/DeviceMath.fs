namespace SkipRnn.Engine.Gpu

open System
open ILGPU

/// Scalar arithmetic for the kernels, written with +, −, ×, ÷, √, floor and bit operations only. The CUDA
/// backend of ILGPU turns MathF.Exp/Log/Sin/Cos into calls to NVIDIA's libdevice, which ships with the CUDA
/// toolkit and not with the driver; a machine that has only the driver could not compile them. These
/// versions compile everywhere and are the same code on the CPU and CUDA accelerators.
module internal DeviceMath =

    /// ln x for finite, normal x > 0: the polynomial of VectorMath.log (Cephes' logf), one lane.
    let log (x: float32) =
        let bits = Interop.FloatAsInt x
        let exponent = float32 (int (bits >>> 23) - 127)
        let mantissa = Interop.IntAsFloat((bits &&& 0x007FFFFFu) ||| 0x3F800000u)
        let big = mantissa > 1.41421356f
        let m = if big then mantissa * 0.5f else mantissa
        let e = if big then exponent + 1.0f else exponent
        let f = m - 1.0f
        let z = f * f
        let mutable p = 7.0376836292E-2f
        p <- p * f + -1.1514610310E-1f
        p <- p * f + 1.1676998740E-1f
        p <- p * f + -1.2420140846E-1f
        p <- p * f + 1.4249322787E-1f
        p <- p * f + -1.6668057665E-1f
        p <- p * f + 2.0000714765E-1f
        p <- p * f + -2.4999993993E-1f
        p <- p * f + 3.3333331174E-1f
        let y = f * z * p + e * -2.12194440E-4f - 0.5f * z
        f + y + e * 0.693359375f

    /// e^x (Cephes' expf), with x clamped to [−87, 88] so that 2^n stays a normal float.
    let exp (x: float32) =
        let x = if x > 88.0f then 88.0f elif x < -87.0f then -87.0f else x
        let n = MathF.Floor(x * 1.44269504088896341f + 0.5f)
        let g = x - n * 0.693359375f + n * 2.12194440E-4f
        let z = g * g
        let mutable p = 1.9875691500E-4f
        p <- p * g + 1.3981999507E-3f
        p <- p * g + 8.3334519073E-3f
        p <- p * g + 4.1665795894E-2f
        p <- p * g + 1.6666665459E-1f
        p <- p * g + 5.0000001201E-1f
        let y = p * z + g + 1.0f
        y * Interop.IntAsFloat(uint32 (int n + 127) <<< 23)

    let sigmoid (x: float32) = 1.0f / (1.0f + exp -x)

    /// tanh x = 1 − 2/(e^{2x} + 1).
    let tanh (x: float32) = 1.0f - 2.0f / (exp (2.0f * x) + 1.0f)

    /// sin 2πt (wantSine) or cos 2πt for t in [0, 1), a number of turns: the reduction and polynomials of
    /// VectorMath.sinCosTurns, one lane (the quadrant is t·4 rounded half to even, as Vector512.Round does).
    let sinCosTurns (t: float32) (wantSine: bool) =
        let s4 = t * 4.0f
        let q0 = int s4
        let fraction = s4 - float32 q0
        let q = if fraction > 0.5f || (fraction = 0.5f && (q0 &&& 1) = 1) then q0 + 1 else q0
        let x = (t - float32 q * 0.25f) * 6.28318530718f
        let z = x * x
        let mutable s = -1.9515295891E-4f
        s <- s * z + 8.3321608736E-3f
        s <- s * z + -1.6666654611E-1f
        let sinX = s * z * x + x
        let mutable c = 2.443315711809948E-5f
        c <- c * z + -1.388731625493765E-3f
        c <- c * z + 4.166664568298827E-2f
        let cosX = c * z * z + (1.0f - 0.5f * z)
        // sin(qπ/2 + x), cos(qπ/2 + x): odd quadrants swap the two; quadrants 2 and 3 negate the sine,
        // quadrants 1 and 2 the cosine.
        let swap = (q &&& 1) = 1
        if wantSine then
            let v = if swap then cosX else sinX
            if (q &&& 2) = 2 then -v else v
        else
            let v = if swap then sinX else cosX
            if ((q + 1) &&& 2) = 2 then -v else v

    let inline private rotl (x: uint32) (r: int) = (x <<< r) ||| (x >>> (32 - r))

    /// The standard normal sample at position `index` of row `row` (of `count` samples) of stream `stream`:
    /// Threefry-2x32-20 on the counter (stream, row·P + j) and Box–Muller, pair j giving samples j (cosine)
    /// and j + P (sine), P = ⌈count/2⌉ — the numbers of Normal.sample and Normal.fillRow.
    let normal (key0: uint32) (key1: uint32) (stream: uint32) (row: int) (count: int) (index: int) =
        let pairs = (count + 1) / 2
        let isCosine = index < pairs
        let j = if isCosine then index else index - pairs
        let key2 = 0x1BD11BDAu ^^^ key0 ^^^ key1
        let mutable x0 = stream + key0
        let mutable x1 = uint32 row * uint32 pairs + uint32 j + key1
        // Rounds 0–3, then key injection 1.
        x0 <- x0 + x1; x1 <- rotl x1 13 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 15 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 26 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 6 ^^^ x0
        x0 <- x0 + key1; x1 <- x1 + key2 + 1u
        // Rounds 4–7, injection 2.
        x0 <- x0 + x1; x1 <- rotl x1 17 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 29 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 16 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 24 ^^^ x0
        x0 <- x0 + key2; x1 <- x1 + key0 + 2u
        // Rounds 8–11, injection 3.
        x0 <- x0 + x1; x1 <- rotl x1 13 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 15 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 26 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 6 ^^^ x0
        x0 <- x0 + key0; x1 <- x1 + key1 + 3u
        // Rounds 12–15, injection 4.
        x0 <- x0 + x1; x1 <- rotl x1 17 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 29 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 16 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 24 ^^^ x0
        x0 <- x0 + key1; x1 <- x1 + key2 + 4u
        // Rounds 16–19, injection 5.
        x0 <- x0 + x1; x1 <- rotl x1 13 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 15 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 26 ^^^ x0
        x0 <- x0 + x1; x1 <- rotl x1 6 ^^^ x0
        x0 <- x0 + key2; x1 <- x1 + key0 + 5u
        let u1 = float32 ((x0 >>> 8) + 1u) * (1.0f / 16777216.0f)
        let u2 = float32 (x1 >>> 8) * (1.0f / 16777216.0f)
        MathF.Sqrt(-2.0f * log u1) * sinCosTurns u2 (not isCosine)

    /// True when x is neither infinite nor NaN (on the bits: compilers may fold x − x to 0).
    let isFinite (x: float32) = (Interop.FloatAsInt x &&& 0x7F800000u) <> 0x7F800000u
