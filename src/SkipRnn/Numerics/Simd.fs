namespace SkipRnn.Numerics

open System
open System.Runtime.Intrinsics

/// Which vector width this processor runs natively, decided once: every kernel with width-specific paths
/// (matrix product, Euler steps, noise) and the bench's FMA peak dispatch on these, so they agree.
/// SKIPRNN_SIMD=512, 256, 128 or scalar caps the width (to test or time a narrower path on a wider machine).
module Simd =

    /// The cap SKIPRNN_SIMD sets, in bits (scalar: 0), or what is wrong with it; no cap when it is unset.
    let private cap, problem =
        match Environment.GetEnvironmentVariable "SKIPRNN_SIMD" with
        | null | "" -> Int32.MaxValue, None
        | s ->
            match s.Trim().ToLowerInvariant() with
            | "512" -> 512, None
            | "256" -> 256, None
            | "128" -> 128, None
            | "scalar" | "0" -> 0, None
            | other -> Int32.MaxValue, Some(sprintf "SKIPRNN_SIMD must be 512, 256, 128 or scalar, got '%s'" other)

    /// Why SKIPRNN_SIMD was ignored, if it was (the command line refuses to run with it).
    let settingError = problem

    /// 512-bit vectors (AVX-512).
    let hasAvx512 = cap >= 512 && Vector512.IsHardwareAccelerated

    /// 256-bit vectors with fused multiply-add (AVX2 + FMA); the kernels' AVX2 paths use both.
    let hasAvx2 = cap >= 256 && Vector256.IsHardwareAccelerated && X86.Fma.IsSupported

    /// 128-bit vectors (NEON on ARM, SSE on x64): the path of every processor without AVX2.
    let has128 = cap >= 128 && Vector128.IsHardwareAccelerated

    /// The widest native width in bits: 512, 256, 128, or 0 where the kernels run scalar code.
    let width = if hasAvx512 then 512 elif hasAvx2 then 256 elif has128 then 128 else 0

    /// The floats of `count` in whole vectors of `lanes` floats: what a path with vectors of that many lanes computes
    /// of a padded row of `count` real values (at N = 50: 64 with 16 lanes, 56 with 8, 52 with 4).
    let wholeVectors (count: int) (lanes: int) = (count + lanes - 1) / lanes * lanes

    /// For messages: "AVX-512", "AVX2", "128-bit (NEON/SSE)" or "scalar kernels".
    let describe () =
        match width with
        | 512 -> "AVX-512"
        | 256 -> "AVX2"
        | 128 -> if Runtime.Intrinsics.Arm.AdvSimd.IsSupported then "128-bit NEON" else "128-bit SSE"
        | _ -> "scalar kernels"
