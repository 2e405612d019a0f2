namespace SkipRnn.Training

open System
open System.Diagnostics
open System.Runtime.Intrinsics
open System.Threading.Tasks
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

/// The timed steps (or passes) of one configuration, each with the operations of its own batch: a training
/// batch's trials are jittered, so its length differs from step to step (746 to 830 steps on dmc), and its count of
/// operations with it.
type Timings =
    { Seconds: float[]
      /// Recurrent-product floating-point operations of each timed step (Flops.recurrentTrainingStep · M, or the
      /// forward product only for an evaluation): what SPEC counts.
      RecurrentFlops: float[]
      /// Every product of the model (Flops.trainingStep or Flops.evaluation · M).
      AllFlops: float[]
      /// Time steps of each timed step's batch (a training batch's jittered trials vary its length).
      Steps: float[] }

/// One timed configuration.
type BenchResult =
    { Label: string
      /// Median seconds of one full training step (batch, forward, backward, Adam) or evaluation pass.
      Seconds: float
      /// Recurrent-product operations per step, the mean over the timed steps: what SPEC counts.
      RecurrentFlops: float
      /// The median over the timed steps of each one's recurrent operations per second.
      GflopsPerSecond: float
      /// GflopsPerSecond over the peak.
      FractionOfPeak: float
      /// The fastest step's share of the peak: like for like with the peak, which is the best of its intervals.
      BestFractionOfPeak: float
      /// Every product of the model: the recurrent ones, the readout (33 outputs of the ring tasks' layout read
      /// from N units at every step with loss) and the input currents; the mean over the timed steps.
      AllFlops: float
      /// The share of the peak counting every product (median over the timed steps).
      FractionOfPeakAll: float }

/// What `skiprnn bench` measures: the training step of SPEC's configuration against the machine's own
/// single-precision FMA peak, measured in the same run.
module Benchmark =

    /// Twelve independent 512-bit multiply-add chains (enough to hide the FMA latency on two FMA pipes).
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    let private fmaChains512 (iterations: int) =
        let mutable a0 = Vector512.Create 1.0f
        let mutable a1 = Vector512.Create 1.1f
        let mutable a2 = Vector512.Create 1.2f
        let mutable a3 = Vector512.Create 1.3f
        let mutable a4 = Vector512.Create 1.4f
        let mutable a5 = Vector512.Create 1.5f
        let mutable a6 = Vector512.Create 1.6f
        let mutable a7 = Vector512.Create 1.7f
        let mutable a8 = Vector512.Create 1.8f
        let mutable a9 = Vector512.Create 1.9f
        let mutable a10 = Vector512.Create 2.0f
        let mutable a11 = Vector512.Create 2.1f
        let m = Vector512.Create 0.9999999f
        let add = Vector512.Create 1e-7f
        let mutable i = 0
        while i < iterations do
            a0 <- Vector512.FusedMultiplyAdd(a0, m, add); a1 <- Vector512.FusedMultiplyAdd(a1, m, add)
            a2 <- Vector512.FusedMultiplyAdd(a2, m, add); a3 <- Vector512.FusedMultiplyAdd(a3, m, add)
            a4 <- Vector512.FusedMultiplyAdd(a4, m, add); a5 <- Vector512.FusedMultiplyAdd(a5, m, add)
            a6 <- Vector512.FusedMultiplyAdd(a6, m, add); a7 <- Vector512.FusedMultiplyAdd(a7, m, add)
            a8 <- Vector512.FusedMultiplyAdd(a8, m, add); a9 <- Vector512.FusedMultiplyAdd(a9, m, add)
            a10 <- Vector512.FusedMultiplyAdd(a10, m, add); a11 <- Vector512.FusedMultiplyAdd(a11, m, add)
            i <- i + 1
        (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).GetElement 0

    /// The same with 256-bit vectors, for processors without AVX-512 (AVX2 has 16 registers: 12 chains fit).
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    let private fmaChains256 (iterations: int) =
        let mutable a0 = Vector256.Create 1.0f
        let mutable a1 = Vector256.Create 1.1f
        let mutable a2 = Vector256.Create 1.2f
        let mutable a3 = Vector256.Create 1.3f
        let mutable a4 = Vector256.Create 1.4f
        let mutable a5 = Vector256.Create 1.5f
        let mutable a6 = Vector256.Create 1.6f
        let mutable a7 = Vector256.Create 1.7f
        let mutable a8 = Vector256.Create 1.8f
        let mutable a9 = Vector256.Create 1.9f
        let mutable a10 = Vector256.Create 2.0f
        let mutable a11 = Vector256.Create 2.1f
        let m = Vector256.Create 0.9999999f
        let add = Vector256.Create 1e-7f
        let mutable i = 0
        while i < iterations do
            a0 <- Vector256.FusedMultiplyAdd(a0, m, add); a1 <- Vector256.FusedMultiplyAdd(a1, m, add)
            a2 <- Vector256.FusedMultiplyAdd(a2, m, add); a3 <- Vector256.FusedMultiplyAdd(a3, m, add)
            a4 <- Vector256.FusedMultiplyAdd(a4, m, add); a5 <- Vector256.FusedMultiplyAdd(a5, m, add)
            a6 <- Vector256.FusedMultiplyAdd(a6, m, add); a7 <- Vector256.FusedMultiplyAdd(a7, m, add)
            a8 <- Vector256.FusedMultiplyAdd(a8, m, add); a9 <- Vector256.FusedMultiplyAdd(a9, m, add)
            a10 <- Vector256.FusedMultiplyAdd(a10, m, add); a11 <- Vector256.FusedMultiplyAdd(a11, m, add)
            i <- i + 1
        (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).GetElement 0

    /// The same with 128-bit vectors (NEON, SSE): fused where the processor has it, as the 128-bit kernels.
    [<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)>]
    let private fmaChains128 (iterations: int) =
        let mutable a0 = Vector128.Create 1.0f
        let mutable a1 = Vector128.Create 1.1f
        let mutable a2 = Vector128.Create 1.2f
        let mutable a3 = Vector128.Create 1.3f
        let mutable a4 = Vector128.Create 1.4f
        let mutable a5 = Vector128.Create 1.5f
        let mutable a6 = Vector128.Create 1.6f
        let mutable a7 = Vector128.Create 1.7f
        let mutable a8 = Vector128.Create 1.8f
        let mutable a9 = Vector128.Create 1.9f
        let mutable a10 = Vector128.Create 2.0f
        let mutable a11 = Vector128.Create 2.1f
        let m = Vector128.Create 0.9999999f
        let add = Vector128.Create 1e-7f
        let mutable i = 0
        while i < iterations do
            a0 <- Vector128.MultiplyAddEstimate(a0, m, add); a1 <- Vector128.MultiplyAddEstimate(a1, m, add)
            a2 <- Vector128.MultiplyAddEstimate(a2, m, add); a3 <- Vector128.MultiplyAddEstimate(a3, m, add)
            a4 <- Vector128.MultiplyAddEstimate(a4, m, add); a5 <- Vector128.MultiplyAddEstimate(a5, m, add)
            a6 <- Vector128.MultiplyAddEstimate(a6, m, add); a7 <- Vector128.MultiplyAddEstimate(a7, m, add)
            a8 <- Vector128.MultiplyAddEstimate(a8, m, add); a9 <- Vector128.MultiplyAddEstimate(a9, m, add)
            a10 <- Vector128.MultiplyAddEstimate(a10, m, add); a11 <- Vector128.MultiplyAddEstimate(a11, m, add)
            i <- i + 1
        (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11).GetElement 0

    /// Runs `work c` over and over on one thread per core (c the thread's index), all released together, for `seconds`:
    /// the calls per second of all the threads together, each timing itself.
    let private callsPerSecondOnEveryCore (work: int -> unit) (seconds: float) =
        let cores = Environment.ProcessorCount
        let rates = Array.zeroCreate<float> cores
        use start = new System.Threading.Barrier(cores)
        let threads =
            Array.init cores (fun c ->
                System.Threading.Thread((fun () ->
                    start.SignalAndWait()
                    let clock = Stopwatch.StartNew()
                    let mutable calls = 0
                    while clock.Elapsed.TotalSeconds < seconds do
                        work c
                        calls <- calls + 1
                    rates[c] <- float calls / clock.Elapsed.TotalSeconds),
                    IsBackground = true))
        for t in threads do t.Start()
        for t in threads do t.Join()
        Array.sum rates

    /// One interval of the FMA peak: every core runs the chains for `seconds`; the rates add up.
    let private fmaInterval (chains: int -> float32) (flopsPerChunk: float) (chunk: int) (seconds: float) =
        let sinks = Array.zeroCreate<float32> Environment.ProcessorCount
        let rate = callsPerSecondOnEveryCore (fun c -> sinks[c] <- sinks[c] + chains chunk) seconds
        // The sums are used, so that the chains are computed as written.
        if Array.exists Single.IsNaN sinks then 0.0 else rate * flopsPerChunk

    /// Single-precision FMA peak of all cores, in GFLOP/s, and how it was measured: 12 independent chains of
    /// fused multiply-adds per core at the widest native width (an emulated Vector512 would understate the peak,
    /// and flatter the engine), one thread per logical processor, the best of `intervals` intervals of `seconds`.
    /// 12 chains hide the latency of two FMA pipes; a core with four 128-bit pipes (recent ARM cores) would need
    /// 16, and both this loop and the C reference would then read low.
    let fmaPeak (seconds: float) (intervals: int) =
        let cores = Environment.ProcessorCount
        let chunk = 1_000_000
        let chains, lanes, width =
            match Simd.width with
            | 512 -> fmaChains512, Vector512<float32>.Count, "512-bit (AVX-512)"
            | 256 -> fmaChains256, Vector256<float32>.Count, "256-bit (AVX2 + FMA)"
            | 128 -> fmaChains128, Vector128<float32>.Count, (if Runtime.Intrinsics.Arm.AdvSimd.IsSupported then "128-bit (NEON)" else "128-bit (SSE)")
            | _ -> failwith "the vector FMA peak needs 128-bit vectors at least; this processor runs scalar code"
        chains chunk |> ignore
        let flopsPerChunk = float chunk * 12.0 * float lanes * 2.0
        let best = List.init intervals (fun _ -> fmaInterval chains flopsPerChunk chunk seconds) |> List.max
        best / 1e9,
        sprintf "%d threads, %s, 12 chains, best of %d intervals of %.2f s" cores width intervals seconds

    /// The peak of the C loop in scripts/fma-peak.c (compiled here with gcc -O2 -march=native -fopenmp, without
    /// AVX-512 when .NET runs without it), run with
    /// the same intervals: its GFLOP/s and its own line, or why it could not be run.
    let fmaReference (seconds: float) (intervals: int) : Result<float * string, string> =
        let rec find (dir: IO.DirectoryInfo) =
            if isNull dir then None
            else
                let candidate = IO.Path.Combine(dir.FullName, "scripts", "fma-peak.c")
                if IO.File.Exists candidate then Some candidate else find dir.Parent
        match find (IO.DirectoryInfo AppContext.BaseDirectory) |> Option.orElse (find (IO.DirectoryInfo Environment.CurrentDirectory)) with
        | None -> Error "scripts/fma-peak.c not found above the program or the current folder"
        | Some source ->
            let run (file: string) (args: string list) =
                try
                    let info = ProcessStartInfo(file, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
                    for a in args do info.ArgumentList.Add a
                    // As many threads as this program's loop (ProcessorCount honours a container's CPU quota).
                    info.Environment["OMP_NUM_THREADS"] <- string Environment.ProcessorCount
                    use p = Process.Start info
                    let err = p.StandardError.ReadToEndAsync()
                    let out = p.StandardOutput.ReadToEnd()
                    p.WaitForExit()
                    if p.ExitCode = 0 then Ok out else Error(sprintf "%s exited with %d: %s" file p.ExitCode (err.Result.Trim()))
                with e -> Error(sprintf "cannot run %s (%s)" file e.Message)
            let binary = IO.Path.Combine(IO.Path.GetTempPath(), sprintf "skiprnn-fma-peak-%d" (Environment.ProcessId))
            try
                // At the width this program measures at (AVX-512 can be switched off for .NET alone).
                let x64 = Runtime.InteropServices.RuntimeInformation.ProcessArchitecture = Runtime.InteropServices.Architecture.X64
                let width =
                    match Simd.width with
                    | 512 -> []
                    | 256 -> [ "-mno-avx512f" ]
                    | _ -> (if x64 then [ "-mno-avx512f" ] else []) @ [ "-DWIDTH128" ]
                run "gcc" ([ "-O2"; "-march=native" ] @ width @ [ "-fopenmp"; source; "-o"; binary ])
                |> Result.bind (fun _ -> run binary [ string seconds; string intervals ])
                |> Result.bind (fun out ->
                    let line = out.Trim()
                    match Double.TryParse(line.Split(' ')[0], Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
                    | true, g -> Ok(g, line)
                    | _ -> Error(sprintf "unexpected output of the C loop: %s" line))
            finally
                if IO.File.Exists binary then IO.File.Delete binary

    /// An evaluation pass's two largest parts, each alone on every core at once, at the pass's shape (B trials, N units),
    /// the best of `intervals` intervals of `seconds` each: the recurrent product (B × N times N × N, padded as the
    /// engine pads it) in GFLOP/s of its unpadded operations, and the noise (`Normal.fillRow`, one sample per unit and
    /// trial) in samples per second.
    let evaluationParts (trials: int) (units: int) (seconds: float) (intervals: int) =
        let cores = Environment.ProcessorCount
        let np = Gemm.padded units
        let states = Array.init cores (fun _ -> new NativeBuffer(trials * np))
        let weights = Array.init cores (fun _ -> new NativeBuffer(units * np))
        let products = Array.init cores (fun _ -> new NativeBuffer(trials * np))
        let samples = Array.init cores (fun _ -> new NativeBuffer(Normal.rowCapacity (trials * units)))
        try
            let rows = Array.zeroCreate<int> cores
            let key = NoiseKey.Create(1UL, 0UL, 0UL)
            let product c = Gemm.multiply trials units units states[c].Ptr np 1 weights[c].Ptr np products[c].Ptr np false
            let noise c =
                Normal.fillRow key c rows[c] (trials * units) samples[c].Ptr
                rows[c] <- rows[c] + 1
            let best work = List.init intervals (fun _ -> callsPerSecondOnEveryCore work seconds) |> List.max
            best product * 2.0 * float trials * float units * float units / 1e9, best noise * float (trials * units)
        finally
            for b in Array.concat [ states; weights; products; samples ] do (b :> IDisposable).Dispose()

    /// The share of the peak (GFLOP/s) an evaluation pass would reach if its recurrent product and its noise, at the
    /// rates they reach alone, were all it did. Each sample of noise (one per unit, trial and step) comes with 2·N of
    /// the product's operations.
    let evaluationCeiling (units: int) (productGflops: float) (samplesPerSecond: float) (peak: float) =
        let flopsPerSample = 2.0 * float units
        let secondsPerSample = flopsPerSample / (productGflops * 1e9) + 1.0 / samplesPerSecond
        flopsPerSample / secondsPerSample / 1e9 / peak

    let private median (xs: float list) =
        let s = List.sort xs
        s[s.Length / 2]

    /// A trainer on `task` with `networks` networks on a device.
    let private trainerOn (device: SkipRnn.Engine.Device) (config: RunConfig) =
        let task = (Catalog.tryFind config.Task).Value
        new Trainer(config, task, device = device)

    let private trainer (config: RunConfig) = trainerOn SkipRnn.Engine.Cpu config

    /// Steps run before timing: the runtime compiles hot code again, optimized, in the background after its first
    /// calls, so a step timed too early runs partly unoptimized code (the first method timed by `bench` came out
    /// 10–20 % slower than the same method timed later with one warm-up step).
    let private warmUpSteps = 3

    /// The least time the timed steps of a configuration add up to. `repeats` steps of a short configuration last a
    /// fraction of a second (a CD10 step at M = 100 takes 15–45 ms), within which one disturbance of a shared machine
    /// moved the median by a fifth: so the timing goes on past `repeats` steps until they last this long.
    let minimumTimedSeconds = 1.0

    /// The seconds of each of at least `repeats` calls of `run`, and of as many more as make `minimumTimedSeconds`.
    let private timedCalls (repeats: int) (run: unit -> unit) =
        let seconds = ResizeArray()
        let mutable total = 0.0
        while seconds.Count < repeats || total < minimumTimedSeconds do
            let clock = Stopwatch.StartNew()
            run ()
            seconds.Add clock.Elapsed.TotalSeconds
            total <- total + seconds[seconds.Count - 1]
        seconds.ToArray()

    /// Training steps on a device after `warmUpSteps` steps, for a method held at its initial θ/β (`timedCalls` of
    /// them); each one's seconds and the operations of its own batch.
    let timeTrainingStepOn (device: SkipRnn.Engine.Device) (config: RunConfig) (repeats: int) =
        use t = trainerOn device { config with Hold = true; AnnealSteps = Int32.MaxValue; DivergenceThreshold = infinity }
        for _ in 1 .. warmUpSteps do t.TrainStep() |> ignore
        let first = t.State.Step
        let seconds = timedCalls repeats (fun () -> t.TrainStep() |> ignore)
        // The batches the steps trained on, generated again (the same trials: the generator is reseeded per step).
        let ofBatch (count: PreparedBatch -> float) =
            Array.init seconds.Length (fun i -> let struct (_, prepared, _, _) = t.TrainingBatch(first + i) in count prepared)
        { Seconds = seconds
          RecurrentFlops = ofBatch (fun b -> Flops.recurrentTrainingStep t.Architecture b * float config.Networks)
          AllFlops = ofBatch (fun b -> Flops.trainingStep t.Architecture b * float config.Networks)
          Steps = ofBatch (fun b -> float b.Batch.Steps) }

    /// Training steps on the CPU (see timeTrainingStepOn).
    let timeTrainingStep (config: RunConfig) (repeats: int) = timeTrainingStepOn SkipRnn.Engine.Cpu config repeats

    /// Evaluation passes on a device (config.EvaluationTrials trials, true dynamics), all on one batch (`timedCalls`).
    let timeEvaluationOn (device: SkipRnn.Engine.Device) (config: RunConfig) (repeats: int) =
        use t = trainerOn device config
        let prepared, noise = t.EvaluationBatch 0
        let plan = SkipPlan.Empty prepared.Batch.Steps
        let all = Array.init config.Networks id
        for _ in 1 .. warmUpSteps do t.Engine.Evaluate(t.State.Parameters, all, prepared, plan, noise) |> ignore
        let seconds = timedCalls repeats (fun () -> t.Engine.Evaluate(t.State.Parameters, all, prepared, plan, noise) |> ignore)
        { Seconds = seconds
          RecurrentFlops = Array.create seconds.Length (Flops.recurrentForward t.Architecture prepared * float config.Networks)
          AllFlops = Array.create seconds.Length (Flops.evaluation t.Architecture prepared * float config.Networks)
          Steps = Array.create seconds.Length (float prepared.Batch.Steps) }

    /// Evaluation passes on the CPU.
    let timeEvaluation (config: RunConfig) (repeats: int) = timeEvaluationOn SkipRnn.Engine.Cpu config repeats

    /// Median seconds of `repeats` evaluations as a trainer runs them on the CPU (Trainer.Evaluate: fresh trials
    /// generated and prepared, then the pass), after one: what a user waits for at each evaluation.
    let timeTrainerEvaluation (config: RunConfig) (repeats: int) =
        use t = trainer config
        t.Evaluate Euler |> ignore
        median
            [ for _ in 1 .. repeats do
                let clock = Stopwatch.StartNew()
                t.Evaluate Euler |> ignore
                yield clock.Elapsed.TotalSeconds ]

    /// Bytes `step` allocates per call, in all threads: the fewest of `rounds` rounds of `calls` calls, since the
    /// runtime's own work (a thread it starts, hot code it recompiles) allocates now and then, in one round or another.
    let allocatedPerCall (rounds: int) (calls: int) (step: unit -> unit) =
        let mutable fewest = Int64.MaxValue
        for _ in 1 .. rounds do
            let before = GC.GetTotalAllocatedBytes true
            for _ in 1 .. calls do step ()
            fewest <- min fewest (GC.GetTotalAllocatedBytes true - before)
        float fewest / float calls

    /// Bytes allocated per training step after warm-up (2 rounds of `repeats` steps, see allocatedPerCall): by the
    /// whole step, and by the engine's part of it alone.
    let allocations (config: RunConfig) (repeats: int) =
        use t = trainer { config with Hold = true; AnnealSteps = Int32.MaxValue }
        for _ in 1 .. 2 do t.TrainStep() |> ignore
        let step = allocatedPerCall 2 repeats (fun () -> t.TrainStep() |> ignore)
        let struct (_, prepared, plan, noise) = t.TrainingBatch 0
        let state = t.State
        let all = Array.init config.Networks id
        let losses = Array.zeroCreate<float> config.Networks
        let updated = Array.zeroCreate<bool> config.Networks
        let engineStep () = t.Engine.TrainStep(state.Parameters, state.Adam, all, prepared, plan, noise, infinity, losses, updated)
        engineStep ()
        let engine = allocatedPerCall 2 repeats engineStep
        step, engine

    /// Least-squares slope and intercept of y against x, and the largest relative deviation from the line.
    let linearFit (points: (float * float) list) =
        let n = float points.Length
        let mx = points |> List.averageBy fst
        let my = points |> List.averageBy snd
        let sxy = points |> List.sumBy (fun (x, y) -> (x - mx) * (y - my))
        let sxx = points |> List.sumBy (fun (x, _) -> (x - mx) ** 2.0)
        let slope = sxy / sxx
        let intercept = my - slope * mx
        let deviation = points |> List.map (fun (x, y) -> abs (y - (intercept + slope * x)) / y) |> List.max
        ignore n
        slope, intercept, deviation

    /// The median seconds of timed steps.
    let medianSeconds (timings: Timings) = median (List.ofArray timings.Seconds)

    /// A configuration's line against the peak (GFLOP/s): each step's rate from its own operations and seconds.
    let result label (timings: Timings) peak =
        let rates (flops: float[]) = Array.map2 (fun f s -> f / s / 1e9) flops timings.Seconds
        let recurrent = rates timings.RecurrentFlops
        let gflops = median (List.ofArray recurrent)
        { Label = label; Seconds = medianSeconds timings; RecurrentFlops = Array.average timings.RecurrentFlops
          GflopsPerSecond = gflops; FractionOfPeak = gflops / peak; BestFractionOfPeak = Array.max recurrent / peak
          AllFlops = Array.average timings.AllFlops; FractionOfPeakAll = median (List.ofArray (rates timings.AllFlops)) / peak }
