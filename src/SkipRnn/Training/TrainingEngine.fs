namespace SkipRnn.Training

open System
open SkipRnn.Numerics
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Engine.Gpu

/// What the Trainer needs from an engine, on any device: an optimizer step, gradients, evaluation and
/// trajectories of many independent networks. Results agree between devices to float tolerance.
type ITrainingEngine =
    inherit IDisposable
    /// "cpu, 16 workers", "cuda: NVIDIA H200", …
    abstract Description: string
    abstract Architecture: Architecture
    /// One training step of the listed networks: gradients on the batch, then Adam for each network whose loss
    /// is finite, whose activity stayed within `divergence` and whose gradient is finite. Writes each network's
    /// loss (NaN when not finite, past `divergence` or not listed) into `losses` and whether it was updated into
    /// `updated` (both the caller's, one element per network).
    abstract TrainStep: parameters: Parameters * adam: Adam * networks: int[] * batch: PreparedBatch * plan: SkipPlan
                        * noise: NoiseKey * divergence: float * losses: float[] * updated: bool[] -> unit
    /// Loss and gradient of each listed network (CpuEngine.Gradients).
    abstract Gradients: parameters: Parameters * networks: int[] * batch: PreparedBatch * plan: SkipPlan * noise: NoiseKey
                        * gradients: float32[] * ?divergence: float -> float[]
    /// Performance of each listed network on the batch with the plan's dynamics.
    abstract Evaluate: parameters: Parameters * networks: int[] * batch: PreparedBatch * plan: SkipPlan * noise: NoiseKey -> float[]
    /// One network's recorded states [T, B, N] and readouts [T, B, O].
    abstract Trajectory: parameters: Parameters * network: int * batch: PreparedBatch * plan: SkipPlan * noise: NoiseKey -> float32[] * float32[]
    /// Brings the host copies of the optimizer state up to date (an engine may keep it on its device).
    abstract Synchronize: adam: Adam -> unit

/// The CPU engine with the host's Adam: the reference numerics.
[<Sealed>]
type CpuTrainingEngine(arch: Architecture, ?workers: int) =
    let engine = new CpuEngine(arch, ?workers = workers)
    let mutable gradients: float32[] = [||]

    let allFinite (span: ReadOnlySpan<float32>) =
        let mutable ok = true
        for v in span do
            if not (Single.IsFinite v) then ok <- false
        ok

    // What Adam's update of one network reads, set for each TrainStep (so that its delegate is built once).
    let mutable stepParameters = Unchecked.defaultof<Parameters>
    let mutable stepAdam = Unchecked.defaultof<Adam>
    let mutable stepLosses: float[] = [||]
    let mutable stepUpdated: bool[] = [||]
    // Run by the engine's worker right after network m's gradient: each network's Adam state and parameters are
    // its own, so the networks can be updated in any order, on any core.
    let update =
        Action<int>(fun m ->
            let size = arch.ParameterCount
            if Double.IsFinite stepLosses[m] && allFinite (ReadOnlySpan(gradients, m * size, size)) then
                stepAdam.Update(m, stepParameters.Values, gradients)
                stepUpdated[m] <- true)

    member _.Engine = engine

    interface ITrainingEngine with
        member _.Description = sprintf "cpu, %d workers, %s" engine.Workers (SkipRnn.Numerics.Simd.describe ())
        member _.Architecture = arch
        member _.TrainStep(parameters, adam, networks, batch, plan, noise, divergence, losses, updated) =
            if gradients.Length <> parameters.Values.Length then gradients <- Array.zeroCreate parameters.Values.Length
            Array.Fill(updated, false)
            stepParameters <- parameters
            stepAdam <- adam
            stepLosses <- losses
            stepUpdated <- updated
            engine.GradientsInto(parameters, networks, batch, plan, noise, gradients, losses, divergence, update)
        member _.Gradients(parameters, networks, batch, plan, noise, gradients, ?divergence) =
            engine.Gradients(parameters, networks, batch, plan, noise, gradients, ?divergence = divergence)
        member _.Evaluate(parameters, networks, batch, plan, noise) = engine.Evaluate(parameters, networks, batch, plan, noise)
        member _.Trajectory(parameters, network, batch, plan, noise) = engine.Trajectory(parameters, network, batch, plan, noise)
        member _.Synchronize(_) = ()
        member _.Dispose() = (engine :> IDisposable).Dispose()

/// The GPU engine (ILGPU): forward, backward, Adam and scoring on the device.
[<Sealed>]
type GpuTrainingEngine(device: GpuDevice, arch: Architecture) =
    let engine = new GpuEngine(device, arch)

    member _.Engine = engine

    interface ITrainingEngine with
        member _.Description = sprintf "%s: %s" (if device.IsCuda then "cuda" else "ILGPU cpu accelerator") device.Name
        member _.Architecture = arch
        member _.TrainStep(parameters, adam, networks, batch, plan, noise, divergence, losses, updated) =
            let first, second, _ = adam.Moments
            let lossesOnGpu, updatedOnGpu =
                engine.TrainStep(parameters, struct (first, second), networks, batch, plan, noise, divergence, adam.NextRate,
                                 float32 adam.Beta1, float32 adam.Beta2, float32 adam.Epsilon)
            lossesOnGpu.CopyTo(losses, 0)
            updatedOnGpu.CopyTo(updated, 0)
        member _.Gradients(parameters, networks, batch, plan, noise, gradients, ?divergence) =
            engine.Gradients(parameters, networks, batch, plan, noise, gradients, ?divergence = divergence)
        member _.Evaluate(parameters, networks, batch, plan, noise) = engine.Evaluate(parameters, networks, batch, plan, noise)
        member _.Trajectory(parameters, network, batch, plan, noise) = engine.Trajectory(parameters, network, batch, plan, noise)
        member _.Synchronize(adam) =
            let m, v, _ = adam.Moments
            engine.DownloadMoments(struct (m, v))
        member _.Dispose() = (engine :> IDisposable).Dispose()

module TrainingEngine =

    /// The engine for a device: `Cpu` the CPU engine; `Cuda` the first CUDA GPU (raises NoGpuFound without
    /// one); `Auto` a CUDA GPU when there is one, else the CPU.
    let create (arch: Architecture) (device: Device) (workers: int option) : ITrainingEngine =
        match device with
        | Cpu -> new CpuTrainingEngine(arch, ?workers = workers)
        | Cuda -> new GpuTrainingEngine(GpuDevice.Cuda(), arch)
        | Auto ->
            match GpuDevice.TryCuda() with
            | Some d -> new GpuTrainingEngine(d, arch)
            | None -> new CpuTrainingEngine(arch, ?workers = workers)
