/// Micro-benchmarks of the engine's kernels (BenchmarkDotNet), for work on the engine's speed:
///   dotnet run -c Release --project tests/SkipRnn.Benchmarks -- --filter '*'
/// The end-to-end figure that matters is `skiprnn bench`.
module SkipRnn.Benchmarks.KernelBenchmarks

open System
open BenchmarkDotNet.Attributes
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

#nowarn "9"

[<MemoryDiagnoser>]
type Kernels() =
    let noiseBuffer = new NativeBuffer(Normal.rowCapacity 1000)
    let key = NoiseKey.Create(1UL, 2UL, 3UL)
    let a = new NativeBuffer(20 * 64)
    let b = new NativeBuffer(50 * 64)
    let c = new NativeBuffer(20 * 64)
    let states = new NativeBuffer(20 * 64)

    /// One time step's noise for 20 trials × 50 units.
    [<Benchmark>]
    member _.NoiseRow() = Normal.fillRow key 0 7 1000 noiseBuffer.Ptr

    /// The counter-based generator alone: 8 × 64 pairs (what one noise row of 1000 samples needs).
    [<Benchmark>]
    member _.Threefry512Pairs() =
        let mutable acc = System.Runtime.Intrinsics.Vector512<uint32>.Zero
        for g in 0 .. 7 do
            let struct (a0, a1, b0, b1, c0, c1, d0, d1) = Threefry.block64 1u 2u 3u (System.Runtime.Intrinsics.Vector512.Create(uint32 (64 * g)))
            acc <- acc ^^^ a0 ^^^ a1 ^^^ b0 ^^^ b1 ^^^ c0 ^^^ c1 ^^^ d0 ^^^ d1
        acc

    /// The Box–Muller transform alone for 1024 samples: 32 × (log, sqrt, sincos) on 16 lanes.
    [<Benchmark>]
    member _.BoxMuller1024() =
        let mutable acc = System.Runtime.Intrinsics.Vector512<float32>.Zero
        for g in 0 .. 31 do
            let u = System.Runtime.Intrinsics.Vector512.Create(0.001f + float32 g * 0.03f)
            let r = System.Runtime.Intrinsics.Vector512.Sqrt(System.Runtime.Intrinsics.Vector512.Create(-2.0f) * System.Runtime.Intrinsics.Vector512.Log u)
            let struct (sn, cs) = System.Runtime.Intrinsics.Vector512.SinCos(u)
            acc <- acc + r * sn + r * cs
        acc

    /// The recurrent product of one time step: [20 × 50]·[50 × 50], in rows padded to 64.
    [<Benchmark>]
    member _.RecurrentProduct() = Gemm.multiply 20 50 50 a.Ptr 64 1 b.Ptr 64 c.Ptr 64 false

    /// The weight-gradient product of one time step: [50 × 20]·[20 × 50], in rows padded to 64, accumulated.
    [<Benchmark>]
    member _.WeightGradientProduct() = Gemm.multiply 50 50 20 states.Ptr 1 64 a.Ptr 64 b.Ptr 64 true

[<MemoryDiagnoser>]
type TrainingStep() =
    let task = (Catalog.tryFind "dmc").Value
    let arch = Architecture.Standard(50, task.InputSize, task.OutputSize)
    let parameters = Parameters.initialize arch 2 1UL
    let batch = task.Generate { Trials = 20; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create 1UL)
    let prepared = PreparedBatch.prepare arch batch
    let gradients = Array.zeroCreate<float32> parameters.Values.Length
    let engine = new CpuEngine(arch, 1)
    let noise = NoiseKey.Create(1UL, 4UL, 0UL)

    [<Params("control", "DASC40")>]
    member val Method = "control" with get, set

    /// Forward and backward of one network on a structure-C batch (800 steps, 20 trials).
    [<Benchmark>]
    member this.OneNetwork() =
        let integrator = if this.Method = "control" then Euler else WithSkips(Aligned, 40, 0.5)
        engine.Gradients(parameters, [| 0 |], prepared, Integrator.plan integrator batch, noise, gradients)
