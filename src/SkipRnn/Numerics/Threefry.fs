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

    /// Four independent 16-lane blocks (counters ctr1, ctr1 + 16, ctr1 + 32, ctr1 + 48 per lane group),
    /// interleaved so that the processor overlaps their dependency chains: one chain alone is bound by the
    /// latency of its add-rotate-xor rounds. The rounds are written out as `block` runs them (round r rotates by
    /// rotations[r % 8]; the keys are injected after every fourth), so that every rotation is an immediate: with
    /// the loop, evaluations took 4 % longer (scripts/ab-speed.sh). Tests hold each against `block`.
    let block64 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector512<uint32>) =
        let inline rotl (x: Vector512<uint32>) (r: byte) =
            if X86.Avx512F.IsSupported then X86.Avx512F.RotateLeft(x, r)
            else Vector512.ShiftLeft(x, int r) ||| Vector512.ShiftRightLogical(x, 32 - int r)
        let k0 = Vector512.Create key0
        let k1 = Vector512.Create key1
        let k2 = Vector512.Create(Parity ^^^ key0 ^^^ key1)
        let sixteen = Vector512.Create 16u
        let start = Vector512.Create(ctr0 + key0)
        let mutable a0 = start
        let mutable b0 = start
        let mutable c0 = start
        let mutable d0 = start
        let mutable a1 = ctr1 + k1
        let mutable b1 = a1 + sixteen
        let mutable c1 = b1 + sixteen
        let mutable d1 = c1 + sixteen
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13uy ^^^ a0; b1 <- rotl b1 13uy ^^^ b0; c1 <- rotl c1 13uy ^^^ c0; d1 <- rotl d1 13uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15uy ^^^ a0; b1 <- rotl b1 15uy ^^^ b0; c1 <- rotl c1 15uy ^^^ c0; d1 <- rotl d1 15uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26uy ^^^ a0; b1 <- rotl b1 26uy ^^^ b0; c1 <- rotl c1 26uy ^^^ c0; d1 <- rotl d1 26uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6uy ^^^ a0; b1 <- rotl b1 6uy ^^^ b0; c1 <- rotl c1 6uy ^^^ c0; d1 <- rotl d1 6uy ^^^ d0
        let inject0, inject1 = k1, k2 + Vector512.Create 1u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 17uy ^^^ a0; b1 <- rotl b1 17uy ^^^ b0; c1 <- rotl c1 17uy ^^^ c0; d1 <- rotl d1 17uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 29uy ^^^ a0; b1 <- rotl b1 29uy ^^^ b0; c1 <- rotl c1 29uy ^^^ c0; d1 <- rotl d1 29uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 16uy ^^^ a0; b1 <- rotl b1 16uy ^^^ b0; c1 <- rotl c1 16uy ^^^ c0; d1 <- rotl d1 16uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 24uy ^^^ a0; b1 <- rotl b1 24uy ^^^ b0; c1 <- rotl c1 24uy ^^^ c0; d1 <- rotl d1 24uy ^^^ d0
        let inject0, inject1 = k2, k0 + Vector512.Create 2u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13uy ^^^ a0; b1 <- rotl b1 13uy ^^^ b0; c1 <- rotl c1 13uy ^^^ c0; d1 <- rotl d1 13uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15uy ^^^ a0; b1 <- rotl b1 15uy ^^^ b0; c1 <- rotl c1 15uy ^^^ c0; d1 <- rotl d1 15uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26uy ^^^ a0; b1 <- rotl b1 26uy ^^^ b0; c1 <- rotl c1 26uy ^^^ c0; d1 <- rotl d1 26uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6uy ^^^ a0; b1 <- rotl b1 6uy ^^^ b0; c1 <- rotl c1 6uy ^^^ c0; d1 <- rotl d1 6uy ^^^ d0
        let inject0, inject1 = k0, k1 + Vector512.Create 3u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 17uy ^^^ a0; b1 <- rotl b1 17uy ^^^ b0; c1 <- rotl c1 17uy ^^^ c0; d1 <- rotl d1 17uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 29uy ^^^ a0; b1 <- rotl b1 29uy ^^^ b0; c1 <- rotl c1 29uy ^^^ c0; d1 <- rotl d1 29uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 16uy ^^^ a0; b1 <- rotl b1 16uy ^^^ b0; c1 <- rotl c1 16uy ^^^ c0; d1 <- rotl d1 16uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 24uy ^^^ a0; b1 <- rotl b1 24uy ^^^ b0; c1 <- rotl c1 24uy ^^^ c0; d1 <- rotl d1 24uy ^^^ d0
        let inject0, inject1 = k1, k2 + Vector512.Create 4u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13uy ^^^ a0; b1 <- rotl b1 13uy ^^^ b0; c1 <- rotl c1 13uy ^^^ c0; d1 <- rotl d1 13uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15uy ^^^ a0; b1 <- rotl b1 15uy ^^^ b0; c1 <- rotl c1 15uy ^^^ c0; d1 <- rotl d1 15uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26uy ^^^ a0; b1 <- rotl b1 26uy ^^^ b0; c1 <- rotl c1 26uy ^^^ c0; d1 <- rotl d1 26uy ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6uy ^^^ a0; b1 <- rotl b1 6uy ^^^ b0; c1 <- rotl c1 6uy ^^^ c0; d1 <- rotl d1 6uy ^^^ d0
        let inject0, inject1 = k2, k0 + Vector512.Create 5u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        struct (a0, a1, b0, b1, c0, c1, d0, d1)

    /// `block64` for AVX2: four interleaved 8-lane blocks (counters ctr1, ctr1 + 8, ctr1 + 16, ctr1 + 24).
    let block32 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector256<uint32>) =
        let inline rotl (x: Vector256<uint32>) (r: int) = Vector256.ShiftLeft(x, r) ||| Vector256.ShiftRightLogical(x, 32 - r)
        let k0 = Vector256.Create key0
        let k1 = Vector256.Create key1
        let k2 = Vector256.Create(Parity ^^^ key0 ^^^ key1)
        let eight = Vector256.Create 8u
        let start = Vector256.Create(ctr0 + key0)
        let mutable a0 = start
        let mutable b0 = start
        let mutable c0 = start
        let mutable d0 = start
        let mutable a1 = ctr1 + k1
        let mutable b1 = a1 + eight
        let mutable c1 = b1 + eight
        let mutable d1 = c1 + eight
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13 ^^^ a0; b1 <- rotl b1 13 ^^^ b0; c1 <- rotl c1 13 ^^^ c0; d1 <- rotl d1 13 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15 ^^^ a0; b1 <- rotl b1 15 ^^^ b0; c1 <- rotl c1 15 ^^^ c0; d1 <- rotl d1 15 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26 ^^^ a0; b1 <- rotl b1 26 ^^^ b0; c1 <- rotl c1 26 ^^^ c0; d1 <- rotl d1 26 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6 ^^^ a0; b1 <- rotl b1 6 ^^^ b0; c1 <- rotl c1 6 ^^^ c0; d1 <- rotl d1 6 ^^^ d0
        let inject0, inject1 = k1, k2 + Vector256.Create 1u
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
        let inject0, inject1 = k2, k0 + Vector256.Create 2u
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
        let inject0, inject1 = k0, k1 + Vector256.Create 3u
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
        let inject0, inject1 = k1, k2 + Vector256.Create 4u
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
        let inject0, inject1 = k2, k0 + Vector256.Create 5u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        struct (a0, a1, b0, b1, c0, c1, d0, d1)

    /// `block64` for 128-bit vectors (NEON, SSE): four interleaved 4-lane blocks (counters ctr1, ctr1 + 4, ctr1 + 8, ctr1 + 12).
    let block4x4 (key0: uint32) (key1: uint32) (ctr0: uint32) (ctr1: Vector128<uint32>) =
        let inline rotl (x: Vector128<uint32>) (r: int) = Vector128.ShiftLeft(x, r) ||| Vector128.ShiftRightLogical(x, 32 - r)
        let k0 = Vector128.Create key0
        let k1 = Vector128.Create key1
        let k2 = Vector128.Create(Parity ^^^ key0 ^^^ key1)
        let four = Vector128.Create 4u
        let start = Vector128.Create(ctr0 + key0)
        let mutable a0 = start
        let mutable b0 = start
        let mutable c0 = start
        let mutable d0 = start
        let mutable a1 = ctr1 + k1
        let mutable b1 = a1 + four
        let mutable c1 = b1 + four
        let mutable d1 = c1 + four
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 13 ^^^ a0; b1 <- rotl b1 13 ^^^ b0; c1 <- rotl c1 13 ^^^ c0; d1 <- rotl d1 13 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 15 ^^^ a0; b1 <- rotl b1 15 ^^^ b0; c1 <- rotl c1 15 ^^^ c0; d1 <- rotl d1 15 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 26 ^^^ a0; b1 <- rotl b1 26 ^^^ b0; c1 <- rotl c1 26 ^^^ c0; d1 <- rotl d1 26 ^^^ d0
        a0 <- a0 + a1; b0 <- b0 + b1; c0 <- c0 + c1; d0 <- d0 + d1
        a1 <- rotl a1 6 ^^^ a0; b1 <- rotl b1 6 ^^^ b0; c1 <- rotl c1 6 ^^^ c0; d1 <- rotl d1 6 ^^^ d0
        let inject0, inject1 = k1, k2 + Vector128.Create 1u
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
        let inject0, inject1 = k2, k0 + Vector128.Create 2u
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
        let inject0, inject1 = k0, k1 + Vector128.Create 3u
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
        let inject0, inject1 = k1, k2 + Vector128.Create 4u
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
        let inject0, inject1 = k2, k0 + Vector128.Create 5u
        a0 <- a0 + inject0; b0 <- b0 + inject0; c0 <- c0 + inject0; d0 <- d0 + inject0
        a1 <- a1 + inject1; b1 <- b1 + inject1; c1 <- c1 + inject1; d1 <- d1 + inject1
        struct (a0, a1, b0, b1, c0, c1, d0, d1)

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
