namespace SkipRnn.Engine.Gpu

open System
open ILGPU
open SkipRnn.Tasks
open SkipRnn.Model

/// The GPU backend's score of an evaluation pass: each state's readout is counted on the device as soon as it
/// is final (Performance.Counts, by the batch's Scoring), so that no history is kept.
[<Sealed>]
type internal GpuScoring(device: GpuDevice) =
    let kernels = device.Kernels
    let accelerator = device.Accelerator
    let counters = new DeviceArray<int>(accelerator)         // [G, Kernels.ScoreCounters]
    let answers = new DeviceArray<int>(accelerator)          // [B]: 0 for a Respond trial, 1 otherwise
    let directions = new DeviceArray<float>(accelerator)     // [B, 2]: cos, sin of the answer's direction
    let ringDirections = new DeviceArray<float>(accelerator) // [2 · Ring.Units]: sin ψ_k, then cos ψ_k
    let targetClass = new DeviceArray<int>(accelerator)      // [steps, B]: argmax of the target
    let mutable batch = Unchecked.defaultof<TrialBatch>
    let mutable group = 0
    // The batch's Scoring as the kernel takes it (the windows are set per step).
    let mutable scoring = Unchecked.defaultof<ScoreArgs>

    /// Uploads what scoring a batch needs and clears the counts of a group of networks.
    member _.Prepare(tb: TrialBatch, networks: int) =
        batch <- tb
        group <- networks
        let threshold, cosTolerance =
            match tb.Scoring with
            | FixationAndDirection (threshold, tolerance) -> threshold, cos tolerance
            | ByChoice -> 0.0f, 0.0
        scoring <-
            { InFixation = 0; InResponse = 0; Choice = (if tb.Scoring = ByChoice then 1 else 0)
              FixationThreshold = threshold; CosTolerance = cosTolerance; RingUnits = Ring.Units }
        let trials = tb.Trials
        let outputs = tb.OutputSize
        let rows = tb.Steps * trials
        let classes = Array.init rows (fun r ->
            let mutable best = 0
            for o in 1 .. outputs - 1 do
                if tb.Targets[r * outputs + o] > tb.Targets[r * outputs + best] then best <- o
            best)
        targetClass.Ensure(int64 rows)
        targetClass.Upload classes
        answers.Ensure(int64 trials)
        answers.Upload(tb.Answers |> Array.map (function Respond _ -> 0 | _ -> 1))
        directions.Ensure(int64 (2 * trials))
        directions.Upload(tb.Answers |> Array.collect (function Respond d -> [| cos d; sin d |] | _ -> [| 1.0; 0.0 |]))
        ringDirections.Ensure(int64 (2 * Ring.Units))
        ringDirections.Upload(Array.append (Array.init Ring.Units (fun k -> sin (Ring.preferred k)))
                                           (Array.init Ring.Units (fun k -> cos (Ring.preferred k))))
        counters.Ensure(int64 (group * Kernels.ScoreCounters))
        counters.Clear(int64 (group * Kernels.ScoreCounters))

    /// Counts the readout of the state after step t (`state`), using `scratch` [G, B, O] for the readout.
    member _.ScoreStep(t: int, parameters: ArrayView<float32>, state: ArrayView<float32>, scratch: ArrayView<float32>,
                       lossWeights: ArrayView<float32>, shape: Shape) =
        let trials = batch.Trials
        let args =
            { scoring with
                InFixation = (if batch.FixationWindow.Contains t then 1 else 0)
                InResponse = (if batch.ResponseWindow.Contains t then 1 else 0) }
        if args.Choice = 1 || args.InFixation = 1 || args.InResponse = 1 then
            let count = group * trials
            if count > 0 then
                kernels.ScoreStep.Invoke(Index1D count, parameters, state, scratch, answers.View, directions.View,
                                         ringDirections.View, lossWeights.SubView(int64 (t * trials), int64 trials),
                                         targetClass.Slice(int64 (t * trials), int64 trials), counters.View, shape, args)

    /// The performance of each network of the group from its counts.
    member _.Performances() =
        let c = Array.zeroCreate<int> (group * Kernels.ScoreCounters)
        counters.Download(0L, c, 0, c.Length)
        Array.init group (fun m ->
            let at i = int64 c[m * Kernels.ScoreCounters + i]
            Performance.ofCounts batch
                { Performance.FixationHeld = at 0; HeldOnFixate = at 1; ReleasedOnRespond = at 2; OnTarget = at 3
                  Scored = at 4; Correct = at 5 })

    interface IDisposable with
        member _.Dispose() =
            for b in [ counters :> IDisposable; answers; directions; ringDirections; targetClass ] do b.Dispose()
