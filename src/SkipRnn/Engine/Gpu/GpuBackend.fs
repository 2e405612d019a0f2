namespace SkipRnn.Engine.Gpu

open System
open ILGPU
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

/// The GPU backend: one group of G networks at once — every network from `firstNetwork` on, or `GroupSize` of
/// them — with every per-step array laid out [G, B, N] on the device, one kernel launch per driver call and
/// no copy to or from the host inside the time loop.
///
/// What the time loop keeps (trained steps only; the burn-in runs in the two slots of `ring`):
///   states  [T+1, G, B, N]  slot k = the state before trained step k (when training or recording)
///   fprime  [T, G, B, N]    f'(p) of trained step k; the backward pass overwrites it with δ = ∂L/∂p
/// An evaluation keeps no history: every state lives in `ring` and its readout is scored as soon as it is
/// final (at the next Step), so that 200 trials of 10,000 networks fit on one device.
[<Sealed>]
type GpuBackend(device: GpuDevice, arch: Architecture) =
    let kernels = device.Kernels
    let accelerator = device.Accelerator
    let layout = ParameterLayout.Of arch
    let n = arch.Units
    let inputs = arch.Inputs
    let outputs = arch.Outputs
    let size = layout.Count
    let floats () = new DeviceArray<float32>(accelerator)
    let ints () = new DeviceArray<int>(accelerator)
    let doubles () = new DeviceArray<float>(accelerator)

    let parameters = floats ()          // [G, P]
    let w = floats ()                   // [G, N, N] row-major
    let wt = floats ()                  // [G, N, N] transposed
    let alpha = floats ()
    let sharedInputs = floats ()        // [S, B, I]
    let networkInputs = floats ()       // [S, G, B, I] (closed-loop feedback only)
    let currents = floats ()            // [S, G, B, N]
    let segmentSums = floats ()         // [S, G, B, N]
    let states = floats ()
    let ring = floats ()
    let fprime = floats ()
    let eta = floats ()
    let delta = floats ()
    let adjoint = floats ()
    let carry = floats ()
    let gDelta = floats ()
    let gId = floats ()
    let anchors = floats ()             // [levels, G, B, N]
    let anchorGrads = floats ()
    let dW = floats ()                  // [G, N, N]
    let dWout = floats ()               // [G, O, N_out]
    let dz = floats ()                  // [G, B, O]
    let gradients = floats ()           // [G, P]
    let targets = floats ()             // [steps, B, O]
    let lossWeights = floats ()         // [steps, B]
    let sums = doubles ()               // [G, 2]: loss, Σ|r|
    let weightSums = doubles ()         // [G]
    let peaks = ints ()                 // [G]: max |r| as float bits
    let flags = ints ()                 // [G]: a gradient is not finite
    let correct = ints ()               // [K, B]
    let choices = ints ()               // [K, G, B]
    let scoring = new GpuScoring(device)
    let all: IDisposable list =
        [ parameters; w; wt; alpha; sharedInputs; networkInputs; currents; segmentSums; states; ring; fprime; eta; delta
          adjoint; carry; gDelta; gId; anchors; anchorGrads; dW; dWout; dz; gradients; targets; lossWeights; sums
          weightSums; peaks; flags; correct; choices; scoring ]

    let mutable shape = Unchecked.defaultof<Shape>
    let mutable batch = Unchecked.defaultof<PreparedBatch>
    let mutable noise = Unchecked.defaultof<NoiseKey>
    let mutable group = 0
    let mutable first = 0
    let mutable trials = 0
    let mutable burnIn = 0
    let mutable trained = 0
    let mutable training = false
    let mutable recording = false
    let mutable levels = 0
    let mutable xPerNetwork = 0
    let mutable groupSize = 0
    let mutable recordStates = false

    let rowSize () = int64 (group * trials * n)
    let launch (count: int64) (run: Index1D -> unit) = if count > 0L then run (Index1D(int count))

    /// The state before step t (or, with t = Steps, after the last step).
    let stateBefore (t: int) =
        let row = rowSize ()
        if recording && t >= burnIn then states.Slice(int64 (t - burnIn) * row, row)
        else ring.Slice(int64 (t % 2) * row, row)
    let anchorOf (level: int) = anchors.Slice(int64 level * rowSize (), rowSize ())
    let anchorGradOf (level: int) = anchorGrads.Slice(int64 level * rowSize (), rowSize ())
    let segmentInputs () = if xPerNetwork = 1 then networkInputs.View else sharedInputs.View

    let ensureLevels (count: int) =
        if count > levels then
            anchors.Grow(int64 count * rowSize ())
            anchorGrads.Grow(int64 count * rowSize ())
            levels <- count

    let combine (x: ArrayView<float32>) (a: float32) (y: ArrayView<float32>) (b: float32) (dst: ArrayView<float32>) =
        launch (rowSize ()) (fun i -> kernels.Combine.Invoke(i, x, y, dst, a, b))

    /// Room for the skip level a row buffer names, if any (before any view is taken: the anchors may move).
    let reserve (b: RowBuffer) =
        match b with
        | Anchor level | AnchorAdjoint level -> ensureLevels (level + 1)
        | State _ | Increment | Adjoint | IncrementAdjoint | StartAdjoint -> ()

    let buffer (b: RowBuffer) =
        match b with
        | State t -> stateBefore t
        | Increment -> delta.View
        | Anchor level -> anchorOf level
        | Adjoint -> adjoint.View
        | AnchorAdjoint level -> anchorGradOf level
        | IncrementAdjoint -> gDelta.View
        | StartAdjoint -> gId.View

    /// Scores the state after step t (an evaluation's readout, counted on the device).
    let score (t: int) =
        scoring.ScoreStep(t, parameters.View, stateBefore (t + 1), dz.View, lossWeights.View, shape)

    let uploadTrials (tb: TrialBatch) =
        let rows = tb.Steps * trials
        lossWeights.Ensure(int64 rows)
        lossWeights.Upload(tb.LossWeights, 0, rows, 0L)
        if training then
            targets.Ensure(int64 (rows * outputs))
            targets.Upload(tb.Targets, 0, rows * outputs, 0L)
        else scoring.Prepare(tb, group)

    /// The group's parameters, W and Wᵀ (effective under Dale's law) and α.
    let loadParameters (ps: Parameters) (prepared: PreparedBatch) =
        parameters.Ensure(int64 (group * size))
        parameters.Upload(ps.Values, first * size, group * size, 0L)
        for buffer in [ w; wt; dW ] do buffer.Ensure(int64 (group * n * n))
        launch (int64 (group * n * n)) (fun i -> kernels.EffectiveWeights.Invoke(i, parameters.View, w.View, wt.View, shape))
        alpha.Ensure(int64 n)
        alpha.Upload prepared.Alpha

    /// The inputs (a copy per network under closed-loop feedback) and the input currents h = W_in x, once per
    /// constant-input segment.
    let loadInputs (prepared: PreparedBatch) =
        let segments = prepared.Segments
        sharedInputs.Ensure(int64 (segments * trials * inputs))
        sharedInputs.Upload(prepared.SegmentInputs, 0, segments * trials * inputs, 0L)
        if xPerNetwork = 1 then
            networkInputs.Ensure(int64 segments * int64 group * int64 (trials * inputs))
            launch (int64 segments * int64 group * int64 (trials * inputs)) (fun i ->
                kernels.BroadcastInputs.Invoke(i, sharedInputs.View, networkInputs.View, shape))
        currents.Ensure(int64 segments * rowSize ())
        launch (int64 segments * rowSize ()) (fun i ->
            kernels.InputCurrents.Invoke(i, parameters.View, segmentInputs (), currents.View, shape, 0, xPerNetwork))

    /// The time loop's arrays: the states kept (all of them when training or recording, two otherwise), what
    /// the backward pass needs, the per-network sums.
    let sizeTimeLoop (prepared: PreparedBatch) =
        let row = rowSize ()
        ring.Ensure(2L * row)
        if recording then states.Ensure(int64 (trained + 1) * row)
        if training then
            fprime.Ensure(int64 trained * row)
            segmentSums.Ensure(int64 prepared.Segments * row)
        for buffer in [ eta; delta; adjoint; carry; gDelta; gId ] do buffer.Ensure row
        dz.Ensure(int64 (group * trials * outputs))
        dWout.Ensure(int64 (group * outputs * arch.OutputUnits))
        gradients.Ensure(int64 (group * size))
        sums.Ensure(int64 (2 * group))
        weightSums.Ensure(int64 group)
        peaks.Ensure(int64 group)
        flags.Ensure(int64 group)
        levels <- 0
        ensureLevels 1

    /// r = 0 and the initial noise η(0).
    let resetState (prepared: PreparedBatch) (key: NoiseKey) =
        let row = rowSize ()
        DeviceArray<float32>.Zero(stateBefore 0)
        eta.Clear row
        if prepared.NoiseScale <> 0.0f then
            let args = { Sigma = 0.0f; Decay = 0.0f; Gain = 1.0f; Key0 = key.Key0; Key1 = key.Key1; Row = 0
                         FirstNetwork = first; Noisy = 1; StoreFprime = 0 }
            launch row (fun i -> kernels.InitialNoise.Invoke(i, eta.View, shape, args))

    member _.Architecture = arch
    member _.Device = device

    /// Networks per group: 0 (the default) takes every network from Begin's firstNetwork on.
    member _.GroupSize with get () = groupSize and set v = groupSize <- v
    /// Keep every state of an evaluation pass (for RecordedStates).
    member _.RecordStates with get () = recordStates and set v = recordStates <- v
    member _.Networks = group

    /// The device arrays the engine's optimizer works on: parameters and gradients, [G, P].
    member internal _.ParameterArray = parameters
    member internal _.GradientArray = gradients

    /// Finishes a backward pass on the device: gradients [G, P] stay there; returns, per network of the group,
    /// the loss and peak activity, and whether every gradient is finite.
    member _.FinishBackward() =
        let segments = batch.Segments
        flags.Clear(int64 group)
        launch (int64 (group * size)) (fun i ->
            kernels.FinishGradients.Invoke(i, parameters.View, segmentInputs (), segmentSums.View, dW.View, dWout.View,
                                           gradients.View, flags.View, shape, segments, xPerNetwork,
                                           float32 (arch.WeightRegularization / float (n * n))))
        launch (int64 group) (fun i -> kernels.WeightSums.Invoke(i, parameters.View, weightSums.View, shape))
        let s = Array.zeroCreate<float> (2 * group)
        let ws = Array.zeroCreate<float> group
        let pk = Array.zeroCreate<int> group
        let fl = Array.zeroCreate<int> group
        sums.Download(0L, s, 0, s.Length)
        weightSums.Download(0L, ws, 0, group)
        peaks.Download(0L, pk, 0, group)
        flags.Download(0L, fl, 0, group)
        Array.init group (fun m ->
            let loss =
                s[2 * m]
                + arch.ActivityRegularization * s[2 * m + 1] / float (trained * trials * n)
                + arch.WeightRegularization * ws[m] / float (n * n)
            struct ({ Loss = loss; PeakActivity = float (BitConverter.Int32BitsToSingle pk[m]) }, fl[m] = 0))

    /// States after the forward pass of network `member` of the group (0 for a group of one): the state after
    /// trained step k of `trial`, unit i, at [(k·B + trial)·N + i]. Needs RecordStates or a training pass.
    member _.RecordedStates(?memberIndex: int) =
        let g = defaultArg memberIndex 0
        let row = rowSize ()
        let result = Array.zeroCreate<float32> (trained * trials * n)
        for k in 0 .. trained - 1 do
            states.Download(int64 (k + 1) * row + int64 (g * trials * n), result, k * trials * n, trials * n)
        result

    /// The choices made in the last pass with closed-loop feedback, [choice k, network of the group, trial].
    member _.Choices =
        match batch.Batch.Feedback with
        | ValueSome f ->
            let result = Array.zeroCreate<int> (f.ChoiceSteps.Length * group * trials)
            choices.Download(0L, result, 0, result.Length)
            result
        | ValueNone -> [||]

    interface IRecurrentKernels with

        member _.Begin(ps, firstNetwork, prepared, key, isTraining) =
            let tb = prepared.Batch
            group <- (if groupSize > 0 then groupSize else ps.Networks - firstNetwork)
            if group < 1 || firstNetwork + group > ps.Networks then invalidArg "firstNetwork" "the group lies outside the parameters"
            first <- firstNetwork
            batch <- prepared
            noise <- key
            training <- isTraining
            recording <- isTraining || recordStates
            trials <- tb.Trials
            burnIn <- tb.BurnIn
            trained <- tb.TrainedSteps
            xPerNetwork <- (if tb.Feedback.IsSome then 1 else 0)
            shape <-
                { Networks = group; Trials = trials; Units = n; Inputs = inputs; Outputs = outputs
                  InputUnits = arch.InputUnits; OutputStart = arch.OutputStart; OutputUnits = arch.OutputUnits
                  FastStart = arch.FastStart; ParameterCount = size; InputWeights = layout.InputWeights
                  Recurrent = layout.Recurrent; Bias = layout.Bias; OutputWeights = layout.OutputWeights
                  Dale = (if arch.Dale then 1 else 0)
                  Activation = (match arch.Activation with ReLU -> 0 | Tanh -> 1 | Softplus -> 2)
                  Softmax = (match arch.Readout with Sigmoid -> 0 | Softmax -> 1) }
            loadParameters ps prepared
            loadInputs prepared
            sizeTimeLoop prepared
            match tb.Feedback with
            | ValueSome f ->
                correct.Ensure(int64 f.Correct.Length)
                correct.Upload f.Correct
                choices.Ensure(int64 (f.ChoiceSteps.Length * group * trials))
            | ValueNone -> ()
            uploadTrials tb
            resetState prepared key

        member _.Step(t, _) =
            if not training && t - 1 >= burnIn then score (t - 1)
            let row = rowSize ()
            let noisy = batch.NoiseScale <> 0.0f
            let keep = training && t >= burnIn
            let args =
                { Sigma = batch.NoiseScale; Decay = batch.NoiseDecay; Gain = (if noisy then batch.NoiseGain else 0.0f)
                  Key0 = noise.Key0; Key1 = noise.Key1; Row = t + 1; FirstNetwork = first
                  Noisy = (if noisy then 1 else 0); StoreFprime = (if keep then 1 else 0) }
            let fp = if keep then fprime.Slice(int64 (t - burnIn) * row, row) else delta.View
            let h = currents.Slice(int64 batch.SegmentOf[t] * row, row)
            launch row (fun i ->
                kernels.EulerStep.Invoke(i, wt.View, parameters.View, alpha.View, stateBefore t, stateBefore (t + 1), h,
                                         eta.View, delta.View, fp, shape, args))

        member _.ApplyFeedback(k) =
            let f = batch.Batch.Feedback.Value
            let choiceStep = f.ChoiceSteps[k]
            let start = f.Windows[k].Start
            if not recording && start - (choiceStep + 1) > 1 then
                invalidOp "an evaluation keeps two states: a feedback window must start at most two steps after its choice"
            let segment = batch.SegmentOf[start]
            let perSegment = int64 group * int64 (trials * inputs)
            let x = networkInputs.Slice(int64 segment * perSegment, perSegment)
            launch (int64 (group * trials)) (fun i ->
                kernels.Choose.Invoke(i, parameters.View, stateBefore (choiceStep + 1), dz.View, x,
                                      correct.Slice(int64 (k * trials), int64 trials),
                                      choices.Slice(int64 (k * group * trials), int64 (group * trials)), shape,
                                      f.CorrectInput, f.WrongInput))
            let row = rowSize ()
            launch row (fun i ->
                kernels.InputCurrents.Invoke(i, parameters.View, networkInputs.View, currents.View, shape, segment, 1))

        member _.Combine(destination, a, x, b, y) =
            reserve destination
            reserve x
            reserve y
            combine (buffer x) a (buffer y) b (buffer destination)

        member _.BeginBackward() =
            let row = rowSize ()
            carry.Clear row
            dW.Clear(int64 (group * n * n))
            dWout.Clear(int64 (group * outputs * arch.OutputUnits))
            segmentSums.Clear(int64 batch.Segments * row)
            sums.Clear(int64 (2 * group))
            peaks.Clear(int64 group)

        member _.BeginBackStep(t) =
            let tb = batch.Batch
            let hasLoss = ReadOnlySpan(tb.LossWeights, t * trials, trials).IndexOfAnyExcept(0.0f) >= 0
            let activityScale = float32 (arch.ActivityRegularization / float (trained * trials * n))
            launch (int64 (group * trials)) (fun i ->
                kernels.StateAdjoint.Invoke(i, parameters.View, stateBefore (t + 1), carry.View, adjoint.View, dz.View,
                                            lossWeights.Slice(int64 (t * trials), int64 trials),
                                            targets.Slice(int64 (t * trials * outputs), int64 (trials * outputs)),
                                            sums.View, peaks.View, shape, activityScale, (if hasLoss then 1 else 0)))

        member _.BackStep(t, split) =
            let row = rowSize ()
            let k = t - burnIn
            let fpDelta = fprime.Slice(int64 k * row, row)
            let segmentSum = segmentSums.Slice(int64 batch.SegmentOf[t] * row, row)
            let gD, gI = if split then gDelta.View, gId.View else adjoint.View, adjoint.View
            launch row (fun i -> kernels.EulerBackward.Invoke(i, gD, gI, alpha.View, fpDelta, carry.View, segmentSum, shape))
            let hasLoss = ReadOnlySpan(batch.Batch.LossWeights, t * trials, trials).IndexOfAnyExcept(0.0f) >= 0
            let count = row + int64 (group * n * n) + (if hasLoss then int64 (group * outputs * arch.OutputUnits) else 0L)
            launch count (fun i ->
                kernels.BackProducts.Invoke(i, w.View, fpDelta, states.Slice(int64 k * row, row), stateBefore (t + 1), dz.View,
                                            carry.View, dW.View, dWout.View, shape))

        member this.EndBackward(target) =
            let results = this.FinishBackward()
            let all = Array.zeroCreate<float32> (group * size)
            gradients.Download(0L, all, 0, all.Length)
            for m in 0 .. group - 1 do
                for q in 0 .. size - 1 do
                    let i = (first + m) * size + q
                    target[i] <- target[i] + all[m * size + q]
            results |> Array.map (fun struct (r, _) -> r)

        member _.Score() =
            score (batch.Batch.Steps - 1)
            scoring.Performances()

    interface IDisposable with
        member _.Dispose() = for b in all do b.Dispose()
