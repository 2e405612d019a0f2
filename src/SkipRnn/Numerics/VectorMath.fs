namespace SkipRnn.Numerics

open System.Runtime.CompilerServices
open System.Runtime.Intrinsics

/// The two transcendental functions the Box–Muller transform needs, on 16 lanes (and on 8 for AVX2), specialised to its
/// arguments (the library's general-purpose versions handle every input and cost several times more).
/// Both are accurate to a few units in the last place of float32 (tests compare them with the scalar
/// library functions).
/// Every one is inlined into the noise fill (AggressiveInlining): called, each passes its vectors through memory; the
/// runtime inlined them only in some of its compilations. Forced, the fill alone ran 5 % faster, and an evaluation 3 %
/// (scripts/ab-speed.sh, AVX-512).
module VectorMath =

    let private mantissaMask = Vector512.Create 0x007FFFFFu
    let private one = Vector512.Create 0x3F800000u

    /// ln x for x in (0, ∞), finite and normal (Cephes' logf: x = 2^e·m with m in [√½, √2),
    /// ln(1 + f) = f − f²/2 + f³·P(f)).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let log (x: Vector512<float32>) =
        let bits = x.AsUInt32()
        let exponent = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(bits, 23).AsInt32() - Vector512.Create 127)
        let mantissa = ((bits &&& mantissaMask) ||| one).AsSingle()            // [1, 2)
        let big = Vector512.GreaterThan(mantissa, Vector512.Create 1.41421356f)
        let m = Vector512.ConditionalSelect(big, mantissa * Vector512.Create 0.5f, mantissa)
        let e = Vector512.ConditionalSelect(big, exponent + Vector512<float32>.One, exponent)
        let f = m - Vector512<float32>.One
        let z = f * f
        let mutable p = Vector512.Create 7.0376836292E-2f
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create -1.1514610310E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create 1.1676998740E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create -1.2420140846E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create 1.4249322787E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create -1.6668057665E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create 2.0000714765E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create -2.4999993993E-1f)
        p <- Vector512.FusedMultiplyAdd(p, f, Vector512.Create 3.3333331174E-1f)
        let y = f * z * p + e * Vector512.Create -2.12194440E-4f - Vector512.Create 0.5f * z
        f + y + e * Vector512.Create 0.693359375f

    /// (sin 2πt, cos 2πt) for t in [0, 1) (a number of turns): t is reduced to a quadrant q and a remainder
    /// x in [−π/4, π/4], where Cephes' minimax polynomials for sinf and cosf apply.
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let sinCosTurns (t: Vector512<float32>) =
        let q = Vector512.Round(t * Vector512.Create 4.0f)
        let x = (t - q * Vector512.Create 0.25f) * Vector512.Create 6.28318530718f
        let z = x * x
        let mutable s = Vector512.Create -1.9515295891E-4f
        s <- Vector512.FusedMultiplyAdd(s, z, Vector512.Create 8.3321608736E-3f)
        s <- Vector512.FusedMultiplyAdd(s, z, Vector512.Create -1.6666654611E-1f)
        let sinX = Vector512.FusedMultiplyAdd(s * z, x, x)
        let mutable c = Vector512.Create 2.443315711809948E-5f
        c <- Vector512.FusedMultiplyAdd(c, z, Vector512.Create -1.388731625493765E-3f)
        c <- Vector512.FusedMultiplyAdd(c, z, Vector512.Create 4.166664568298827E-2f)
        let cosX = Vector512.FusedMultiplyAdd(c * z, z, Vector512<float32>.One - Vector512.Create 0.5f * z)
        // sin(qπ/2 + x), cos(qπ/2 + x): odd quadrants swap the two; quadrants 2 and 3 negate the sine,
        // quadrants 1 and 2 the cosine. q is a whole number in [0, 4], so the plain conversion is exact, and the
        // masks come from its bits by shifts: bit 0 spread over the lane selects, bit 1 moved to the sign flips.
        let qi = Vector512.ConvertToInt32Native q
        let swap = Vector512.ShiftRightArithmetic(Vector512.ShiftLeft(qi, 31), 31).AsSingle()
        let s1 = Vector512.ConditionalSelect(swap, cosX, sinX)
        let c1 = Vector512.ConditionalSelect(swap, sinX, cosX)
        let two = Vector512.Create 2
        let negateSin = Vector512.ShiftLeft(qi &&& two, 30).AsSingle()
        let negateCos = Vector512.ShiftLeft((qi + Vector512<int>.One) &&& two, 30).AsSingle()
        struct (s1 ^^^ negateSin, c1 ^^^ negateCos)

    let private mantissaMask8 = Vector256.Create 0x007FFFFFu
    let private one8 = Vector256.Create 0x3F800000u

    /// `log` on 8 lanes (AVX2).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let log8 (x: Vector256<float32>) =
        let bits = x.AsUInt32()
        let exponent = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(bits, 23).AsInt32() - Vector256.Create 127)
        let mantissa = ((bits &&& mantissaMask8) ||| one8).AsSingle()
        let big = Vector256.GreaterThan(mantissa, Vector256.Create 1.41421356f)
        let m = Vector256.ConditionalSelect(big, mantissa * Vector256.Create 0.5f, mantissa)
        let e = Vector256.ConditionalSelect(big, exponent + Vector256<float32>.One, exponent)
        let f = m - Vector256<float32>.One
        let z = f * f
        let mutable p = Vector256.Create 7.0376836292E-2f
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create -1.1514610310E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create 1.1676998740E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create -1.2420140846E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create 1.4249322787E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create -1.6668057665E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create 2.0000714765E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create -2.4999993993E-1f)
        p <- Vector256.FusedMultiplyAdd(p, f, Vector256.Create 3.3333331174E-1f)
        let y = f * z * p + e * Vector256.Create -2.12194440E-4f - Vector256.Create 0.5f * z
        f + y + e * Vector256.Create 0.693359375f

    /// `sinCosTurns` on 8 lanes (AVX2).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let sinCosTurns8 (t: Vector256<float32>) =
        let q = Vector256.Round(t * Vector256.Create 4.0f)
        let x = (t - q * Vector256.Create 0.25f) * Vector256.Create 6.28318530718f
        let z = x * x
        let mutable s = Vector256.Create -1.9515295891E-4f
        s <- Vector256.FusedMultiplyAdd(s, z, Vector256.Create 8.3321608736E-3f)
        s <- Vector256.FusedMultiplyAdd(s, z, Vector256.Create -1.6666654611E-1f)
        let sinX = Vector256.FusedMultiplyAdd(s * z, x, x)
        let mutable c = Vector256.Create 2.443315711809948E-5f
        c <- Vector256.FusedMultiplyAdd(c, z, Vector256.Create -1.388731625493765E-3f)
        c <- Vector256.FusedMultiplyAdd(c, z, Vector256.Create 4.166664568298827E-2f)
        let cosX = Vector256.FusedMultiplyAdd(c * z, z, Vector256<float32>.One - Vector256.Create 0.5f * z)
        let qi = Vector256.ConvertToInt32Native q
        let swap = Vector256.ShiftRightArithmetic(Vector256.ShiftLeft(qi, 31), 31).AsSingle()
        let s1 = Vector256.ConditionalSelect(swap, cosX, sinX)
        let c1 = Vector256.ConditionalSelect(swap, sinX, cosX)
        let two = Vector256.Create 2
        let negateSin = Vector256.ShiftLeft(qi &&& two, 30).AsSingle()
        let negateCos = Vector256.ShiftLeft((qi + Vector256<int>.One) &&& two, 30).AsSingle()
        struct (s1 ^^^ negateSin, c1 ^^^ negateCos)

    let private mantissaMask4 = Vector128.Create 0x007FFFFFu
    let private one4 = Vector128.Create 0x3F800000u

    /// `log` on 4 lanes (NEON, SSE; multiply-adds fused where the processor has them).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let log4 (x: Vector128<float32>) =
        let bits = x.AsUInt32()
        let exponent = Vector128.ConvertToSingle(Vector128.ShiftRightLogical(bits, 23).AsInt32() - Vector128.Create 127)
        let mantissa = ((bits &&& mantissaMask4) ||| one4).AsSingle()
        let big = Vector128.GreaterThan(mantissa, Vector128.Create 1.41421356f)
        let m = Vector128.ConditionalSelect(big, mantissa * Vector128.Create 0.5f, mantissa)
        let e = Vector128.ConditionalSelect(big, exponent + Vector128<float32>.One, exponent)
        let f = m - Vector128<float32>.One
        let z = f * f
        let mutable p = Vector128.Create 7.0376836292E-2f
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create -1.1514610310E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create 1.1676998740E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create -1.2420140846E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create 1.4249322787E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create -1.6668057665E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create 2.0000714765E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create -2.4999993993E-1f)
        p <- Vector128.MultiplyAddEstimate(p, f, Vector128.Create 3.3333331174E-1f)
        let y = f * z * p + e * Vector128.Create -2.12194440E-4f - Vector128.Create 0.5f * z
        f + y + e * Vector128.Create 0.693359375f

    /// `sinCosTurns` on 4 lanes (NEON, SSE; multiply-adds fused where the processor has them).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let sinCosTurns4 (t: Vector128<float32>) =
        let q = Vector128.Round(t * Vector128.Create 4.0f)
        let x = (t - q * Vector128.Create 0.25f) * Vector128.Create 6.28318530718f
        let z = x * x
        let mutable s = Vector128.Create -1.9515295891E-4f
        s <- Vector128.MultiplyAddEstimate(s, z, Vector128.Create 8.3321608736E-3f)
        s <- Vector128.MultiplyAddEstimate(s, z, Vector128.Create -1.6666654611E-1f)
        let sinX = Vector128.MultiplyAddEstimate(s * z, x, x)
        let mutable c = Vector128.Create 2.443315711809948E-5f
        c <- Vector128.MultiplyAddEstimate(c, z, Vector128.Create -1.388731625493765E-3f)
        c <- Vector128.MultiplyAddEstimate(c, z, Vector128.Create 4.166664568298827E-2f)
        let cosX = Vector128.MultiplyAddEstimate(c * z, z, Vector128<float32>.One - Vector128.Create 0.5f * z)
        let qi = Vector128.ConvertToInt32Native q
        let swap = Vector128.ShiftRightArithmetic(Vector128.ShiftLeft(qi, 31), 31).AsSingle()
        let s1 = Vector128.ConditionalSelect(swap, cosX, sinX)
        let c1 = Vector128.ConditionalSelect(swap, sinX, cosX)
        let two = Vector128.Create 2
        let negateSin = Vector128.ShiftLeft(qi &&& two, 30).AsSingle()
        let negateCos = Vector128.ShiftLeft((qi + Vector128<int>.One) &&& two, 30).AsSingle()
        struct (s1 ^^^ negateSin, c1 ^^^ negateCos)
