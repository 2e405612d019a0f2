namespace SkipRnn.Engine.Gpu

open System
open System.IO
open System.Linq.Expressions
open System.Reflection
open System.Runtime.InteropServices
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.CPU
open ILGPU.Runtime.Cuda

/// Asked for a CUDA GPU where there is none (a user error: one line, no stack trace).
exception NoGpuFound of string

/// How a kernel launcher runs its kernel.
module internal KernelLaunch =
    /// ILGPU's implicitly grouped launcher on the accelerator's default stream (KernelLoaders'
    /// LoadAutoGroupedStreamKernel for the delegate's arity).
    let onAccelerator (a: Accelerator) (kernel: 'Launcher) : 'Launcher =
        let types = typeof<'Launcher>.GetGenericArguments()
        let loader =
            typeof<KernelLoaders>.GetMethods()
            |> Array.find (fun m ->
                m.Name = "LoadAutoGroupedStreamKernel" && m.GetParameters().Length = 2
                && m.GetGenericArguments().Length = types.Length)
        // ILGPU's own exception (a compile error, a driver error), not a TargetInvocationException around it.
        loader.MakeGenericMethod(types).Invoke(null, BindingFlags.DoNotWrapExceptions, null, [| box a; box kernel |], null) :?> 'Launcher

    /// A launcher that runs the kernel for index 0, 1, … of its extent, in order, on the calling thread. ILGPU's
    /// CPU accelerator gives an implicitly grouped kernel (group size 1) to one thread per multiprocessor too,
    /// but hands every launch to its worker threads and waits for all of them at barriers; on a loaded machine
    /// each hand-off waits for the scheduler, and the thousands of launches of a training step crawl (issue 12).
    let onCallingThread (kernel: 'Launcher) : 'Launcher =
        let parameters =
            typeof<'Launcher>.GetMethod("Invoke").GetParameters()
            |> Array.map (fun p -> Expression.Parameter(p.ParameterType, p.Name))
        let i = Expression.Variable(typeof<int>, "i")
        let finished = Expression.Label "finished"
        let index = Expression.New(typeof<Index1D>.GetConstructor [| typeof<int> |], i)
        let call = Expression.Invoke(Expression.Constant kernel, Array.append [| index :> Expression |] (Array.map (fun p -> p :> Expression) parameters[1..]))
        let body =
            Expression.Block(
                [| i |],
                Expression.Assign(i, Expression.Constant 0),
                Expression.Loop(
                    Expression.IfThenElse(
                        Expression.LessThan(i, Expression.Property(parameters[0], "X")),
                        Expression.Block(call, Expression.PreIncrementAssign i),
                        Expression.Break finished),
                    finished))
        Expression.Lambda<'Launcher>(body, parameters).Compile()

/// The kernels of Kernels.fs, ready to launch on one accelerator: compiled for it by ILGPU, or, for the CPU
/// stand-in, run in order on the calling thread.
[<Sealed>]
type internal LoadedKernels(a: Accelerator, onCallingThread: bool) =
    let load (kernel: 'Launcher) = if onCallingThread then KernelLaunch.onCallingThread kernel else KernelLaunch.onAccelerator a kernel
    /// Whether launches run on the calling thread rather than through ILGPU's launcher.
    member _.OnCallingThread = onCallingThread
    member val EffectiveWeights =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.effectiveWeights))
    member val BroadcastInputs =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.broadcastInputs))
    member val InputCurrents =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape, int, int>(Kernels.inputCurrents))
    member val InitialNoise =
        load (Action<Index1D, ArrayView<float32>, Shape, StepArgs>(Kernels.initialNoise))
    member val EulerStep =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, Shape, StepArgs>(Kernels.eulerStep))
    member val Combine =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, float32, float32>(Kernels.combine))
    member val StateAdjoint =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float>,
             ArrayView<int>, Shape, float32, int>(Kernels.stateAdjoint))
    member val EulerBackward =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.eulerBackward))
    member val BackProducts =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, Shape>(Kernels.backProducts))
    member val FinishGradients =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, ArrayView<float32>, ArrayView<int>, Shape, int, int, float32>(Kernels.finishGradients))
    member val WeightSums =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float>, Shape>(Kernels.weightSums))
    member val Adam =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<float32>, int, float32, float32, float32>(Kernels.adam))
    member val ScoreStep =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<int>,
             ArrayView<float>, ArrayView<float>, ArrayView<float32>, ArrayView<int>, ArrayView<int>,
             Shape, ScoreArgs>(Kernels.scoreStep))
    member val Choose =
        load (Action<Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>,
             ArrayView<int>, ArrayView<int>, Shape, int, int>(Kernels.choose))

/// One accelerator with the kernels compiled for it: a CUDA GPU, or ILGPU's CPU accelerator standing in for one
/// (its memory, and the same kernels run in order on the calling thread; the tests use it to check the GPU code
/// without a GPU).
[<Sealed>]
type GpuDevice private (context: Context, accelerator: Accelerator) =
    let kernels = LoadedKernels(accelerator, accelerator.AcceleratorType = AcceleratorType.CPU)

    static let mutable resolverSet = false
    // The stand-in launches nothing through ILGPU's CPU launcher, so its worker threads only sleep: the smallest
    // device ILGPU allows (one multiprocessor, one warp of 2 threads) instead of the default 16.
    static let cpuSimulator = lazy (
        let simulated = CPUDevice(2, 1, 1)
        let context = Context.Create(fun b -> b.CPU(simulated) |> ignore)
        new GpuDevice(context, simulated.CreateCPUAccelerator(context, CPUAcceleratorMode.Parallel)))
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
    // SKIPRNN_SIMULATE_GPU=1 stands the CPU accelerator in for the GPU, to walk the --device cuda paths
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
    member internal _.Kernels = kernels
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

    /// The CPU stand-in for a GPU (ILGPU's CPU accelerator, kernels on the calling thread), shared by every
    /// caller in the process.
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
