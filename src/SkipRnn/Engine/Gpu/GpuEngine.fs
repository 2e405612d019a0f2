namespace SkipRnn.Engine.Gpu

open System
open ILGPU
open SkipRnn.Numerics
open SkipRnn.Model
open SkipRnn.Engine

/// Training and evaluation of many independent networks on one accelerator: the whole population is one
/// group of the GPU backend, driven by the same Driver as the CPU engine. The optimizer (Adam) runs on the
/// device too; its moments stay there between steps (`DownloadMoments` brings them to the host).
[<Sealed>]
type GpuEngine(device: GpuDevice, arch: Architecture) =
    let backend = new GpuBackend(device, arch)
    let kernels = device.Kernels
    let size = arch.ParameterCount
    let first = new DeviceArray<float32>(device.Accelerator)
    let second = new DeviceArray<float32>(device.Accelerator)
    let rates = new DeviceArray<float32>(device.Accelerator)
    // The host arrays whose values the device moments continue (identity, not contents).
    let mutable boundMoments: float32[] = null
    let mutable momentsAhead = false

    /// One engine at a time on an accelerator (ILGPU's accelerators do not take launches from several threads),
    /// bound to the calling thread (a CUDA context is current per thread; freeing memory needs it too).
    let exclusive (work: unit -> 'T) =
        lock device (fun () ->
            device.Accelerator.Bind()
            work ())

    let forwardBackward (parameters: Parameters) (batch: PreparedBatch) (plan: SkipPlan) (noise: NoiseKey) =
        let k = backend :> IRecurrentKernels
        backend.GroupSize <- 0
        backend.RecordStates <- false
        k.Begin(parameters, 0, batch, noise, true)
        Driver.forward k plan batch
        Driver.backward k plan batch.Batch.BurnIn
        backend.FinishBackward()

    /// y = activation(W_out r_out) for `rows` states [rows, N] of network `network` (host side, for Trajectory).
    let readouts (parameters: Parameters) (network: int) (states: float32[]) (rows: int) =
        let layout = ParameterLayout.Of arch
        let o = arch.Outputs
        let y = Array.zeroCreate<float32> (rows * o)
        let wOut = network * size + layout.OutputWeights
        for r in 0 .. rows - 1 do
            for k in 0 .. o - 1 do
                let mutable z = 0.0f
                for j in 0 .. arch.OutputUnits - 1 do
                    z <- z + parameters.Values[wOut + k * arch.OutputUnits + j] * states[r * arch.Units + arch.OutputStart + j]
                y[r * o + k] <- z
            Loss.activateRow arch.Readout (Span(y, r * o, o)) o
        y

    /// Device memory that one network takes in training on `batch` (its large arrays: the recorded states and f',
    /// the input currents and their gradient sums, the per-step arrays, the weights and the optimizer) and in
    /// evaluations of `evaluationTrials` trials (two states per trial and the input currents): an estimate of
    /// how many networks fit.
    static member TrainingBytesPerNetwork(arch: Architecture, batch: PreparedBatch, evaluationTrials: int) =
        let tb = batch.Batch
        let row = float (tb.Trials * arch.Units)
        let training =
            float (tb.TrainedSteps + 1) * row + float tb.TrainedSteps * row
            + 2.0 * float batch.Segments * row
            + 12.0 * row
            + 3.0 * float (arch.Units * arch.Units)
            + 4.0 * float arch.ParameterCount
        let evaluation = float (batch.Segments + 8) * float (evaluationTrials * arch.Units)
        4.0 * (training + evaluation)

    member _.Architecture = arch
    member _.Device = device
    member _.Backend = backend

    /// Loss and gradient of each listed network on the batch (CpuEngine.Gradients); every network is computed,
    /// only the listed ones are reported.
    member _.Gradients(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan,
                       noise: NoiseKey, gradients: float32[], ?divergence: float) =
        let divergence = defaultArg divergence infinity
        let results, all =
            exclusive (fun () ->
                let results = forwardBackward parameters batch plan noise
                let all = Array.zeroCreate<float32> (parameters.Networks * size)
                backend.GradientArray.Download(0L, all, 0, all.Length)
                results, all)
        let losses = Array.create parameters.Networks nan
        for m in networks do
            Array.blit all (m * size) gradients (m * size) size
            let struct (r, _) = results[m]
            if Double.IsFinite r.Loss && r.PeakActivity <= divergence then losses[m] <- r.Loss
        losses

    /// One optimizer step of the listed networks: gradients on the device, then Adam for each network whose
    /// loss is finite, whose activity stayed within `divergence` and whose gradient is finite. `nextRate m`
    /// advances network m's Adam step count and returns its learning rate lr_t. The updated parameters are
    /// copied back into `parameters`; the moments stay on the device, continuing `moments` (uploaded the first
    /// time these arrays are seen). Returns each listed network's loss (NaN if diverged) and whether it was
    /// updated.
    member _.TrainStep(parameters: Parameters, moments: struct (float32[] * float32[]), networks: int[], batch: PreparedBatch,
                       plan: SkipPlan, noise: NoiseKey, divergence: float, nextRate: int -> float32,
                       beta1: float32, beta2: float32, epsilon: float32) =
        exclusive (fun () ->
            let results = forwardBackward parameters batch plan noise
            let total = int64 (parameters.Networks * size)
            let struct (m1, m2) = moments
            if not (obj.ReferenceEquals(boundMoments, m1)) then
                first.Ensure total
                second.Ensure total
                first.Upload m1
                second.Upload m2
                boundMoments <- m1
            let losses = Array.create parameters.Networks nan
            let updated = Array.zeroCreate<bool> parameters.Networks
            let networkRates = Array.zeroCreate<float32> parameters.Networks
            for m in networks do
                let struct (r, finiteGradient) = results[m]
                if Double.IsFinite r.Loss && r.PeakActivity <= divergence then
                    losses[m] <- r.Loss
                    if finiteGradient then
                        updated[m] <- true
                        networkRates[m] <- nextRate m
            rates.Ensure(int64 parameters.Networks)
            rates.Upload networkRates
            if total > 0L then
                kernels.Adam.Invoke(Index1D(int total), backend.ParameterArray.View, backend.GradientArray.View, first.View, second.View,
                                    rates.View, size, beta1, beta2, epsilon)
            backend.ParameterArray.Download(0L, parameters.Values, 0, int total)
            momentsAhead <- true
            losses, updated)

    /// Copies the device's Adam moments into the host arrays they continue (after TrainStep).
    member _.DownloadMoments(moments: struct (float32[] * float32[])) =
        let struct (m1, m2) = moments
        exclusive (fun () ->
            if momentsAhead && obj.ReferenceEquals(boundMoments, m1) then
                first.Download(0L, m1, 0, m1.Length)
                second.Download(0L, m2, 0, m2.Length)
                momentsAhead <- false)

    /// Performance of each listed network on the batch (CpuEngine.Evaluate), scored on the device.
    member _.Evaluate(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let k = backend :> IRecurrentKernels
        let all =
            exclusive (fun () ->
                backend.GroupSize <- 0
                backend.RecordStates <- false
                k.Begin(parameters, 0, batch, noise, false)
                Driver.forward k plan batch
                k.Score())
        let scores = Array.create parameters.Networks nan
        for m in networks do scores[m] <- all[m]
        scores

    /// Runs one network forward and returns its recorded states [T, B, N] and readouts [T, B, O]
    /// (CpuEngine.Trajectory).
    member _.Trajectory(parameters: Parameters, network: int, batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let k = backend :> IRecurrentKernels
        exclusive (fun () ->
            backend.GroupSize <- 1
            backend.RecordStates <- true
            try
                k.Begin(parameters, network, batch, noise, false)
                Driver.forward k plan batch
                k.Score() |> ignore
                let states = backend.RecordedStates()
                states, readouts parameters network states (batch.Batch.TrainedSteps * batch.Batch.Trials)
            finally
                backend.GroupSize <- 0
                backend.RecordStates <- false)

    interface IDisposable with
        member _.Dispose() =
            exclusive (fun () ->
                (backend :> IDisposable).Dispose()
                for b in [ first; second; rates ] do (b :> IDisposable).Dispose())
