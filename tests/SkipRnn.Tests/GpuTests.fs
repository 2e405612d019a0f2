/// The GPU backend (ILGPU) against the CPU engine. The tests run the GPU kernels on the CPU stand-in (ILGPU's CPU
/// accelerator's memory, each kernel launch run in order on the calling thread) —
/// the same kernels, the same Driver, the same noise counters — so they need no GPU; a last test compiles every
/// kernel for CUDA (PTX for sm_90) without a GPU or a CUDA toolkit, as a machine with only the driver would.
///
/// Tolerances (float32 on both sides; they differ only in the order of sums and in ulps of exp/log/sin/cos):
///   states     |gpu − cpu| ≤ 1e-5·(1 + |cpu|)                (measured: ≤ 1.2e-7)
///   losses     relative 1e-6                                 (measured: ≤ 3e-8)
///   gradients  per network, max |gpu − cpu| ≤ 1e-5·max |cpu| + 1e-9   (measured: ≤ 3e-7 relative)
///   Adam       parameters after 3 steps within 1e-5 (absolute; a step moves them by up to lr = 2e-3)
///   scores     within one (step, trial) pair of the CPU's counts
/// A wrong index, a missing term or a swapped β and 1 − β moves these by percents, far outside them.
module SkipRnn.Tests.GpuTests

open System
open Expecto
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Engine.Gpu
open SkipRnn.Training
open ILGPU.Runtime.CPU

let private simulator () = GpuDevice.CpuSimulator

let private expectStates (name: string) (gpu: float32[]) (cpu: float32[]) =
    Expect.equal gpu.Length cpu.Length (name + ": as many states")
    for i in 0 .. cpu.Length - 1 do
        let e = float cpu[i]
        if abs (float gpu[i] - e) > 1e-5 * (1.0 + abs e) then failtestf "%s: state %d is %g on the GPU backend, %g on the CPU" name i gpu[i] cpu[i]

let private expectGradients (name: string) (arch: Architecture) (networks: int[]) (gpu: float32[]) (cpu: float32[]) =
    let size = arch.ParameterCount
    for m in networks do
        let block (a: float32[]) = a[m * size .. (m + 1) * size - 1]
        let top = block cpu |> Array.map (fun v -> abs (float v)) |> Array.max
        let worst = Array.map2 (fun (a: float32) (b: float32) -> abs (float a - float b)) (block gpu) (block cpu) |> Array.max
        if worst > 1e-5 * top + 1e-9 then failtestf "%s, network %d: gradients differ by %g (largest gradient %g)" name m worst top

let private expectLosses (name: string) (gpu: float[]) (cpu: float[]) =
    for m in 0 .. cpu.Length - 1 do
        if Double.IsNaN cpu[m] then Expect.isTrue (Double.IsNaN gpu[m]) (sprintf "%s: network %d not reported" name m)
        else Expect.floatClose { absolute = 1e-9; relative = 1e-6 } gpu[m] cpu[m] (sprintf "%s: loss of network %d" name m)

/// Runs the same states and gradients through both engines.
let private compare (name: string) (arch: Architecture) (parameters: Parameters) (batch: TrialBatch) (plan: SkipPlan) (noise: NoiseKey) =
    let prepared = PreparedBatch.prepare arch batch
    use cpu = new CpuEngine(arch, 1)
    use gpu = new GpuEngine(simulator (), arch)
    for m in 0 .. parameters.Networks - 1 do
        let sg, yg = gpu.Trajectory(parameters, m, prepared, plan, noise)
        let sc, yc = cpu.Trajectory(parameters, m, prepared, plan, noise)
        expectStates (sprintf "%s, network %d" name m) sg sc
        expectStates (sprintf "%s, readouts of network %d" name m) yg yc
    let networks = Array.init parameters.Networks id
    let gc = Array.zeroCreate<float32> parameters.Values.Length
    let gg = Array.zeroCreate<float32> parameters.Values.Length
    let lc = cpu.Gradients(parameters, networks, prepared, plan, noise, gc)
    let lg = gpu.Gradients(parameters, networks, prepared, plan, noise, gg)
    expectLosses name lg lc
    expectGradients name arch networks gg gc

let private methods =
    [ "control", Euler, 0.005
      "CD (θ = 4)", CoarseEuler 4.0, 0.02
      "SCTT (θ = 5, β = 0.3)", WithSkips(Plain, 5, 0.3), 0.005
      "DASC (θ = 5, β = 0.3)", WithSkips(Aligned, 5, 0.3), 0.005
      "DASC-last (θ = 5, β = 0.3)", WithSkips(AlignedLast, 5, 0.3), 0.005 ]

[<Tests>]
let deviceMathTests =
    testList "GPU device math" [
        testCase "noise samples equal Normal.sample to a few ulp" <| fun () ->
            let key = NoiseKey.Create(5UL, 6UL, 7UL)
            for stream in [ 0; 3; 99 ] do
                for row in [ 0; 1; 517 ] do
                    for count in [ 1; 7; 1000 ] do
                        for index in 0 .. count - 1 do
                            let e = Normal.sample key stream row count index
                            let a = DeviceMath.normal key.Key0 key.Key1 (uint32 stream) row count index
                            if abs (a - e) > 2e-6f * (1.0f + abs e) then
                                failtestf "stream %d row %d count %d index %d: %g, Normal.sample %g" stream row count index a e
        testCase "log, exp, tanh and sin/cos of turns agree with the library functions" <| fun () ->
            for i in 1 .. 2000 do
                let x = float32 i / 2000.0f
                Expect.floatClose { absolute = 1e-7; relative = 1e-6 } (float (DeviceMath.log x)) (log (float x)) "log"
                Expect.floatClose { absolute = 1e-7; relative = 1e-6 } (float (DeviceMath.sinCosTurns x true)) (sin (2.0 * Math.PI * float x)) "sin"
                Expect.floatClose { absolute = 1e-7; relative = 1e-6 } (float (DeviceMath.sinCosTurns x false)) (cos (2.0 * Math.PI * float x)) "cos"
                let y = 40.0f * x - 20.0f
                Expect.floatClose { absolute = 1e-30; relative = 1e-6 } (float (DeviceMath.exp y)) (exp (float y)) "exp"
                Expect.floatClose { absolute = 1e-7; relative = 1e-6 } (float (DeviceMath.tanh (y / 4.0f))) (tanh (float (y / 4.0f))) "tanh"
    ]

// One after another, alone (Expecto runs sequenced tests after the parallel ones): they share the stand-in.
[<Tests>]
let backendTests =
    testSequenced <| testList "GPU backend on the CPU stand-in against the CPU engine" [
        testCase "the CPU stand-in launches each kernel on the calling thread, every index once, in order" <| fun () ->
            // ILGPU's own CPU launcher hands every launch to its worker threads and waits for all of them at
            // barriers; on a loaded machine that turned the tests into a near-deadlock (issue 12).
            Expect.isTrue (simulator ()).Kernels.OnCallingThread "the stand-in's kernels"
            let visits = ResizeArray<int * int>()
            let launch =
                KernelLaunch.onCallingThread (Action<ILGPU.Index1D, int>(fun i offset -> visits.Add((i.X + offset, Environment.CurrentManagedThreadId))))
            launch.Invoke(ILGPU.Index1D 5, 10)
            launch.Invoke(ILGPU.Index1D 0, 20)
            Expect.sequenceEqual (visits |> Seq.map fst) [ 10 .. 14 ] "indices 0 to 4, in order, and an empty extent runs nothing"
            Expect.all visits (fun (_, thread) -> thread = Environment.CurrentManagedThreadId) "on the calling thread"

        testCase "ILGPU's own launcher (the CUDA path) loads every kernel and computes what the stand-in computes" <| fun () ->
            let accelerator = (simulator ()).Accelerator
            let compiled = LoadedKernels(accelerator, false)
            let run (kernels: LoadedKernels) =
                use x = new DeviceArray<float32>(accelerator)
                use y = new DeviceArray<float32>(accelerator)
                use dst = new DeviceArray<float32>(accelerator)
                for a in [ x; y; dst ] do a.Ensure 37L
                x.Upload(Array.init 37 float32)
                y.Upload(Array.init 37 (fun i -> float32 (i * i)))
                kernels.Combine.Invoke(ILGPU.Index1D 37, x.View, y.View, dst.View, 2.0f, -0.5f)
                let result = Array.zeroCreate<float32> 37
                dst.Download(0L, result, 0, 37)
                result
            Expect.isFalse compiled.OnCallingThread "through ILGPU"
            let expected = Array.init 37 (fun i -> 2.0f * float32 i - 0.5f * float32 (i * i))
            Expect.sequenceEqual (run compiled) expected "ILGPU's launcher"
            Expect.sequenceEqual (run (simulator ()).Kernels) expected "the stand-in"

        testCase "copies to and from managed arrays survive the collector moving them" <| fun () ->
            // ILGPU copies through the raw address of the array's first element; unpinned, a collection during
            // the copy moved the array and the copy went to (or came from) its old place.
            let n = 20000
            use d = new DeviceArray<float32>((simulator ()).Accelerator)
            d.Ensure(int64 n)
            use stop = new Threading.CancellationTokenSource()
            let collector =
                Threading.Tasks.Task.Run(fun () ->
                    while not stop.IsCancellationRequested do
                        GC.Collect(0, GCCollectionMode.Forced, true, true)
                        Threading.Thread.Sleep 1)
            try
                for k in 1 .. 1000 do
                    d.Upload(Array.init n (fun i -> float32 (i + k)))
                    let back = Array.zeroCreate<float32> n
                    d.Download(0L, back, 0, n)
                    for i in 0 .. n - 1 do
                        if back[i] <> float32 (i + k) then failtestf "round %d: element %d came back as %g, not %d" k i back[i] (i + k)
            finally
                stop.Cancel()
                collector.Wait()

        for (name, integrator, dt) in methods do
            testCase (sprintf "%s: states, readouts, losses and gradients" name) <| fun () ->
                // N = 10, 2 networks, 3 trials, 60 steps: a burn-in of 10 and periods with a partial window.
                let arch = Synthetic.architecture 10 6 4 ReLU false
                let batch = Synthetic.batch 3UL 3 dt arch.Inputs arch.Outputs [ 10; 17; 20; 13 ]
                compare name arch (Parameters.initialize arch 2 7UL) batch (Integrator.plan integrator batch) (NoiseKey.Create(1UL, 2UL, 3UL))

        testCase "without noise, SCTT" <| fun () ->
            let arch = { Synthetic.architecture 10 6 4 ReLU false with NoiseScale = 0.0 }
            let batch = Synthetic.batch 5UL 3 0.005 arch.Inputs arch.Outputs [ 10; 17; 20; 13 ]
            compare "no noise, SCTT" arch (Parameters.initialize arch 2 6UL) batch (Integrator.plan (WithSkips(Plain, 5, 0.3)) batch) (NoiseKey.Create(1UL, 2UL, 3UL))

        testCase "tanh units under Dale's law, DASC" <| fun () ->
            let arch = Synthetic.architecture 10 6 4 Tanh true
            let batch = Synthetic.batch 4UL 3 0.005 arch.Inputs arch.Outputs [ 10; 17; 20; 13 ]
            compare "tanh, Dale, DASC" arch (Parameters.initialize arch 2 8UL) batch (Integrator.plan (WithSkips(Aligned, 5, 0.3)) batch) (NoiseKey.Create(2UL, 2UL, 3UL))

        testCase "softplus units and a softmax readout, SCTT" <| fun () ->
            let arch = { Synthetic.architecture 10 6 4 Softplus false with Readout = Softmax; OutputStart = 0; OutputUnits = 10; InputUnits = 10 }
            let b = Synthetic.batch 3UL 3 0.005 arch.Inputs arch.Outputs [ 10; 17; 20; 13 ]
            let oneHot = Array.zeroCreate<float32> b.Targets.Length
            for r in 0 .. b.Steps * b.Trials - 1 do oneHot[r * b.OutputSize + r % b.OutputSize] <- 1.0f
            let batch = { b with Targets = oneHot }
            compare "softplus, softmax, SCTT" arch (Parameters.initialize arch 2 9UL) batch (Integrator.plan (WithSkips(Plain, 5, 0.3)) batch) (NoiseKey.Create(3UL, 2UL, 3UL))

        for name, integrator in [ "control", Euler; "DASC (θ = 2, β = 0.3)", WithSkips(Aligned, 2, 0.3) ] do
            testCase (sprintf "rule reversal, closed-loop feedback, strategic skips β' = 0.4, %s" name) <| fun () ->
                let task = Catalog.ruleReversal
                let config = { RunConfig.Default with Task = task.Name; Units = 10 }
                let arch = { RunConfig.architecture config task with ActivityRegularization = 1e-2; WeightRegularization = 1e-2 }
                let batch = RuleReversal.generate { Trials = 3; Timing = { Timing.Default with Dt = 0.025 }; Jittered = true; Buffers = None } (Rng.Create 7UL)
                let plan = Integrator.planWith integrator (Some 0.4) batch
                Expect.equal plan.Levels 2 "regular and strategic skips"
                compare name arch (Parameters.initialize arch 2 8UL) batch plan (NoiseKey.Create(3UL, 3UL, 3UL))

        testCase "evaluation scores equal the CPU's: ring task with Respond and Fixate trials, and rule reversal" <| fun () ->
            for taskName, seed in [ "dms", 11UL; "rulereversal", 12UL ] do
                let task = (Catalog.tryFind taskName).Value
                let config = { RunConfig.Default with Task = taskName; Units = 12 }
                let arch = RunConfig.architecture config task
                let timing = { Timing.Default with Dt = 0.02 }
                let batch = task.Generate { Trials = 12; Timing = timing; Jittered = false; Buffers = None } (Rng.Create seed)
                let parameters = Parameters.initialize arch 3 seed
                let prepared = PreparedBatch.prepare arch batch
                let plan = SkipPlan.Empty batch.Steps
                let noise = NoiseKey.Create(seed, 1UL, 1UL)
                use cpu = new CpuEngine(arch, 1)
                use gpu = new GpuEngine(simulator (), arch)
                let sc = cpu.Evaluate(parameters, [| 0; 1; 2 |], prepared, plan, noise)
                let sg = gpu.Evaluate(parameters, [| 0; 2 |], prepared, plan, noise)
                Expect.isTrue (Double.IsNaN sg[1]) "a network not listed is not scored"
                let pair = 1.0 / float (batch.Trials * max 1 batch.ResponseWindow.Length)
                for m in [ 0; 2 ] do
                    Expect.floatClose { absolute = pair + 1e-12; relative = 0.0 } sg[m] sc[m] (sprintf "%s: performance of network %d" taskName m)

        testCase "three training steps with Adam on the device equal the CPU's, through the Trainer" <| fun () ->
            let task = (Catalog.tryFind "go").Value
            let config =
                { RunConfig.Default with
                    Task = "go"; Method = DASC(5, 0.5); Networks = 2; Units = 10; Trials = 4; EvaluationTrials = 8
                    EvaluateEvery = 3; MaxSteps = 3; Timing = { Timing.Default with Dt = 0.02 } }
            use onCpu = new Trainer(config, task, 1)
            let arch = RunConfig.architecture config task
            use onGpu = new Trainer(config, task, engine = new GpuTrainingEngine(simulator (), arch))
            let cpuState = onCpu.Run(ignore, Threading.CancellationToken.None)
            let gpuState = onGpu.Run(ignore, Threading.CancellationToken.None)
            Expect.stringStarts onGpu.Engine.Description "ILGPU cpu accelerator" "the GPU engine trained"
            let worst (a: float32[]) (b: float32[]) = Array.map2 (fun (x: float32) (y: float32) -> abs (x - y)) a b |> Array.max
            Expect.isLessThan (worst gpuState.Parameters.Values cpuState.Parameters.Values) 1e-5f "parameters"
            let m1, v1, s1 = cpuState.Adam.Moments
            let m2, v2, s2 = onGpu.State.Adam.Moments
            Expect.isLessThan (worst m1 m2) 1e-6f "first moments, brought back from the device"
            Expect.isLessThan (worst v1 v2) 1e-8f "second moments"
            Expect.sequenceEqual s2 s1 "step counts"
            Expect.sequenceEqual gpuState.DivergedAt cpuState.DivergedAt "no network diverged on either"
            expectLosses "last losses" gpuState.LastLosses cpuState.LastLosses
            let e1 = cpuState.Evaluations[0].Performances
            let e2 = gpuState.Evaluations[0].Performances
            for m in 0 .. 1 do Expect.floatClose { absolute = 0.01; relative = 0.0 } e2[m] e1[m] "evaluation on fresh trials"

        testCase "CD's fresh Adam state at a change of θ reaches the device as on the CPU" <| fun () ->
            let task = (Catalog.tryFind "go").Value
            let config =
                { RunConfig.Default with
                    Task = "go"; Method = CD 10.0; StepCount = 1; AnnealSteps = 4; Networks = 2; Units = 10; Trials = 4
                    Timing = { Timing.Default with Dt = 0.02 } }
            let arch = RunConfig.architecture config task
            use onGpu = new Trainer(config, task, engine = new GpuTrainingEngine(simulator (), arch))
            use onCpu = new Trainer(config, task, 1)
            for _ in 1 .. 4 do
                onGpu.TrainStep() |> ignore
                onCpu.TrainStep() |> ignore
            let worst (a: float32[]) (b: float32[]) = Array.map2 (fun (x: float32) (y: float32) -> abs (x - y)) a b |> Array.max
            Expect.isLessThan (worst onGpu.State.Parameters.Values onCpu.State.Parameters.Values) 1e-5f "parameters after the reset at step 2"
            let m1, _, s1 = onCpu.State.Adam.Moments
            let m2, _, s2 = onGpu.State.Adam.Moments
            Expect.sequenceEqual s2 s1 "step counts"
            Expect.isLessThan (worst m1 m2) 1e-6f "first moments"

        testCase "a network past the divergence threshold is frozen on the device as on the CPU" <| fun () ->
            let task = (Catalog.tryFind "dlygo").Value
            let config =
                { RunConfig.Default with
                    Task = "dlygo"; Method = CD 40.0; StepCount = 1; Networks = 2; Trials = 4; FreezeDiverged = true }
            let arch = RunConfig.architecture config task
            use onGpu = new Trainer(config, task, engine = new GpuTrainingEngine(simulator (), arch))
            use onCpu = new Trainer(config, task, 1)
            for _ in 1 .. 3 do
                onGpu.TrainStep() |> ignore
                onCpu.TrainStep() |> ignore
            Expect.sequenceEqual onGpu.State.DivergedAt onCpu.State.DivergedAt "the same networks diverge at the same step"
            Expect.all onGpu.State.DivergedAt (fun d -> d >= 0) "θ = 40 > τ/dt diverges"
            Expect.sequenceEqual onGpu.State.Parameters.Values onCpu.State.Parameters.Values "frozen networks keep their parameters"
    ]

[<Tests>]
let cudaTests =
    testList "CUDA code generation" [
        testCase "every kernel compiles to PTX for sm_90 without a GPU, libdevice or the CUDA toolkit" <| fun () ->
            use context = ILGPU.Context.Create(fun b -> b.CPU() |> ignore)
            use backend = new ILGPU.Backends.PTX.PTXBackend(context, ILGPU.Runtime.Cuda.CudaArchitecture.SM_90,
                                                             ILGPU.Runtime.Cuda.CudaInstructionSet.ISA_80, null)
            let kernels =
                typeof<Shape>.Assembly.GetType("SkipRnn.Engine.Gpu.Kernels").GetMethods(System.Reflection.BindingFlags.Static ||| System.Reflection.BindingFlags.Public ||| System.Reflection.BindingFlags.NonPublic)
                |> Array.filter (fun m -> m.IsStatic && m.GetParameters().Length > 0 && m.GetParameters().[0].ParameterType = typeof<ILGPU.Index1D>)
            Expect.equal kernels.Length 14 "the 14 kernels of Kernels.fs"
            for k in kernels do
                let entry = ILGPU.Backends.EntryPoints.EntryPointDescription.FromImplicitlyGroupedKernel k
                let specialization = ILGPU.Runtime.KernelSpecialization.Empty
                let compiled = backend.Compile(&entry, &specialization) :?> ILGPU.Backends.PTX.PTXCompiledKernel
                Expect.stringContains compiled.PTXAssembly ".entry" (sprintf "%s compiles" k.Name)
                Expect.isFalse (compiled.PTXAssembly.Contains "__nv_") (sprintf "%s calls no libdevice function" k.Name)

        testCase "asking for CUDA where there is none is a NoGpuFound, and auto falls back to the CPU" <| fun () ->
            if (GpuDevice.TryCuda()).IsNone then
                Expect.throwsT<NoGpuFound> (fun () -> GpuDevice.Cuda() |> ignore) "no GPU"
                let arch = Synthetic.architecture 10 6 4 ReLU false
                use engine = TrainingEngine.create arch Auto (Some 1)
                Expect.stringStarts engine.Description "cpu" "auto picks the CPU"
            Expect.equal (Device.TryParse "CUDA") (Some Cuda) "parse"
            Expect.equal (Device.TryParse "tpu") None "unknown"
    ]

[<Tests>]
let deviceOptionTests =
    let out () = IO.Path.Combine(IO.Path.GetTempPath(), "skiprnn-device-test-" + string (Guid.NewGuid()))
    let oneLine (args: string list) (expected: string) =
        let folder = out ()
        let code, _, err = CliTests.run (args @ [ "--out"; folder ])
        Expect.equal code 2 (sprintf "exit code of %A (stderr: %s)" args err)
        let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        Expect.equal lines.Length 1 (sprintf "one line on stderr, got: %s" err)
        Expect.stringStarts lines[0] "skiprnn: " "prefixed"
        Expect.stringContains lines[0] expected "says what is wrong"
        Expect.isFalse (IO.Directory.Exists folder) "nothing written"
    testList "the --device option" [
        testCase "train --device cuda without a GPU: one line, exit code 2, nothing written" <| fun () ->
            if (GpuDevice.TryCuda()).IsNone then oneLine [ "train"; "--task"; "go"; "--device"; "cuda" ] "no CUDA GPU found"
        testCase "an unknown device" <| fun () -> oneLine [ "train"; "--task"; "go"; "--device"; "tpu" ] "unknown device 'tpu'"
        testCase "bench --device cuda without a GPU: one line, exit code 2" <| fun () ->
            if (GpuDevice.TryCuda()).IsNone then
                let code, _, err = CliTests.run [ "bench"; "--device"; "cuda"; "--quick" ]
                Expect.equal code 2 (sprintf "exit code (stderr: %s)" err)
                Expect.stringContains err "no CUDA GPU found" "says why"
        testCase "train --device auto trains where it can" <| fun () ->
            let folder = out ()
            let code, stdout, err =
                CliTests.run [ "train"; "--task"; "go"; "--networks"; "1"; "--trials"; "4"; "--max-steps"; "2"; "--eval-every"; "2"
                               "--eval-trials"; "8"; "--device"; "auto"; "--out"; folder ]
            Expect.equal code 0 (sprintf "exit code (stderr: %s)" err)
            Expect.stringContains err "training on" "names the engine"
            Expect.stringContains stdout "after 2 steps" "trained"
    ]
