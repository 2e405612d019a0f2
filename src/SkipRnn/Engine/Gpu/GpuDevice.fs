namespace SkipRnn.Engine.Gpu

open System
open System.IO
open System.Reflection
open System.Runtime.InteropServices
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.CPU
open ILGPU.Runtime.Cuda

/// Where networks are trained: the CPU engine, a CUDA GPU, or a GPU when one is present.
type Device =
    | Cpu
    | Cuda
    | Auto

    member d.Name = match d with Cpu -> "cpu" | Cuda -> "cuda" | Auto -> "auto"

    static member TryParse(s: string) =
        match s.Trim().ToLowerInvariant() with
        | "cpu" -> Some Cpu
        | "cuda" | "gpu" -> Some Cuda
        | "auto" -> Some Auto
        | _ -> None

/// Asked for a CUDA GPU where there is none (a user error: one line, no stack trace).
exception NoGpuFound of string

/// The kernels of Kernels.fs, compiled for one accelerator.
[<Sealed>]
type LoadedKernels(a: Accelerator) =
    member val EffectiveWeights =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.effectiveWeights)
    member val BroadcastInputs =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.broadcastInputs)
    member val InputCurrents =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape, int, int>(Kernels.inputCurrents)
    member val InitialNoise =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, Shape, StepArgs>(Kernels.initialNoise)
    member val EulerStep =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, Shape, StepArgs>(Kernels.eulerStep)
    member val Combine =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, float32, float32>(Kernels.combine)
    member val StateAdjoint =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float>,
                                      ArrayView<int>, Shape, float32, int>(Kernels.stateAdjoint)
    member val EulerBackward =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.eulerBackward)
    member val BackProducts =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.backProducts)
    member val FinishGradients =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, ArrayView<float32>, ArrayView<int>, Shape, int, int, float32>(Kernels.finishGradients)
    member val WeightSums =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float>, Shape>(Kernels.weightSums)
    member val Adam =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<float32>, int, float32, float32, float32>(Kernels.adam)
    member val ScoreStep =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<int>,
                                      ArrayView<float>, ArrayView<float>, ArrayView<float32>, ArrayView<int>, ArrayView<int>,
                                      Shape, ScoreArgs>(Kernels.scoreStep)
    member val Choose =
        a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
                                      ArrayView<int>, ArrayView<int>, Shape, int, int>(Kernels.choose)

/// One accelerator with the kernels compiled for it: a CUDA GPU, or ILGPU's CPU accelerator (which runs the
/// same kernels thread by thread on the processor; the tests use it to check the GPU code without a GPU).
[<Sealed>]
type GpuDevice private (context: Context, accelerator: Accelerator) =
    let kernels = LoadedKernels(accelerator)

    static let mutable resolverSet = false
    static let cpuSimulator = lazy (
        let context = Context.Create(fun b -> b.CPU() |> ignore)
        new GpuDevice(context, context.CreateCPUAccelerator(0)))
    static let findCuda () =
        GpuDevice.ResolveDriver()
        let context =
            try Some(Context.Create(fun b -> b.Cuda() |> ignore))
            with _ -> None
        match context with
        | Some c when c.GetCudaDevices().Count > 0 -> Some(new GpuDevice(c, c.CreateCudaAccelerator(0)))
        | Some c ->
            c.Dispose()
            None
        | None -> None
    // SKIPRNN_SIMULATE_GPU=1 stands ILGPU's CPU accelerator in for the GPU, to walk the --device cuda paths
    // (bench, train) on a machine without one; it is slow and reports no peak.
    static let cuda = lazy (
        if Environment.GetEnvironmentVariable "SKIPRNN_SIMULATE_GPU" = "1" then Some cpuSimulator.Value
        else findCuda ())

    /// The NVIDIA driver installs libcuda.so.1; ILGPU asks for "cuda", which .NET looks up as libcuda.so, a
    /// link that only the CUDA toolkit's developer packages add. Resolve it to the driver's library.
    static member private ResolveDriver() =
        if not resolverSet && RuntimeInformation.IsOSPlatform OSPlatform.Linux then
            resolverSet <- true
            let wsl = try File.ReadAllText("/proc/version").Contains("microsoft", StringComparison.OrdinalIgnoreCase) with _ -> false
            if not wsl then
                try
                    let rec load (candidates: string list) =
                        match candidates with
                        | [] -> IntPtr.Zero
                        | c :: rest ->
                            let mutable handle = IntPtr.Zero
                            if NativeLibrary.TryLoad(c, &handle) then handle else load rest
                    NativeLibrary.SetDllImportResolver(typeof<Context>.Assembly, fun name _ _ ->
                        if name = "cuda" then
                            load [ "libcuda.so"; "libcuda.so.1"; "/usr/local/nvidia/lib64/libcuda.so.1"
                                   "/usr/lib/x86_64-linux-gnu/libcuda.so.1" ]
                        else IntPtr.Zero)
                with :? InvalidOperationException -> ()

    member _.Accelerator = accelerator
    member _.Kernels = kernels
    member _.Name = accelerator.Name
    member _.IsCuda = accelerator.AcceleratorType = AcceleratorType.Cuda
    member _.MemoryBytes = accelerator.MemorySize

    /// Single-precision peak in GFLOP/s: multiprocessors × FP32 lanes per multiprocessor × 2 × clock (the
    /// lanes per multiprocessor of each CUDA architecture from NVIDIA's tables; NaN for the CPU accelerator).
    member _.PeakGflops =
        match accelerator with
        | :? CudaAccelerator as cuda ->
            let arch = cuda.Architecture
            let major, minor = arch.Major, arch.Minor
            let lanes =
                match major, minor with
                | 6, 0 -> 64 | 6, _ -> 128
                | 7, _ -> 64
                | 8, 0 -> 64 | 8, _ -> 128
                | _ -> 128
            float cuda.NumMultiprocessors * float lanes * 2.0 * float cuda.ClockRate * 1e3 / 1e9
        | _ -> nan

    /// ILGPU's CPU accelerator, shared by every caller in the process (compiling the kernels takes seconds).
    static member CpuSimulator = cpuSimulator.Value

    /// The first CUDA GPU, or None when there is none (no driver, or no device). Found once per process and
    /// shared (its kernels are compiled once).
    static member TryCuda() = cuda.Value

    /// The first CUDA GPU; raises NoGpuFound when there is none.
    static member Cuda() =
        match GpuDevice.TryCuda() with
        | Some d -> d
        | None ->
            raise (NoGpuFound "--device cuda: no CUDA GPU found (no NVIDIA driver library or no device); use --device cpu or auto")

    interface IDisposable with
        member _.Dispose() =
            accelerator.Dispose()
            context.Dispose()
