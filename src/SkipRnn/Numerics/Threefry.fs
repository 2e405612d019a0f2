namespace SkipRnn.Numerics

open System
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

    /// 16 blocks at once: counters (ctr0, ctr1 + lane).
    let inline private rotl (x: Vector512<uint32>) (r: int) =
        Vector512.ShiftLeft(x, r) ||| Vector512.ShiftRightLogical(x, 32 - r)

    let block16 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector512<uint32>) =
        let k0 = Vector512.Create key0
        let k1 = Vector512.Create key1
        let k2 = Vector512.Create(Parity ^^^ key0 ^^^ key1)
        let inline ks i = match i % 3 with 0 -> k0 | 1 -> k1 | _ -> k2
        let mutable x0 = Vector512.Create(ctr0 + key0)
        let mutable x1 = ctr1 + k1
        for g in 0 .. 4 do
            let o = (g % 2) * 4
            x0 <- x0 + x1; x1 <- rotl x1 rotations[o]; x1 <- x1 ^^^ x0
            x0 <- x0 + x1; x1 <- rotl x1 rotations[o + 1]; x1 <- x1 ^^^ x0
            x0 <- x0 + x1; x1 <- rotl x1 rotations[o + 2]; x1 <- x1 ^^^ x0
            x0 <- x0 + x1; x1 <- rotl x1 rotations[o + 3]; x1 <- x1 ^^^ x0
            let i = g + 1
            x0 <- x0 + ks i
            x1 <- x1 + ks (i + 1) + Vector512.Create(uint32 i)
        struct (x0, x1)

/// Where a stream of Gaussian noise lives: a key (from the seed, the purpose and the training step) and
/// a stream id (the global index of the network).
[<Struct>]
type NoiseKey =
    { Key0: uint32; Key1: uint32 }
    static member Create(seed: uint64, purpose: uint64, step: uint64) =
        let rng = Rng.Create(seed, purpose, step)
        let k = rng.NextUInt64()
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

    /// Writes row `row` of `count` samples of stream `stream` to dst (which must have room for
    /// 2·pairsPerRow(count) + 16 floats: the vector path writes whole vectors).
    let fillRow (key: NoiseKey) (stream: int) (row: int) (count: int) (dst: nativeptr<float32>) =
        let p = pairsPerRow count
        let rowBase = uint32 row * uint32 p
        if Vector512.IsHardwareAccelerated then
            let lanes = Vector512.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u, 12u, 13u, 14u, 15u)
            // Pair j writes its cosine sample to j and its sine sample to p + j. The last cosine vector can
            // run past p into the first sine vector's place; walking j downwards lets that sine vector,
            // stored last, overwrite it.
            let mutable j = ((p - 1) / 16) * 16
            while j >= 0 do
                let ctr = Vector512.Create(rowBase + uint32 j) + lanes
                let struct (a, b) = Threefry.block16 key.Key0 key.Key1 (uint32 stream) ctr
                let u1 = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(a, 8) + Vector512<uint32>.One) * Vector512.Create scale24
                let u2 = Vector512.ConvertToSingle(Vector512.ShiftRightLogical(b, 8)) * Vector512.Create scale24
                let radius = Vector512.Sqrt(Vector512.Create(-2.0f) * Vector512.Log u1)
                let struct (s, c) = Vector512.SinCos(u2 * Vector512.Create twoPi)
                Vector512.Store(radius * c, NativePtr.add dst j)
                Vector512.Store(radius * s, NativePtr.add dst (p + j))
                j <- j - 16
        else
            for i in 0 .. count - 1 do
                NativePtr.set dst i (sample key stream row count i)
