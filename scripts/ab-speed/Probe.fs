/// What scripts/ab-speed.sh times, on one worker: a training step's forward and backward of one network (control,
/// DASC40) on a dmc batch of 20 trials (800 steps), and an evaluation pass of one network over 200 trials.
namespace AbSpeed

open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

type Probe() =
    static let task = (Catalog.tryFind "dmc").Value
    static let arch = Architecture.Standard(50, task.InputSize, task.OutputSize)
    static let parameters = Parameters.initialize arch 2 1UL
    static let batch = task.Generate { Trials = 20; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create 1UL)
    static let prepared = PreparedBatch.prepare arch batch
    static let gradients = Array.zeroCreate<float32> parameters.Values.Length
    static let engine = new CpuEngine(arch, 1)
    static let noise = NoiseKey.Create(1UL, 4UL, 0UL)
    static let control = Integrator.plan Euler batch
    static let dasc = Integrator.plan (WithSkips(Aligned, 40, 0.5)) batch
    static let evaluationBatch =
        PreparedBatch.prepare arch (task.Generate { Trials = 200; Timing = Timing.Default; Jittered = false; Buffers = None } (Rng.Create 2UL))
    static let evaluationPlan = SkipPlan.Empty evaluationBatch.Batch.Steps
    static member Control() = engine.Gradients(parameters, [| 0 |], prepared, control, noise, gradients) |> ignore
    static member Dasc40() = engine.Gradients(parameters, [| 0 |], prepared, dasc, noise, gradients) |> ignore
    static member Evaluation() = engine.Evaluate(parameters, [| 0 |], evaluationBatch, evaluationPlan, noise) |> ignore
