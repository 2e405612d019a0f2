namespace SkipRnn.Numerics

open System.Runtime.Intrinsics
open Microsoft.FSharp.NativeInterop

#nowarn "9"

/// The one matrix product the CPU engine needs, for every product of the model (recurrent forward and
/// backward, weight gradients, readout, input currents):
///
///     C[i, 0:n] (+)= Σ_k A(i, k) · B[k, 0:n],    A(i, k) = a[i·ai + k·ak]
///
/// B and C are row-major with row strides ldb and ldc; A is addressed through two strides, so the same
/// kernel reads A or its transpose. The AVX-512 path keeps a 4 × 64 block of C in 16 registers and streams k;
/// the AVX2 path a 4 × 16 block in 8 (AVX2 has 16 registers, and 8 independent sums cover the latency of its
/// two FMA units); the 128-bit path (NEON on ARM, SSE on x64) a 4 × 8 block in 8; processors without any get
/// plain scalar code.
///
/// n is the number of columns wanted, and B and C must hold `padded n` (whole vectors of 16). Each path computes
/// whole vectors of its own width, 16, 8 or 4 columns, so that at N = 50 AVX2 computes 56 columns and the 128-bit
/// path 52, not 64: an eighth and a fifth less arithmetic. A column gets the same sums in the same order whatever
/// n is (a block's columns are independent), so the columns wanted come out bit for bit as with n = padded n. Of
/// the columns past n, up to padded n, those a path computes anyway get their products like any other, and the
/// rest are set to zero when overwriting and left as they are when accumulating: where B's columns past n are
/// zero, as in the engine's padded buffers, every column comes out as with n = padded n (for finite A).
module Gemm =

    /// n rounded up to whole vectors of 16 floats: the padding of every buffer the kernels touch.
    let padded (n: int) = Simd.wholeVectors n 16

    /// The columns a path with vectors of `lanes` floats does not compute, from its last vector up to padded n:
    /// zeroed when overwriting, left as they are when accumulating.
    let private clearTail (m: int) (n: int) (lanes: int) (c: nativeptr<float32>) (ldc: int) (accumulate: bool) =
        let computed = Simd.wholeVectors n lanes
        if not accumulate && computed < padded n then
            // Both ends are multiples of 4 (this runs in the time loop: the forward product's rows at every step).
            for i in 0 .. m - 1 do
                let row = NativePtr.add c (i * ldc)
                let mutable j = computed
                while j < padded n do
                    Vector128.Store(Vector128<float32>.Zero, NativePtr.add row j)
                    j <- j + 4

    let inline private bcast (p: nativeptr<float32>) = Vector512.Create(NativePtr.read p)
    let inline private load (p: nativeptr<float32>) (o: int) = Vector512.Load(NativePtr.add p o)
    let inline private fma (a: Vector512<float32>) (b: Vector512<float32>) (c: Vector512<float32>) =
        Vector512.FusedMultiplyAdd(a, b, c)

    /// Rows i0..i0+3, columns j0..j0+63.
    let private block4x4 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let c0 = c
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let z = Vector512<float32>.Zero
        let mutable r00 = if acc then load c0 0 else z
        let mutable r01 = if acc then load c0 16 else z
        let mutable r02 = if acc then load c0 32 else z
        let mutable r03 = if acc then load c0 48 else z
        let mutable r10 = if acc then load c1 0 else z
        let mutable r11 = if acc then load c1 16 else z
        let mutable r12 = if acc then load c1 32 else z
        let mutable r13 = if acc then load c1 48 else z
        let mutable r20 = if acc then load c2 0 else z
        let mutable r21 = if acc then load c2 16 else z
        let mutable r22 = if acc then load c2 32 else z
        let mutable r23 = if acc then load c2 48 else z
        let mutable r30 = if acc then load c3 0 else z
        let mutable r31 = if acc then load c3 16 else z
        let mutable r32 = if acc then load c3 32 else z
        let mutable r33 = if acc then load c3 48 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load pb 0
            let b1 = load pb 16
            let b2 = load pb 32
            let b3 = load pb 48
            let a0 = bcast pa
            r00 <- fma a0 b0 r00; r01 <- fma a0 b1 r01; r02 <- fma a0 b2 r02; r03 <- fma a0 b3 r03
            let a1 = bcast (NativePtr.add pa ai)
            r10 <- fma a1 b0 r10; r11 <- fma a1 b1 r11; r12 <- fma a1 b2 r12; r13 <- fma a1 b3 r13
            let a2 = bcast (NativePtr.add pa (2 * ai))
            r20 <- fma a2 b0 r20; r21 <- fma a2 b1 r21; r22 <- fma a2 b2 r22; r23 <- fma a2 b3 r23
            let a3 = bcast (NativePtr.add pa (3 * ai))
            r30 <- fma a3 b0 r30; r31 <- fma a3 b1 r31; r32 <- fma a3 b2 r32; r33 <- fma a3 b3 r33
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r00, c0); Vector512.Store(r01, NativePtr.add c0 16); Vector512.Store(r02, NativePtr.add c0 32); Vector512.Store(r03, NativePtr.add c0 48)
        Vector512.Store(r10, c1); Vector512.Store(r11, NativePtr.add c1 16); Vector512.Store(r12, NativePtr.add c1 32); Vector512.Store(r13, NativePtr.add c1 48)
        Vector512.Store(r20, c2); Vector512.Store(r21, NativePtr.add c2 16); Vector512.Store(r22, NativePtr.add c2 32); Vector512.Store(r23, NativePtr.add c2 48)
        Vector512.Store(r30, c3); Vector512.Store(r31, NativePtr.add c3 16); Vector512.Store(r32, NativePtr.add c3 32); Vector512.Store(r33, NativePtr.add c3 48)

    /// One row, columns j0..j0+63.
    let private block1x4 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (acc: bool) =
        let z = Vector512<float32>.Zero
        let mutable r0 = if acc then load c 0 else z
        let mutable r1 = if acc then load c 16 else z
        let mutable r2 = if acc then load c 32 else z
        let mutable r3 = if acc then load c 48 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let a0 = bcast pa
            r0 <- fma a0 (load pb 0) r0; r1 <- fma a0 (load pb 16) r1
            r2 <- fma a0 (load pb 32) r2; r3 <- fma a0 (load pb 48) r3
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r0, c); Vector512.Store(r1, NativePtr.add c 16)
        Vector512.Store(r2, NativePtr.add c 32); Vector512.Store(r3, NativePtr.add c 48)

    /// Four rows, columns j0..j0+31.
    let private block4x2 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector512<float32>.Zero
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let mutable r00 = if acc then load c 0 else z
        let mutable r01 = if acc then load c 16 else z
        let mutable r10 = if acc then load c1 0 else z
        let mutable r11 = if acc then load c1 16 else z
        let mutable r20 = if acc then load c2 0 else z
        let mutable r21 = if acc then load c2 16 else z
        let mutable r30 = if acc then load c3 0 else z
        let mutable r31 = if acc then load c3 16 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load pb 0
            let b1 = load pb 16
            let a0 = bcast pa
            r00 <- fma a0 b0 r00; r01 <- fma a0 b1 r01
            let a1 = bcast (NativePtr.add pa ai)
            r10 <- fma a1 b0 r10; r11 <- fma a1 b1 r11
            let a2 = bcast (NativePtr.add pa (2 * ai))
            r20 <- fma a2 b0 r20; r21 <- fma a2 b1 r21
            let a3 = bcast (NativePtr.add pa (3 * ai))
            r30 <- fma a3 b0 r30; r31 <- fma a3 b1 r31
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r00, c); Vector512.Store(r01, NativePtr.add c 16)
        Vector512.Store(r10, c1); Vector512.Store(r11, NativePtr.add c1 16)
        Vector512.Store(r20, c2); Vector512.Store(r21, NativePtr.add c2 16)
        Vector512.Store(r30, c3); Vector512.Store(r31, NativePtr.add c3 16)

    /// Four rows, columns j0..j0+47.
    let private block4x3 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector512<float32>.Zero
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let mutable r00 = if acc then load c 0 else z
        let mutable r01 = if acc then load c 16 else z
        let mutable r02 = if acc then load c 32 else z
        let mutable r10 = if acc then load c1 0 else z
        let mutable r11 = if acc then load c1 16 else z
        let mutable r12 = if acc then load c1 32 else z
        let mutable r20 = if acc then load c2 0 else z
        let mutable r21 = if acc then load c2 16 else z
        let mutable r22 = if acc then load c2 32 else z
        let mutable r30 = if acc then load c3 0 else z
        let mutable r31 = if acc then load c3 16 else z
        let mutable r32 = if acc then load c3 32 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load pb 0
            let b1 = load pb 16
            let b2 = load pb 32
            let a0 = bcast pa
            r00 <- fma a0 b0 r00; r01 <- fma a0 b1 r01; r02 <- fma a0 b2 r02
            let a1 = bcast (NativePtr.add pa ai)
            r10 <- fma a1 b0 r10; r11 <- fma a1 b1 r11; r12 <- fma a1 b2 r12
            let a2 = bcast (NativePtr.add pa (2 * ai))
            r20 <- fma a2 b0 r20; r21 <- fma a2 b1 r21; r22 <- fma a2 b2 r22
            let a3 = bcast (NativePtr.add pa (3 * ai))
            r30 <- fma a3 b0 r30; r31 <- fma a3 b1 r31; r32 <- fma a3 b2 r32
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r00, c); Vector512.Store(r01, NativePtr.add c 16); Vector512.Store(r02, NativePtr.add c 32)
        Vector512.Store(r10, c1); Vector512.Store(r11, NativePtr.add c1 16); Vector512.Store(r12, NativePtr.add c1 32)
        Vector512.Store(r20, c2); Vector512.Store(r21, NativePtr.add c2 16); Vector512.Store(r22, NativePtr.add c2 32)
        Vector512.Store(r30, c3); Vector512.Store(r31, NativePtr.add c3 16); Vector512.Store(r32, NativePtr.add c3 32)

    /// Four rows, columns j0..j0+15.
    let private block4x1 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector512<float32>.Zero
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let mutable r0 = if acc then load c 0 else z
        let mutable r1 = if acc then load c1 0 else z
        let mutable r2 = if acc then load c2 0 else z
        let mutable r3 = if acc then load c3 0 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let bv = load pb 0
            r0 <- fma (bcast pa) bv r0
            r1 <- fma (bcast (NativePtr.add pa ai)) bv r1
            r2 <- fma (bcast (NativePtr.add pa (2 * ai))) bv r2
            r3 <- fma (bcast (NativePtr.add pa (3 * ai))) bv r3
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r0, c); Vector512.Store(r1, c1); Vector512.Store(r2, c2); Vector512.Store(r3, c3)

    /// Two rows, columns j0..j0+63 (the rows left over from the blocks of four: eight sums in flight, where one row
    /// at a time has four, bound by the FMA's latency).
    let private block2x4 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector512<float32>.Zero
        let c1 = NativePtr.add c ldc
        let mutable r00 = if acc then load c 0 else z
        let mutable r01 = if acc then load c 16 else z
        let mutable r02 = if acc then load c 32 else z
        let mutable r03 = if acc then load c 48 else z
        let mutable r10 = if acc then load c1 0 else z
        let mutable r11 = if acc then load c1 16 else z
        let mutable r12 = if acc then load c1 32 else z
        let mutable r13 = if acc then load c1 48 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load pb 0
            let b1 = load pb 16
            let b2 = load pb 32
            let b3 = load pb 48
            let a0 = bcast pa
            r00 <- fma a0 b0 r00; r01 <- fma a0 b1 r01; r02 <- fma a0 b2 r02; r03 <- fma a0 b3 r03
            let a1 = bcast (NativePtr.add pa ai)
            r10 <- fma a1 b0 r10; r11 <- fma a1 b1 r11; r12 <- fma a1 b2 r12; r13 <- fma a1 b3 r13
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r00, c); Vector512.Store(r01, NativePtr.add c 16); Vector512.Store(r02, NativePtr.add c 32); Vector512.Store(r03, NativePtr.add c 48)
        Vector512.Store(r10, c1); Vector512.Store(r11, NativePtr.add c1 16); Vector512.Store(r12, NativePtr.add c1 32); Vector512.Store(r13, NativePtr.add c1 48)

    /// One row, columns j0..j0+31 (two sums in flight where `block1x1` has one).
    let private block1x2 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (acc: bool) =
        let z = Vector512<float32>.Zero
        let mutable r0 = if acc then load c 0 else z
        let mutable r1 = if acc then load c 16 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let a0 = bcast pa
            r0 <- fma a0 (load pb 0) r0; r1 <- fma a0 (load pb 16) r1
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r0, c); Vector512.Store(r1, NativePtr.add c 16)

    /// One row, columns j0..j0+15.
    let private block1x1 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (acc: bool) =
        let mutable r = if acc then load c 0 else Vector512<float32>.Zero
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            r <- fma (bcast pa) (load pb 0) r
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector512.Store(r, c)

    /// Rows i0..i0+7, one vector of columns: the last vector of a width that is an odd number of the path's vectors
    /// (AVX2's last 8 of 56 columns at N = 50, the 128-bit path's last 4 of 52), with eight sums in flight, as in the
    /// paths' blocks of four rows and two vectors. For any vector type: `load`, `store`, `splat` and `fma` are its
    /// operations.
    let inline private strip8 ([<InlineIfLambda>] load: nativeptr<float32> -> 'V) ([<InlineIfLambda>] store: 'V -> nativeptr<float32> -> unit)
                              ([<InlineIfLambda>] splat: float32 -> 'V) ([<InlineIfLambda>] fma: 'V -> 'V -> 'V -> 'V) (zero: 'V)
                              (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                              (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let row (r: int) = NativePtr.add c (r * ldc)
        let mutable r0 = if acc then load (row 0) else zero
        let mutable r1 = if acc then load (row 1) else zero
        let mutable r2 = if acc then load (row 2) else zero
        let mutable r3 = if acc then load (row 3) else zero
        let mutable r4 = if acc then load (row 4) else zero
        let mutable r5 = if acc then load (row 5) else zero
        let mutable r6 = if acc then load (row 6) else zero
        let mutable r7 = if acc then load (row 7) else zero
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let bv = load pb
            r0 <- fma (splat (NativePtr.read pa)) bv r0
            r1 <- fma (splat (NativePtr.get pa ai)) bv r1
            r2 <- fma (splat (NativePtr.get pa (2 * ai))) bv r2
            r3 <- fma (splat (NativePtr.get pa (3 * ai))) bv r3
            r4 <- fma (splat (NativePtr.get pa (4 * ai))) bv r4
            r5 <- fma (splat (NativePtr.get pa (5 * ai))) bv r5
            r6 <- fma (splat (NativePtr.get pa (6 * ai))) bv r6
            r7 <- fma (splat (NativePtr.get pa (7 * ai))) bv r7
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        store r0 (row 0); store r1 (row 1); store r2 (row 2); store r3 (row 3)
        store r4 (row 4); store r5 (row 5); store r6 (row 6); store r7 (row 7)

    let inline private load256 (p: nativeptr<float32>) (o: int) = Vector256.Load(NativePtr.add p o)
    let inline private fma256 (a: Vector256<float32>) (b: Vector256<float32>) (c: Vector256<float32>) =
        Vector256.FusedMultiplyAdd(a, b, c)

    let private block8x8w256 k a ai ak b ldb c ldc acc =
        strip8 (fun p -> Vector256.Load p) (fun v p -> Vector256.Store(v, p)) Vector256.Create fma256 Vector256<float32>.Zero k a ai ak b ldb c ldc acc

    /// AVX2: four rows, columns j0..j0+15.
    let private block4x16 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                          (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector256<float32>.Zero
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let mutable r00 = if acc then load256 c 0 else z
        let mutable r01 = if acc then load256 c 8 else z
        let mutable r10 = if acc then load256 c1 0 else z
        let mutable r11 = if acc then load256 c1 8 else z
        let mutable r20 = if acc then load256 c2 0 else z
        let mutable r21 = if acc then load256 c2 8 else z
        let mutable r30 = if acc then load256 c3 0 else z
        let mutable r31 = if acc then load256 c3 8 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load256 pb 0
            let b1 = load256 pb 8
            let a0 = Vector256.Create(NativePtr.read pa)
            r00 <- fma256 a0 b0 r00; r01 <- fma256 a0 b1 r01
            let a1 = Vector256.Create(NativePtr.get pa ai)
            r10 <- fma256 a1 b0 r10; r11 <- fma256 a1 b1 r11
            let a2 = Vector256.Create(NativePtr.get pa (2 * ai))
            r20 <- fma256 a2 b0 r20; r21 <- fma256 a2 b1 r21
            let a3 = Vector256.Create(NativePtr.get pa (3 * ai))
            r30 <- fma256 a3 b0 r30; r31 <- fma256 a3 b1 r31
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector256.Store(r00, c); Vector256.Store(r01, NativePtr.add c 8)
        Vector256.Store(r10, c1); Vector256.Store(r11, NativePtr.add c1 8)
        Vector256.Store(r20, c2); Vector256.Store(r21, NativePtr.add c2 8)
        Vector256.Store(r30, c3); Vector256.Store(r31, NativePtr.add c3 8)

    /// AVX2: one row, columns j0..j0+15 (two pairs of sums over even and odd k, to halve the dependency chain).
    let private block1x16 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                          (c: nativeptr<float32>) (acc: bool) =
        let z = Vector256<float32>.Zero
        let mutable r0 = if acc then load256 c 0 else z
        let mutable r1 = if acc then load256 c 8 else z
        let mutable s0 = z
        let mutable s1 = z
        let mutable pa = a
        let mutable pb = b
        let mutable kk = 0
        while kk + 2 <= k do
            let a0 = Vector256.Create(NativePtr.read pa)
            r0 <- fma256 a0 (load256 pb 0) r0; r1 <- fma256 a0 (load256 pb 8) r1
            let a1 = Vector256.Create(NativePtr.get pa ak)
            let pb1 = NativePtr.add pb ldb
            s0 <- fma256 a1 (load256 pb1 0) s0; s1 <- fma256 a1 (load256 pb1 8) s1
            pa <- NativePtr.add pa (2 * ak)
            pb <- NativePtr.add pb (2 * ldb)
            kk <- kk + 2
        if kk < k then
            let a0 = Vector256.Create(NativePtr.read pa)
            r0 <- fma256 a0 (load256 pb 0) r0; r1 <- fma256 a0 (load256 pb 8) r1
        Vector256.Store(r0 + s0, c); Vector256.Store(r1 + s1, NativePtr.add c 8)

    /// AVX2: one row, columns j0..j0+7, with `block1x16`'s sums over even and odd k.
    let private block1x8w256 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                             (c: nativeptr<float32>) (acc: bool) =
        let z = Vector256<float32>.Zero
        let mutable r0 = if acc then load256 c 0 else z
        let mutable s0 = z
        let mutable pa = a
        let mutable pb = b
        let mutable kk = 0
        while kk + 2 <= k do
            r0 <- fma256 (Vector256.Create(NativePtr.read pa)) (load256 pb 0) r0
            s0 <- fma256 (Vector256.Create(NativePtr.get pa ak)) (load256 (NativePtr.add pb ldb) 0) s0
            pa <- NativePtr.add pa (2 * ak)
            pb <- NativePtr.add pb (2 * ldb)
            kk <- kk + 2
        if kk < k then r0 <- fma256 (Vector256.Create(NativePtr.read pa)) (load256 pb 0) r0
        Vector256.Store(r0 + s0, c)

    let inline private load128 (p: nativeptr<float32>) (o: int) = Vector128.Load(NativePtr.add p o)
    /// a·b + c: fused where the processor has it (NEON, x64 with FMA), a multiply and an add otherwise.
    let inline private fma128 (a: Vector128<float32>) (b: Vector128<float32>) (c: Vector128<float32>) =
        Vector128.MultiplyAddEstimate(a, b, c)

    let private block8x4w128 k a ai ak b ldb c ldc acc =
        strip8 (fun p -> Vector128.Load p) (fun v p -> Vector128.Store(v, p)) Vector128.Create fma128 Vector128<float32>.Zero k a ai ak b ldb c ldc acc

    /// 128-bit (NEON, SSE): four rows, columns j0..j0+7, eight sums in registers (x64 has 16 of them).
    let private block4x8 (k: int) (a: nativeptr<float32>) (ai: int) (ak: int) (b: nativeptr<float32>) (ldb: int)
                         (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let z = Vector128<float32>.Zero
        let c1 = NativePtr.add c ldc
        let c2 = NativePtr.add c (2 * ldc)
        let c3 = NativePtr.add c (3 * ldc)
        let mutable r00 = if acc then load128 c 0 else z
        let mutable r01 = if acc then load128 c 4 else z
        let mutable r10 = if acc then load128 c1 0 else z
        let mutable r11 = if acc then load128 c1 4 else z
        let mutable r20 = if acc then load128 c2 0 else z
        let mutable r21 = if acc then load128 c2 4 else z
        let mutable r30 = if acc then load128 c3 0 else z
        let mutable r31 = if acc then load128 c3 4 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let b0 = load128 pb 0
            let b1 = load128 pb 4
            let a0 = Vector128.Create(NativePtr.read pa)
            r00 <- fma128 a0 b0 r00; r01 <- fma128 a0 b1 r01
            let a1 = Vector128.Create(NativePtr.get pa ai)
            r10 <- fma128 a1 b0 r10; r11 <- fma128 a1 b1 r11
            let a2 = Vector128.Create(NativePtr.get pa (2 * ai))
            r20 <- fma128 a2 b0 r20; r21 <- fma128 a2 b1 r21
            let a3 = Vector128.Create(NativePtr.get pa (3 * ai))
            r30 <- fma128 a3 b0 r30; r31 <- fma128 a3 b1 r31
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector128.Store(r00, c); Vector128.Store(r01, NativePtr.add c 4)
        Vector128.Store(r10, c1); Vector128.Store(r11, NativePtr.add c1 4)
        Vector128.Store(r20, c2); Vector128.Store(r21, NativePtr.add c2 4)
        Vector128.Store(r30, c3); Vector128.Store(r31, NativePtr.add c3 4)

    /// 128-bit: one row, columns j0..j0+15.
    let private block1x16w128 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                              (c: nativeptr<float32>) (acc: bool) =
        let z = Vector128<float32>.Zero
        let mutable r0 = if acc then load128 c 0 else z
        let mutable r1 = if acc then load128 c 4 else z
        let mutable r2 = if acc then load128 c 8 else z
        let mutable r3 = if acc then load128 c 12 else z
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            let a0 = Vector128.Create(NativePtr.read pa)
            r0 <- fma128 a0 (load128 pb 0) r0; r1 <- fma128 a0 (load128 pb 4) r1
            r2 <- fma128 a0 (load128 pb 8) r2; r3 <- fma128 a0 (load128 pb 12) r3
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector128.Store(r0, c); Vector128.Store(r1, NativePtr.add c 4)
        Vector128.Store(r2, NativePtr.add c 8); Vector128.Store(r3, NativePtr.add c 12)

    /// 128-bit: one row, columns j0..j0+3 (a lone row's columns past its last whole 16).
    let private block1x4w128 (k: int) (a: nativeptr<float32>) (ak: int) (b: nativeptr<float32>) (ldb: int)
                             (c: nativeptr<float32>) (acc: bool) =
        let mutable r0 = if acc then load128 c 0 else Vector128<float32>.Zero
        let mutable pa = a
        let mutable pb = b
        for _ in 1 .. k do
            r0 <- fma128 (Vector128.Create(NativePtr.read pa)) (load128 pb 0) r0
            pa <- NativePtr.add pa ak
            pb <- NativePtr.add pb ldb
        Vector128.Store(r0, c)

    /// C (+)= A·B with the 128-bit kernels (NEON on ARM, SSE on x64).
    let multiply128 (m: int) (n: int) (k: int) (a: nativeptr<float32>) (ai: int) (ak: int)
                    (b: nativeptr<float32>) (ldb: int) (c: nativeptr<float32>) (ldc: int) (accumulate: bool) =
        let computed = Simd.wholeVectors n 4
        let wide = computed / 8 * 8
        let groups = m / 4 * 4
        let mutable i = 0
        while i < groups do
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j < wide do
                block4x8 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
                j <- j + 8
            i <- i + 4
        while i < m do
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j + 16 <= computed do
                block1x16w128 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
                j <- j + 16
            while j < computed do
                block1x4w128 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
                j <- j + 4
            i <- i + 1
        if computed > wide then
            // The last 4 columns of the rows in blocks of four: eight rows at a time.
            let bw = NativePtr.add b wide
            let mutable i = 0
            while i + 8 <= groups do
                block8x4w128 k (NativePtr.add a (i * ai)) ai ak bw ldb (NativePtr.add c (i * ldc + wide)) ldc accumulate
                i <- i + 8
            // Four rows: a block of 8 columns keeps eight sums in flight, where 4 columns would keep four (its last 4
            // columns are padding, zero like those clearTail leaves).
            if i < groups then block4x8 k (NativePtr.add a (i * ai)) ai ak bw ldb (NativePtr.add c (i * ldc + wide)) ldc accumulate
        clearTail m n 4 c ldc accumulate

    /// C (+)= A·B with the AVX-512 kernels (the processor must have them).
    let multiply512 (m: int) (n: int) (k: int) (a: nativeptr<float32>) (ai: int) (ak: int)
                    (b: nativeptr<float32>) (ldb: int) (c: nativeptr<float32>) (ldc: int) (accumulate: bool) =
        let n = padded n
        let wide = n / 64 * 64
        let mutable i = 0
        while i + 4 <= m do
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j < wide do
                block4x4 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
                j <- j + 64
            match (n - j) / 16 with
            | 3 -> block4x3 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
            | 2 -> block4x2 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
            | 1 -> block4x1 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
            | _ -> ()
            i <- i + 4
        // The rows left over: two at a time over 64 columns while there are two, then the rest of each row.
        while i < m do
            let rows = min 2 (m - i)
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j < wide do
                if rows = 2 then block2x4 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
                else block1x4 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
                j <- j + 64
            for r in 0 .. rows - 1 do
                let ar = NativePtr.add ar (r * ai)
                let cr = NativePtr.add cr (r * ldc)
                let mutable j = wide
                while j + 32 <= n do
                    block1x2 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
                    j <- j + 32
                if j < n then block1x1 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
            i <- i + rows

    /// C (+)= A·B with the AVX2 kernels (the processor must have AVX2 and FMA).
    let multiply256 (m: int) (n: int) (k: int) (a: nativeptr<float32>) (ai: int) (ak: int)
                    (b: nativeptr<float32>) (ldb: int) (c: nativeptr<float32>) (ldc: int) (accumulate: bool) =
        let computed = Simd.wholeVectors n 8
        let wide = computed / 16 * 16
        let groups = m / 4 * 4
        let mutable i = 0
        while i < groups do
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j < wide do
                block4x16 k ar ai ak (NativePtr.add b j) ldb (NativePtr.add cr j) ldc accumulate
                j <- j + 16
            i <- i + 4
        while i < m do
            let ar = NativePtr.add a (i * ai)
            let cr = NativePtr.add c (i * ldc)
            let mutable j = 0
            while j < wide do
                block1x16 k ar ak (NativePtr.add b j) ldb (NativePtr.add cr j) accumulate
                j <- j + 16
            i <- i + 1
        if computed > wide then
            // The last 8 columns: the rows in blocks of four eight at a time; the lone rows with block1x16's split
            // sums. Every element gets the arithmetic its 16-column block would have given it.
            let bw = NativePtr.add b wide
            let mutable i = 0
            while i + 8 <= groups do
                block8x8w256 k (NativePtr.add a (i * ai)) ai ak bw ldb (NativePtr.add c (i * ldc + wide)) ldc accumulate
                i <- i + 8
            if i < groups then
                // Four rows: a block of 16 columns keeps eight sums in flight, where 8 columns would keep four (its
                // last 8 columns are padding, zero like those clearTail leaves).
                block4x16 k (NativePtr.add a (i * ai)) ai ak bw ldb (NativePtr.add c (i * ldc + wide)) ldc accumulate
                i <- i + 4
            while i < m do
                block1x8w256 k (NativePtr.add a (i * ai)) ak bw ldb (NativePtr.add c (i * ldc + wide)) accumulate
                i <- i + 1
        clearTail m n 8 c ldc accumulate

    let scalar (m: int) (n: int) (k: int) (a: nativeptr<float32>) (ai: int) (ak: int)
                       (b: nativeptr<float32>) (ldb: int) (c: nativeptr<float32>) (ldc: int) (acc: bool) =
        let n = padded n
        for i in 0 .. m - 1 do
            let ci = NativePtr.add c (i * ldc)
            if not acc then
                for j in 0 .. n - 1 do NativePtr.set ci j 0.0f
            for kk in 0 .. k - 1 do
                let aik = NativePtr.get a (i * ai + kk * ak)
                if aik <> 0.0f then
                    let bk = NativePtr.add b (kk * ldb)
                    for j in 0 .. n - 1 do
                        NativePtr.set ci j (NativePtr.get ci j + aik * NativePtr.get bk j)

    /// C (+)= A·B as described above. `accumulate = false` overwrites C.
    let multiply (m: int) (n: int) (k: int) (a: nativeptr<float32>) (ai: int) (ak: int)
                 (b: nativeptr<float32>) (ldb: int) (c: nativeptr<float32>) (ldc: int) (accumulate: bool) =
        if Simd.hasAvx512 then multiply512 m n k a ai ak b ldb c ldc accumulate
        elif Simd.hasAvx2 then multiply256 m n k a ai ak b ldb c ldc accumulate
        elif Simd.has128 then multiply128 m n k a ai ak b ldb c ldc accumulate
        else scalar m n k a ai ak b ldb c ldc accumulate
