namespace SkipRnn.Numerics

open System.Runtime.Intrinsics

/// Which vector width this processor runs natively, decided once: every kernel with width-specific paths
/// (matrix product, Euler steps, noise) and the bench's FMA peak dispatch on these, so they agree.
module Simd =

    /// 512-bit vectors (AVX-512).
    let hasAvx512 = Vector512.IsHardwareAccelerated

    /// 256-bit vectors with fused multiply-add (AVX2 + FMA); the kernels' AVX2 paths use both.
    let hasAvx2 = Vector256.IsHardwareAccelerated && X86.Fma.IsSupported

    /// The widest native width in bits: 512, 256, or 0 where the kernels run scalar code.
    let width = if hasAvx512 then 512 elif hasAvx2 then 256 else 0

    /// For messages: "AVX-512", "AVX2" or "no AVX2: scalar kernels".
    let describe () = match width with 512 -> "AVX-512" | 256 -> "AVX2" | _ -> "no AVX2: scalar kernels"
