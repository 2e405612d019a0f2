module SkipRnn.Tests.NumericsTests

open System
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop
open Expecto
open FsCheck
open SkipRnn.Numerics

#nowarn "9"

[<Tests>]
let threefryTests =
    testList "threefry" [
        // Known-answer vectors of Random123 (kat_vectors): counter, key → output.
        for (c0, c1, k0, k1, e0, e1) in
            [ 0u, 0u, 0u, 0u, 0x6b200159u, 0x99ba4efeu
              0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x1cb996fcu, 0xbb002be7u
              0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xc4923a9cu, 0x483df7a0u ] do
            testCase (sprintf "known answer for counter %08x %08x" c0 c1) <| fun () ->
                let struct (a, b) = Threefry.block k0 k1 c0 c1
                Expect.equal (a, b) (e0, e1) "Random123 known-answer vector"

        testCase "four interleaved 16-lane blocks give the scalar blocks" <| fun () ->
            if not Simd.hasAvx512 then skiptest "this processor lacks AVX-512, which this kernel needs"
            let start = 0xffffffe0u   // lanes wrap around 2^32
            let ctr = Vector512.Create(start) + Vector512.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u)
            let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block64 9u 8u 7u ctr
            let groups = [ a0, a1; b0, b1; c0, c1; d0, d1 ]
            for g in 0 .. 3 do
                let x, y = groups[g]
                for lane in 0 .. 15 do
                    let struct (ex, ey) = Threefry.block 9u 8u 7u (start + uint32 (16 * g + lane))
                    Expect.equal (x.GetElement lane, y.GetElement lane) (ex, ey) (sprintf "group %d lane %d" g lane)

        testCase "four interleaved 8-lane blocks (AVX2) give the scalar blocks" <| fun () ->
            if not Simd.hasAvx2 then skiptest "this processor lacks AVX2 with FMA, which this kernel needs"
            let start = 0xfffffff0u   // lanes wrap around 2^32
            let ctr = Vector256.Create(start) + Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u)
            let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block32 9u 8u 7u ctr
            let groups = [ a0, a1; b0, b1; c0, c1; d0, d1 ]
            for g in 0 .. 3 do
                let x, y = groups[g]
                for lane in 0 .. 7 do
                    let struct (ex, ey) = Threefry.block 9u 8u 7u (start + uint32 (8 * g + lane))
                    Expect.equal (x.GetElement lane, y.GetElement lane) (ex, ey) (sprintf "group %d lane %d" g lane)

        testCase "four interleaved 4-lane blocks (128-bit) give the scalar blocks" <| fun () ->
            if not Vector128.IsHardwareAccelerated then skiptest "this processor lacks 128-bit vectors, which this kernel needs"
            let start = 0xfffffff8u   // lanes wrap around 2^32
            let ctr = Vector128.Create(start) + Vector128.Create(0u, 1u, 2u, 3u)
            let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block4x4 9u 8u 7u ctr
            let groups = [ a0, a1; b0, b1; c0, c1; d0, d1 ]
            for g in 0 .. 3 do
                let x, y = groups[g]
                for lane in 0 .. 3 do
                    let struct (ex, ey) = Threefry.block 9u 8u 7u (start + uint32 (4 * g + lane))
                    Expect.equal (x.GetElement lane, y.GetElement lane) (ex, ey) (sprintf "group %d lane %d" g lane)

    ]

[<Tests>]
let vectorMathTests =
    testList "vector math" [
        testCase "8-lane log (AVX2) agrees with Math.Log" <| fun () ->
            if not Simd.hasAvx2 then skiptest "this processor lacks AVX2 with FMA, which this kernel needs"
            let rng = Random(2)
            for _ in 1 .. 2000 do
                let xs = Array.init 8 (fun i -> if i = 0 then float32 (2.0 ** -24.0) else float32 (Math.Exp(rng.NextDouble() * 30.0 - 20.0)))
                let y = VectorMath.log8 (Vector256.Create<float32>(xs: float32[]))
                for i in 0 .. 7 do
                    let e = Math.Log(float xs[i])
                    Expect.isLessThan (abs (float (y.GetElement i) - e)) (3e-7 * max 1.0 (abs e)) (sprintf "log %g" xs[i])
        testCase "8-lane sin and cos of 2πt (AVX2) agree with Math over a turn" <| fun () ->
            if not Simd.hasAvx2 then skiptest "this processor lacks AVX2 with FMA, which this kernel needs"
            for k in 0 .. 4095 / 8 do
                let ts = Array.init 8 (fun i -> float32 (k * 8 + i) / 4096.0f)
                let struct (s, c) = VectorMath.sinCosTurns8 (Vector256.Create<float32>(ts: float32[]))
                for i in 0 .. 7 do
                    let a = 2.0 * Math.PI * float ts[i]
                    Expect.isLessThan (abs (float (s.GetElement i) - sin a)) 3e-7 (sprintf "sin at t = %g" ts[i])
                    Expect.isLessThan (abs (float (c.GetElement i) - cos a)) 3e-7 (sprintf "cos at t = %g" ts[i])
        testCase "4-lane log (128-bit) agrees with Math.Log" <| fun () ->
            if not Vector128.IsHardwareAccelerated then skiptest "this processor lacks 128-bit vectors, which this kernel needs"
            let rng = Random(3)
            for _ in 1 .. 2000 do
                let xs = Array.init 4 (fun i -> if i = 0 then float32 (2.0 ** -24.0) else float32 (Math.Exp(rng.NextDouble() * 30.0 - 20.0)))
                let y = VectorMath.log4 (Vector128.Create<float32>(xs: float32[]))
                for i in 0 .. 3 do
                    let e = Math.Log(float xs[i])
                    Expect.isLessThan (abs (float (y.GetElement i) - e)) (3e-7 * max 1.0 (abs e)) (sprintf "log %g" xs[i])
        testCase "4-lane sin and cos of 2πt (128-bit) agree with Math over a turn" <| fun () ->
            if not Vector128.IsHardwareAccelerated then skiptest "this processor lacks 128-bit vectors, which this kernel needs"
            for k in 0 .. 4095 / 4 do
                let ts = Array.init 4 (fun i -> float32 (k * 4 + i) / 4096.0f)
                let struct (s, c) = VectorMath.sinCosTurns4 (Vector128.Create<float32>(ts: float32[]))
                for i in 0 .. 3 do
                    let a = 2.0 * Math.PI * float ts[i]
                    Expect.isLessThan (abs (float (s.GetElement i) - sin a)) 3e-7 (sprintf "sin at t = %g" ts[i])
                    Expect.isLessThan (abs (float (c.GetElement i) - cos a)) 3e-7 (sprintf "cos at t = %g" ts[i])
        testCase "log agrees with Math.Log over (2^-24, 1] and beyond" <| fun () ->
            if not Simd.hasAvx512 then skiptest "this processor lacks AVX-512, which this kernel needs"
            let rng = Random(1)
            for _ in 1 .. 2000 do
                let xs = Array.init 16 (fun i -> if i = 0 then float32 (2.0 ** -24.0) else float32 (Math.Exp(rng.NextDouble() * 30.0 - 20.0)))
                let y = VectorMath.log (Vector512.Create<float32>(xs: float32[]))
                for i in 0 .. 15 do
                    let e = Math.Log(float xs[i])
                    Expect.isLessThan (abs (float (y.GetElement i) - e)) (3e-7 * max 1.0 (abs e)) (sprintf "log %g" xs[i])
        testCase "sin and cos of 2πt agree with Math over a turn" <| fun () ->
            if not Simd.hasAvx512 then skiptest "this processor lacks AVX-512, which this kernel needs"
            for k in 0 .. 4095 / 16 do
                let ts = Array.init 16 (fun i -> float32 (k * 16 + i) / 4096.0f)
                let struct (s, c) = VectorMath.sinCosTurns (Vector512.Create<float32>(ts: float32[]))
                for i in 0 .. 15 do
                    let a = 2.0 * Math.PI * float ts[i]
                    Expect.isLessThan (abs (float (s.GetElement i) - sin a)) 3e-7 (sprintf "sin at t = %g" ts[i])
                    Expect.isLessThan (abs (float (c.GetElement i) - cos a)) 3e-7 (sprintf "cos at t = %g" ts[i])
    ]

/// The readouts' sigmoid on the first `outputs` columns of rows of `width`, by the engine (in native memory).
let private engineSigmoid (z: float32[]) (rows: int) (outputs: int) (width: int) =
    use buffer = new NativeBuffer(z.Length)
    z.AsSpan().CopyTo(buffer.Span)
    SkipRnn.Engine.Pointwise.sigmoidRows rows outputs width buffer.Ptr
    buffer.ToArray()

[<Tests>]
let sigmoidTests =
    testList "readout sigmoid" [
        // Rows whose last vector has at most 4 real outputs share exponentials four rows to a vector; every real
        // output must still get, bit for bit, what TensorPrimitives.Sigmoid (the readouts before) and the loss's
        // per-row arithmetic give, and 1/(1 + e^-z) to 1e-6.
        for rows, outputs, width in [ 1, 1, 16; 7, 3, 16; 20, 33, 48; 9, 4, 16; 5, 36, 48; 3, 12, 16; 6, 32, 32 ] do
            testCase (sprintf "%d rows of %d outputs in %d columns" rows outputs width) <| fun () ->
                let rng = Random(rows * 100 + outputs)
                let z = Array.init (rows * width) (fun i ->
                    if i % width >= outputs then 0.0f
                    else
                        match i % 3 with
                        | 0 -> float32 (rng.NextDouble() * 40.0 - 20.0)
                        | 1 -> float32 (rng.NextDouble() * 2.0 - 1.0)
                        | _ -> float32 (rng.NextDouble() * 400.0 - 200.0))
                let y = engineSigmoid z rows outputs width
                let reference = Array.zeroCreate<float32> z.Length
                System.Numerics.Tensors.TensorPrimitives.Sigmoid(ReadOnlySpan z, Span reference)
                for b in 0 .. rows - 1 do
                    for o in 0 .. outputs - 1 do
                        let i = b * width + o
                        let exact = 1.0 / (1.0 + Math.Exp(-(float z[i])))
                        Expect.isLessThan (abs (float y[i] - exact)) 1e-6 (sprintf "row %d output %d: z = %g" b o z[i])
                        if Simd.width >= 128 then
                            Expect.equal (BitConverter.SingleToInt32Bits y[i]) (BitConverter.SingleToInt32Bits reference[i])
                                (sprintf "row %d output %d: z = %g, the same bits as TensorPrimitives.Sigmoid" b o z[i])
    ]

let private fill key stream row count =
    let buffer = new NativeBuffer(Normal.rowCapacity count)
    Normal.fillRow key stream row count buffer.Ptr
    let result = Array.init count (fun i -> buffer[i])
    (buffer :> IDisposable).Dispose()
    result

[<Tests>]
let normalTests =
    testList "normal noise" [
        for count in [ 1; 2; 31; 50; 127; 128; 129; 1000; 1001 ] do
            testCase (sprintf "vectorized row of %d equals the scalar reference" count) <| fun () ->
                let key = NoiseKey.Create(5UL, 4UL, 17UL)
                for row in [ 0; 1; 99 ] do
                    let fast = fill key 3 row count
                    for i in 0 .. count - 1 do
                        let slow = Normal.sample key 3 row count i
                        Expect.isLessThan (abs (fast[i] - slow)) 1e-5f (sprintf "row %d sample %d" row i)

        testCase "samples are standard normal and the two halves uncorrelated" <| fun () ->
            let key = NoiseKey.Create(11UL, 4UL, 0UL)
            let count = 1000
            let samples = [| for row in 0 .. 199 -> fill key 0 row count |]
            let all = Array.concat samples |> Array.map float
            let mean = Array.average all
            let variance = all |> Array.averageBy (fun x -> (x - mean) ** 2.0)
            Expect.isLessThan (abs mean) 0.01 "mean"
            Expect.isLessThan (abs (variance - 1.0)) 0.02 "variance"
            let within = all |> Array.filter (fun x -> abs x < 1.0) |> Array.length
            Expect.floatClose { absolute = 0.005; relative = 0.0 } (float within / float all.Length) 0.6827 "P(|z| < 1)"
            let pairs = [| for s in samples do for j in 0 .. count / 2 - 1 -> float s[j], float s[j + count / 2] |]
            let corr = (pairs |> Array.averageBy (fun (a, b) -> a * b))
            Expect.isLessThan (abs corr) 0.01 "cosine and sine halves"

        testCase "different streams, rows and keys give different samples" <| fun () ->
            let key = NoiseKey.Create(1UL, 4UL, 0UL)
            let a = fill key 0 0 50
            Expect.notEqual a (fill key 1 0 50) "stream"
            Expect.notEqual a (fill key 0 1 50) "row"
            Expect.notEqual a (fill (NoiseKey.Create(1UL, 4UL, 1UL)) 0 0 50) "key"
    ]

type private GemmKernel = int -> int -> int -> nativeptr<float32> -> int -> int -> nativeptr<float32> -> int -> nativeptr<float32> -> int -> bool -> unit

/// Every kernel, with whether this processor can run it (the AVX2 kernels are checked on AVX-512 machines too;
/// a kernel the processor lacks shows as skipped, not as missing).
let private gemmKernels : (string * string option * GemmKernel) list =
    [ "dispatch", None, (fun m n k a ai ak b ldb c ldc acc -> Gemm.multiply m n k a ai ak b ldb c ldc acc)
      "scalar", None, (fun m n k a ai ak b ldb c ldc acc -> Gemm.scalar m n k a ai ak b ldb c ldc acc)
      "AVX-512", (if Simd.hasAvx512 then None else Some "AVX-512"), (fun m n k a ai ak b ldb c ldc acc -> Gemm.multiply512 m n k a ai ak b ldb c ldc acc)
      "AVX2", (if Simd.hasAvx2 then None else Some "AVX2 with FMA"), (fun m n k a ai ak b ldb c ldc acc -> Gemm.multiply256 m n k a ai ak b ldb c ldc acc)
      "128-bit", (if System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated then None else Some "128-bit vectors"), (fun m n k a ai ak b ldb c ldc acc -> Gemm.multiply128 m n k a ai ak b ldb c ldc acc) ]

let private bits (x: float32[]) = Array.map BitConverter.SingleToInt32Bits x

/// Inputs for C (+)= A·B with n columns wanted, in buffers padded to whole vectors of 16 as the engine's are: B's
/// columns past n are zero, C starts random everywhere. A is m × k, read through strides (transposed or not).
let private gemmInputs (m: int) (k: int) (n: int) (transposed: bool) (seed: int) =
    let np = Gemm.padded n
    let rng = Random(seed)
    let a = Array.init (m * k) (fun _ -> float32 (rng.NextDouble() - 0.5))
    let b = Array.init (k * np) (fun idx -> if idx % np < n then float32 (rng.NextDouble() - 0.5) else 0.0f)
    let c0 = Array.init (m * np) (fun _ -> float32 (rng.NextDouble() - 0.5))
    let ai, ak = if transposed then 1, m else k, 1
    a, b, c0, ai, ak

let private runGemm (kernel: GemmKernel) (m: int) (k: int) (n: int) (a: float32[]) (ai: int) (ak: int) (b: float32[]) (c0: float32[]) (accumulate: bool) =
    let np = Gemm.padded n
    use pa = fixed a
    use pb = fixed b
    let c = Array.copy c0
    use pc = fixed c
    kernel m n k pa ai ak pb np pc np accumulate
    c

/// C (+)= A·B against a plain triple loop in double precision; the columns past n, up to the padding, must come
/// out zero when overwriting and as they were when accumulating.
let private gemmAgrees (kernel: GemmKernel) (m: int) (k: int) (n: int) (transposed: bool) (accumulate: bool) (seed: int) =
    let np = Gemm.padded n
    let a, b, c0, ai, ak = gemmInputs m k n transposed seed
    let expected =
        Array.init (m * np) (fun idx ->
            let i, j = idx / np, idx % np
            let mutable s = if accumulate then float c0[idx] else 0.0
            for kk in 0 .. k - 1 do s <- s + float a[i * ai + kk * ak] * float b[kk * np + j]
            s)
    let c = runGemm kernel m k n a ai ak b c0 accumulate
    Array.forall2 (fun (x: float32) (e: float) -> abs (float x - e) <= 1e-4 * (1.0 + abs e)) c expected
    && Array.forall (fun idx -> idx % np < n || c[idx] = (if accumulate then c0[idx] else 0.0f)) [| 0 .. m * np - 1 |]

/// The columns of a product of n columns, bit for bit those of the same product over all padded columns: what
/// lets each width compute only its own whole vectors and keep every result.
let private gemmSameBits (kernel: GemmKernel) (m: int) (k: int) (n: int) (transposed: bool) (accumulate: bool) (seed: int) =
    let a, b, c0, ai, ak = gemmInputs m k n transposed seed
    bits (runGemm kernel m k n a ai ak b c0 accumulate) = bits (runGemm kernel m k (Gemm.padded n) a ai ak b c0 accumulate)

[<Tests>]
let gemmTests =
    testList "matrix product" [
        for name, missing, kernel in gemmKernels do
          match missing with
          | Some instructions ->
            testCase (sprintf "the %s kernel" name) <| fun () ->
                skiptest (sprintf "this processor lacks %s, which this kernel needs" instructions)
          | None ->
            testCase (sprintf "the model's shapes (%s)" name) <| fun () ->
                // (m, k, n): the recurrent products at N = 50 (forward and ∂W), an evaluation's, the readout's
                // (z over 33 outputs; the adjoint and ∂W_out over the 24 columns from the output population's first
                // vector), the input currents (20 input units) and edge cases.
                for (m, k, n) in [ 20, 50, 50; 50, 20, 50; 200, 50, 50; 20, 50, 64; 50, 12000, 64; 20, 20, 33; 20, 33, 24
                                   33, 20, 24; 20, 85, 32; 20, 3, 20; 33, 1200, 64; 1, 1, 1; 1, 1, 16; 7, 3, 80; 7, 3, 77; 13, 5, 4 ] do
                    for transposed in [ false; true ] do
                        for acc in [ false; true ] do
                            Expect.isTrue (gemmAgrees kernel m k n transposed acc 1) (sprintf "m=%d k=%d n=%d transposed=%b accumulate=%b" m k n transposed acc)
            testProperty (sprintf "any small shape (%s)" name) <| fun (PositiveInt m) (PositiveInt k) (PositiveInt n) (transposed: bool) (acc: bool) ->
                gemmAgrees kernel (1 + m % 21) (1 + k % 70) (1 + n % 96) transposed acc (m + 7 * k)
            testProperty (sprintf "n columns bit for bit as the padded product's (%s)" name) <| fun (PositiveInt m) (PositiveInt k) (PositiveInt n) (transposed: bool) (acc: bool) ->
                gemmSameBits kernel (1 + m % 21) (1 + k % 70) (1 + n % 96) transposed acc (m + 3 * n)
    ]

/// Elementwise bookkeeping that runs on vectors of the native width: each must give, bit for bit, the scalar
/// statement it replaced, on counts that leave a partial vector.
[<Tests>]
let bookkeepingTests =
    testList "vector bookkeeping, bit for bit" [
        testCase "Adam on a network's block equals the scalar rule" <| fun () ->
            let size = 37
            let rng = Random 7
            let adam = SkipRnn.Training.Adam(2, size, 0.01)
            let theta = Array.init (2 * size) (fun _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
            let expected = Array.copy theta
            let m = Array.zeroCreate<float32> size
            let v = Array.zeroCreate<float32> size
            for t in 1 .. 3 do
                let g = Array.init (2 * size) (fun i ->
                    match i % 5 with
                    | 0 -> 0.0f
                    | 1 -> float32 (rng.NextDouble() - 0.5) * 1e-20f
                    | _ -> float32 (rng.NextDouble() * 4.0 - 2.0))
                adam.Update(1, theta, g)
                let rate = float32 (0.01 * sqrt (1.0 - 0.999 ** float t) / (1.0 - 0.9 ** float t))
                for i in 0 .. size - 1 do
                    let gi = g[size + i]
                    m[i] <- AdamRule.firstMoment 0.9f m[i] gi
                    v[i] <- AdamRule.secondMoment 0.999f v[i] gi
                    expected[size + i] <- expected[size + i] - AdamRule.step MathF.Sqrt rate m[i] v[i] 1e-7f
            let first, second, _ = adam.Moments
            Expect.equal (bits theta) (bits expected) "parameters"
            Expect.equal (bits first[size ..]) (bits m) "first moments"
            Expect.equal (bits second[size ..]) (bits v) "second moments"
            Expect.equal (bits theta[.. size - 1]) (bits expected[.. size - 1]) "the other network's block untouched"

        for dale in [ false; true ] do
            for count in [ 1; 15; 50; 2500; 2503 ] do
                testCase (sprintf "the recurrent gradient of %d weights (Dale %b) equals the per-element formula" count dale) <| fun () ->
                    let rng = Random count
                    let raw = Array.init count (fun i ->
                        match i % 7 with
                        | 0 -> 0.0f
                        | 1 -> -0.0f
                        | _ -> float32 (rng.NextDouble() * 2.0 - 1.0))
                    let dW = Array.init count (fun i -> if i % 11 = 3 then 0.0f else float32 (rng.NextDouble() * 2.0 - 1.0))
                    let g = Array.init count (fun _ -> float32 (rng.NextDouble() - 0.5))
                    let c = 3e-4f
                    let expected =
                        Array.init count (fun i ->
                            let sign = float32 (MathF.Sign raw[i])
                            let dRaw = if dale then dW[i] * sign else dW[i]
                            g[i] + dRaw + c * sign)
                    use pg = fixed g
                    use praw = fixed raw
                    use pdW = fixed dW
                    SkipRnn.Engine.Pointwise.recurrentGradient count pg praw pdW c dale
                    Expect.equal (bits g) (bits expected) "g + ∂W_raw + c·sign(raw)"

        testCase "accumulate adds a partial vector too" <| fun () ->
            for count in [ 1; 3; 17; 50; 64 ] do
                let x = Array.init count (fun i -> float32 i * 0.37f - 2.0f)
                let dst = Array.init count (fun i -> 1.0f / float32 (i + 1))
                let expected = Array.map2 (fun d a -> d + a) dst x
                use px = fixed x
                use pd = fixed dst
                SkipRnn.Engine.Pointwise.accumulate count px pd
                Expect.equal (bits dst) (bits expected) (sprintf "%d floats" count)
    ]
