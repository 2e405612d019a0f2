namespace SkipRnn.Numerics

open System
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

#nowarn "9"

/// Threefry-2x32-20 (Salmon et al. 2011, the generator behind JAX's PRNG): a counter-based generator, so
/// the noise of any (network, time step, trial, unit) is a pure function of the key and its position.
/// That makes runs independent of thread scheduling, of how networks are split across workers or machines,
/// and identical between the CPU and GPU backends.
module Threefry =

    let private rotations = [| 13; 15; 26; 6; 17; 29; 16; 24 |]
    let [<Literal>] private Parity = 0x1BD11BDAu

    /// One block: (counter0, counter1) under (key0, key1) → two 32-bit words.
    let block (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: uint32) : struct (uint32 * uint32) =
        let ks = [| key0; key1; Parity ^^^ key0 ^^^ key1 |]
        let mutable x0 = ctr0 + key0
        let mutable x1 = ctr1 + key1
        for r in 0 .. 19 do
            x0 <- x0 + x1
            x1 <- (x1 <<< rotations[r % 8]) ||| (x1 >>> (32 - rotations[r % 8]))
            x1 <- x1 ^^^ x0
            if r % 4 = 3 then
                let i = (r + 1) / 4
                x0 <- x0 + ks[i % 3]
                x1 <- x1 + ks[(i + 1) % 3] + uint32 i
        struct (x0, x1)

    /// Threefry's 20 rounds on four independent blocks at once, (x0, x1) = (counter0 + key0, counter1 + key1) of
    /// each, for words of any type with + and ⊕ (vectors of uint32 here): the rounds of `block`, interleaved so that
    /// the processor overlaps the four chains of add-rotate-xor (one chain alone is bound by its latency; the four
    /// one after the other ran about 5 % slower), and written out, so that every rotation count is a constant, an
    /// immediate in vector code (with the counts loaded from `rotations` in a loop, evaluations took 8 % longer at
    /// 256 bits, about 4 % at 512; scripts/ab-speed.sh). `rotl x r` rotates left by r; `count i` is i as a word.
    let inline private fourBlocks ([<InlineIfLambda>] rotl: 'W -> int -> 'W) ([<InlineIfLambda>] count: uint32 -> 'W)
                                  (k0: 'W) (k1: 'W) (k2: 'W) (start: 'W) (a1: 'W) (b1: 'W) (c1: 'W) (d1: 'W) =
        let mutable a0 = start
        let mutable b0 = start
        let mutable c0 = start
        let mutable d0 = start
        let mutable a1 = a1
        let mutable b1 = b1
        let mutable c1 = c1
        let mutable d1 = d1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13 ^^^ a0; b1 <- rotl b1 13 ^^^ b0; c1 <- rotl c1 13 ^^^ c0; d1 <- rotl d1 13 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15 ^^^ a0; b1 <- rotl b1 15 ^^^ b0; c1 <- rotl c1 15 ^^^ c0; d1 <- rotl d1 15 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26 ^^^ a0; b1 <- rotl b1 26 ^^^ b0; c1 <- rotl c1 26 ^^^ c0; d1 <- rotl d1 26 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6 ^^^ a0; b1 <- rotl b1 6 ^^^ b0; c1 <- rotl c1 6 ^^^ c0; d1 <- rotl d1 6 ^^^ d0
        let inject0, inject1 = k1, k2 + count 1u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 17 ^^^ a0; b1 <- rotl b1 17 ^^^ b0; c1 <- rotl c1 17 ^^^ c0; d1 <- rotl d1 17 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 29 ^^^ a0; b1 <- rotl b1 29 ^^^ b0; c1 <- rotl c1 29 ^^^ c0; d1 <- rotl d1 29 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 16 ^^^ a0; b1 <- rotl b1 16 ^^^ b0; c1 <- rotl c1 16 ^^^ c0; d1 <- rotl d1 16 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 24 ^^^ a0; b1 <- rotl b1 24 ^^^ b0; c1 <- rotl c1 24 ^^^ c0; d1 <- rotl d1 24 ^^^ d0
        let inject0, inject1 = k2, k0 + count 2u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13 ^^^ a0; b1 <- rotl b1 13 ^^^ b0; c1 <- rotl c1 13 ^^^ c0; d1 <- rotl d1 13 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15 ^^^ a0; b1 <- rotl b1 15 ^^^ b0; c1 <- rotl c1 15 ^^^ c0; d1 <- rotl d1 15 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26 ^^^ a0; b1 <- rotl b1 26 ^^^ b0; c1 <- rotl c1 26 ^^^ c0; d1 <- rotl d1 26 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6 ^^^ a0; b1 <- rotl b1 6 ^^^ b0; c1 <- rotl c1 6 ^^^ c0; d1 <- rotl d1 6 ^^^ d0
        let inject0, inject1 = k0, k1 + count 3u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 17 ^^^ a0; b1 <- rotl b1 17 ^^^ b0; c1 <- rotl c1 17 ^^^ c0; d1 <- rotl d1 17 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 29 ^^^ a0; b1 <- rotl b1 29 ^^^ b0; c1 <- rotl c1 29 ^^^ c0; d1 <- rotl d1 29 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 16 ^^^ a0; b1 <- rotl b1 16 ^^^ b0; c1 <- rotl c1 16 ^^^ c0; d1 <- rotl d1 16 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 24 ^^^ a0; b1 <- rotl b1 24 ^^^ b0; c1 <- rotl c1 24 ^^^ c0; d1 <- rotl d1 24 ^^^ d0
        let inject0, inject1 = k1, k2 + count 4u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13 ^^^ a0; b1 <- rotl b1 13 ^^^ b0; c1 <- rotl c1 13 ^^^ c0; d1 <- rotl d1 13 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15 ^^^ a0; b1 <- rotl b1 15 ^^^ b0; c1 <- rotl c1 15 ^^^ c0; d1 <- rotl d1 15 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26 ^^^ a0; b1 <- rotl b1 26 ^^^ b0; c1 <- rotl c1 26 ^^^ c0; d1 <- rotl d1 26 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6 ^^^ a0; b1 <- rotl b1 6 ^^^ b0; c1 <- rotl c1 6 ^^^ c0; d1 <- rotl d1 6 ^^^ d0
        let inject0, inject1 = k2, k0 + count 5u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        struct (a0, a1, b0, b1, c0, c1, d0, d1)

    /// Four 16-lane blocks: counters (ctr0, ctr1 + lane), (ctr0, ctr1 + 16 + lane), … + 32, … + 48. Inlined, like each
    /// width's version, into the noise fill (see VectorMath).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let block64 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector512<uint32>) =
        let k1 = Vector512.Create key1
        let first = ctr1 + k1
        let lanes = Vector512.Create 16u
        fourBlocks (fun (x: Vector512<uint32>) r -> if X86.Avx512F.IsSupported then X86.Avx512F.RotateLeft(x, byte r) else Vector512.ShiftLeft(x, r) ||| Vector512.ShiftRightLogical(x, 32 - r)) (fun (i: uint32) -> Vector512.Create i)
            (Vector512.Create key0) k1 (Vector512.Create(Parity ^^^ key0 ^^^ key1)) (Vector512.Create(ctr0 + key0))
            first (first + lanes) (first + lanes + lanes) (first + lanes + lanes + lanes)

    /// `block64` for AVX2: four 8-lane blocks (counters ctr1, ctr1 + 8, ctr1 + 16, ctr1 + 24).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let block32 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector256<uint32>) =
        let k1 = Vector256.Create key1
        let first = ctr1 + k1
        let lanes = Vector256.Create 8u
        fourBlocks (fun (x: Vector256<uint32>) r -> Vector256.ShiftLeft(x, r) ||| Vector256.ShiftRightLogical(x, 32 - r)) (fun (i: uint32) -> Vector256.Create i)
            (Vector256.Create key0) k1 (Vector256.Create(Parity ^^^ key0 ^^^ key1)) (Vector256.Create(ctr0 + key0))
            first (first + lanes) (first + lanes + lanes) (first + lanes + lanes + lanes)

    /// `block64` for 128-bit vectors (NEON, SSE): four 4-lane blocks (counters ctr1, ctr1 + 4, ctr1 + 8, ctr1 + 12).
    [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
    let block4x4 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector128<uint32>) =
        let k1 = Vector128.Create key1
        let first = ctr1 + k1
        let lanes = Vector128.Create 4u
        fourBlocks (fun (x: Vector128<uint32>) r -> Vector128.ShiftLeft(x, r) ||| Vector128.ShiftRightLogical(x, 32 - r)) (fun (i: uint32) -> Vector128.Create i)
            (Vector128.Create key0) k1 (Vector128.Create(Parity ^^^ key0 ^^^ key1)) (Vector128.Create(ctr0 + key0))
            first (first + lanes) (first + lanes + lanes) (first + lanes + lanes + lanes)

/// Where a stream of Gaussian noise lives: a key (from the seed, the purpose and the training step) and
/// a stream id (the global index of the network).
[<Struct>]
type NoiseKey =
    { Key0: uint32; Key1: uint32 }
    static member Create(seed: uint64, purpose: uint64, step: uint64) =
        let k = Rng.FirstDraw(seed, purpose, step)
        { Key0 = uint32 k; Key1 = uint32 (k >>> 32) }

/// Standard normal samples from Threefry by the Box–Muller transform.
module Normal =

    let private scale24 = 1.0f / 16777216.0f
    let private twoPi = float32 (2.0 * Math.PI)

    /// Pairs of normals per row of `count` samples.
    let pairsPerRow (count: int) = (count + 1) / 2

    /// The sample at position `index` of row `row` of stream `stream` (scalar reference; the vectorized
    /// fill below gives the same numbers to within a few ulp). Pair j gives samples j and j + P.
    let sample (key: NoiseKey) (stream: int) (row: int) (count: int) (index: int) =
        let p = pairsPerRow count
        let j = if index < p then index else index - p
        let struct (a, b) = Threefry.block key.Key0 key.Key1 (uint32 stream) (uint32 row * uint32 p + uint32 j)
        let u1 = float32 ((a >>> 8) + 1u) * scale24
        let u2 = float32 (b >>> 8) * scale24
        let radius = MathF.Sqrt(-2.0f * MathF.Log u1)
        if index < p then radius * MathF.Cos(twoPi * u2) else radius * MathF.Sin(twoPi * u2)

    /// Room `fillRow` needs for a row of `count` samples: it writes whole groups of 64 pairs.
    let rowCapacity (count: int) = 2 * pairsPerRow count + 128

    /// Writes row `row` of `count` samples of stream `stream` to dst (which must hold rowCapacity count floats).
    let fillRow (key: NoiseKey) (stream: int) (row: int) (count: int) (dst: nativeptr<float32>) =
        let p = pairsPerRow count
        let rowBase = uint32 row * uint32 p
        if Simd.hasAvx512 then
            let lanes = Vector512.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u)
            let scale = Vector512.Create scale24
            let minusTwo = Vector512.Create(-2.0f)
            let inline radius (a: Vector512<uint32>) =
                let u1 = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(a, 8) + Vector512<uint32>.One) * scale
                Vector512.Sqrt(minusTwo * VectorMath.log u1)
            let inline phase (b: Vector512<uint32>) =
                VectorMath.sinCosTurns (Vector512.ConvertToSingle(Vector512.ShiftRightLogical(b, 8)) * scale)
            // Pair j writes its cosine sample to j and its sine sample to p + j, 64 pairs at a time. A group's
            // cosine samples can run past p into the sine samples' place: within a group the sines are stored
            // after the cosines, and walking j downwards lets the first group, stored last, overwrite the rest.
            let mutable j = ((p - 1) / 64) * 64
            while j >= 0 do
                let ctr = Vector512.Create(rowBase + uint32 j) + lanes
                let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block64 key.Key0 key.Key1 (uint32 stream) ctr
                let ra, rb, rc, rd = radius a0, radius b0, radius c0, radius d0
                let struct (sa, ca) = phase a1
                let struct (sb, cb) = phase b1
                let struct (sc, cc) = phase c1
                let struct (sd, cd) = phase d1
                Vector512.Store(ra * ca, NativePtr.add dst j)
                Vector512.Store(rb * cb, NativePtr.add dst (j + 16))
                Vector512.Store(rc * cc, NativePtr.add dst (j + 32))
                Vector512.Store(rd * cd, NativePtr.add dst (j + 48))
                Vector512.Store(ra * sa, NativePtr.add dst (p + j))
                Vector512.Store(rb * sb, NativePtr.add dst (p + j + 16))
                Vector512.Store(rc * sc, NativePtr.add dst (p + j + 32))
                Vector512.Store(rd * sd, NativePtr.add dst (p + j + 48))
                j <- j - 64
        elif Simd.hasAvx2 then
            let lanes = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u)
            let scale = Vector256.Create scale24
            let minusTwo = Vector256.Create(-2.0f)
            let inline radius (a: Vector256<uint32>) =
                let u1 = Vector256.ConvertToSingle(Vector256.ShiftRightLogical(a, 8) + Vector256<uint32>.One) * scale
                Vector256.Sqrt(minusTwo * VectorMath.log8 u1)
            let inline phase (b: Vector256<uint32>) =
                VectorMath.sinCosTurns8 (Vector256.ConvertToSingle(Vector256.ShiftRightLogical(b, 8)) * scale)
            // As above, 32 pairs at a time.
            let mutable j = ((p - 1) / 32) * 32
            while j >= 0 do
                let ctr = Vector256.Create(rowBase + uint32 j) + lanes
                let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block32 key.Key0 key.Key1 (uint32 stream) ctr
                let ra, rb, rc, rd = radius a0, radius b0, radius c0, radius d0
                let struct (sa, ca) = phase a1
                let struct (sb, cb) = phase b1
                let struct (sc, cc) = phase c1
                let struct (sd, cd) = phase d1
                Vector256.Store(ra * ca, NativePtr.add dst j)
                Vector256.Store(rb * cb, NativePtr.add dst (j + 8))
                Vector256.Store(rc * cc, NativePtr.add dst (j + 16))
                Vector256.Store(rd * cd, NativePtr.add dst (j + 24))
                Vector256.Store(ra * sa, NativePtr.add dst (p + j))
                Vector256.Store(rb * sb, NativePtr.add dst (p + j + 8))
                Vector256.Store(rc * sc, NativePtr.add dst (p + j + 16))
                Vector256.Store(rd * sd, NativePtr.add dst (p + j + 24))
                j <- j - 32
        elif Simd.has128 then
            let lanes = Vector128.Create(0u, 1u, 2u, 3u)
            let scale = Vector128.Create scale24
            let minusTwo = Vector128.Create(-2.0f)
            let inline radius (a: Vector128<uint32>) =
                let u1 = Vector128.ConvertToSingle(Vector128.ShiftRightLogical(a, 8) + Vector128<uint32>.One) * scale
                Vector128.Sqrt(minusTwo * VectorMath.log4 u1)
            let inline phase (b: Vector128<uint32>) =
                VectorMath.sinCosTurns4 (Vector128.ConvertToSingle(Vector128.ShiftRightLogical(b, 8)) * scale)
            // As above, 16 pairs at a time.
            let mutable j = ((p - 1) / 16) * 16
            while j >= 0 do
                let ctr = Vector128.Create(rowBase + uint32 j) + lanes
                let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block4x4 key.Key0 key.Key1 (uint32 stream) ctr
                let ra, rb, rc, rd = radius a0, radius b0, radius c0, radius d0
                let struct (sa, ca) = phase a1
                let struct (sb, cb) = phase b1
                let struct (sc, cc) = phase c1
                let struct (sd, cd) = phase d1
                Vector128.Store(ra * ca, NativePtr.add dst j)
                Vector128.Store(rb * cb, NativePtr.add dst (j + 4))
                Vector128.Store(rc * cc, NativePtr.add dst (j + 8))
                Vector128.Store(rd * cd, NativePtr.add dst (j + 12))
                Vector128.Store(ra * sa, NativePtr.add dst (p + j))
                Vector128.Store(rb * sb, NativePtr.add dst (p + j + 4))
                Vector128.Store(rc * sc, NativePtr.add dst (p + j + 8))
                Vector128.Store(rd * sd, NativePtr.add dst (p + j + 12))
                j <- j - 16
        else
            for i in 0 .. count - 1 do
                NativePtr.set dst i (sample key stream row count i)
