namespace SkipRnn.Engine

open System
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Model

#nowarn "9"

/// The CPU backend for one network at a time (each worker thread owns one): the step kernels the driver calls.
/// Its memory and parameter packing are CpuWorkspace's, its readout, loss and score CpuReadout's, and activity
/// recording CpuRecording's. The backward pass computes each state's readout, loss and the weight gradients step
/// by step, so that everything it touches for a step is still in the first-level cache.
[<Sealed>]
type CpuBackend(arch: Architecture) =
    let ws = new CpuWorkspace(arch)
    let n = arch.Units
    let np = ws.Padded
    let ninp = ws.InputsPadded
    let op = ws.OutputsPadded
    let inputs = arch.Inputs
    let outputs = arch.Outputs
    let relu = ws.IsRelu
    let layout = ws.Layout

    let mutable batch = Unchecked.defaultof<PreparedBatch>
    let mutable noise = Unchecked.defaultof<NoiseKey>
    let mutable network = 0
    let mutable training = false
    let mutable noisy = true
    let mutable choices: int[] = [||]
    // The one-network results of EndBackward and Score, reused (valid until the next call).
    let backwardResult = Array.zeroCreate<BackwardResult> 1
    let score = Array.zeroCreate<float> 1
    let mutable recording: CpuRecording = Unchecked.defaultof<CpuRecording>
    // Scores counted step by step, no trajectory kept (see ScoresOnly), and the counts so far.
    let mutable scoresOnlyWanted = false
    let mutable scoresOnly = false
    let mutable counts = Performance.noCounts
    // The backward pass's running sums: readout loss, Σ|r| and max |r| of the trained states.
    let mutable loss = 0.0
    let mutable absSum = 0.0
    let mutable peak = 0.0f

    let trials () = ws.Trials
    let rowSize () = ws.RowSize
    let burnIn () = batch.Batch.BurnIn
    let trained () = batch.Batch.TrainedSteps
    let span (p: nativeptr<float32>) (count: int) = Span<float32>(NativePtr.toVoidPtr p, count)

    /// Two state slots hold the states before steps t − 1 and t when feedback is applied before step t: they
    /// suffice for a pass scored as it goes if each feedback window starts at most two steps after its choice step.
    let feedbackNear (prepared: PreparedBatch) =
        match prepared.Batch.Feedback with
        | ValueSome f ->
            let mutable near = true
            for k in 0 .. f.Windows.Length - 1 do
                if f.Windows[k].Start > f.ChoiceSteps[k] + 2 then near <- false
            near
        | ValueNone -> true

    /// Gathers ∂W into the parameters' order (under Dale's law times its column's sign, so that ∂W_raw =
    /// ∂W·sign(raw)) and returns Σ|W_raw|, summed beside it: the sum enters the loss, so it stays one chain of
    /// additions in that order. (A function of its own: inside EndBackward the JIT kept the sum in memory, which
    /// tripled the chain's latency.)
    let gatherRecurrentGradient () =
        let raw = ws.RawRecurrent.Ptr
        let dWt = ws.DWt.Ptr
        let dW = ws.DW.Ptr
        let dale = arch.Dale
        let mutable weightSum = 0.0
        for i in 0 .. n - 1 do
            for j in 0 .. n - 1 do
                weightSum <- weightSum + float (abs (NativePtr.get raw (i * n + j)))
                let dEffective = NativePtr.get dWt (j * np + i)
                NativePtr.set dW (i * n + j) (if dale then dEffective * Parameters.daleSign arch j else dEffective)
        weightSum

    /// Noise row r of this network: row 0 is η(0), row t+1 the innovation after step t.
    let fillNoise (row: int) = Normal.fillRow noise network row (trials () * n) ws.Xi.Ptr

    member _.Architecture = arch

    /// The buffers (for tests).
    member internal _.Workspace = ws

    /// Forward passes that are only scored (evaluation): the readouts are counted step by step and no trajectory
    /// is kept, so the pass stays in the cache. Not for a batch whose closed-loop feedback reads a state older than
    /// the step before its window (then the trajectory is kept anyway), nor with Trajectory, Record or Readouts.
    member _.ScoresOnly with get () = scoresOnlyWanted and set v = scoresOnlyWanted <- v

    interface IRecurrentKernels with

        member _.Begin(parameters, firstNetwork, prepared, key, isTraining) =
            scoresOnly <- scoresOnlyWanted && not isTraining && feedbackNear prepared
            counts <- Performance.noCounts
            ws.Prepare(prepared, isTraining, not scoresOnly)
            batch <- prepared
            noise <- key
            network <- firstNetwork
            training <- isTraining
            noisy <- prepared.NoiseScale <> 0.0f
            let trials = trials ()
            match prepared.Batch.Feedback with
            | ValueSome f when choices.Length < f.ChoiceSteps.Length * trials -> choices <- Array.zeroCreate (f.ChoiceSteps.Length * trials)
            | _ -> ()
            ws.LoadParameters(parameters, firstNetwork, prepared)
            // Input currents h = W_in x, once per constant-input segment.
            let segRow = trials * inputs
            prepared.SegmentInputs.AsSpan(0, prepared.Segments * segRow).CopyTo(ws.SegmentInputs.Span)
            for s in 0 .. prepared.Segments - 1 do
                Gemm.multiply trials arch.InputUnits inputs (NativePtr.add ws.SegmentInputs.Ptr (s * segRow)) inputs 1
                    ws.WinT.Ptr ninp (NativePtr.add ws.Currents.Ptr (s * rowSize ())) np false
            (span (ws.StateBefore 0) (rowSize ())).Clear()
            (span ws.Eta.Ptr (rowSize ())).Clear()
            if noisy then
                fillNoise 0
                Pointwise.ornsteinUhlenbeck trials n np ws.Eta.Ptr ws.Xi.Ptr 0.0f 1.0f ws.UnitMask.Ptr

        member _.Step(t, keepIncrement) =
            let rIn = ws.StateBefore t
            let rOut = ws.StateBefore(t + 1)
            let row = rowSize ()
            let trials = trials ()
            let h = NativePtr.add ws.Currents.Ptr (batch.SegmentOf[t] * row)
            let storing = training && t >= burnIn ()
            let gain = if noisy then batch.NoiseGain else 0.0f
            // The state before step t is final now (after step t − 1's mixes): count it before its slot is reused.
            if scoresOnly && t > burnIn () then counts <- CpuReadout.countStep ws arch batch.Batch (t - 1) rIn counts
            if not (isNull (box recording)) then recording.BeforeStep t
            if noisy then fillNoise (t + 1)
            Gemm.multiply trials n n rIn np 1 ws.Wt.Ptr np ws.Pre.Ptr np false
            if relu then
                let active = if storing then ws.ActiveOf(t - burnIn ()) else NativePtr.nullPtr
                let delta = if keepIncrement then ws.Delta.Ptr else NativePtr.nullPtr
                Pointwise.eulerRelu trials np n ws.Pre.Ptr ws.Bias.Ptr h ws.Eta.Ptr batch.NoiseScale ws.Alpha.Ptr rIn rOut delta active
                    ws.Xi.Ptr batch.NoiseDecay gain ws.UnitMask.Ptr
            else
                Pointwise.addInputs trials np ws.Pre.Ptr ws.Bias.Ptr h ws.Eta.Ptr batch.NoiseScale
                let fpTarget = if storing then NativePtr.add ws.Fprime.Ptr ((t - burnIn ()) * row) else ws.ScratchFp.Ptr
                Pointwise.activation arch.Activation (span ws.Pre.Ptr row) (span fpTarget row)
                Pointwise.eulerGeneral trials np n ws.Pre.Ptr ws.Alpha.Ptr rIn rOut ws.Delta.Ptr ws.Eta.Ptr ws.Xi.Ptr batch.NoiseDecay gain ws.UnitMask.Ptr

        member _.ApplyFeedback(k) =
            let f = batch.Batch.Feedback.Value
            let trials = trials ()
            let r = ws.StateBefore(f.ChoiceSteps[k] + 1)
            let z = ws.Z.Ptr
            Gemm.multiply trials outputs arch.OutputUnits (NativePtr.add r arch.OutputStart) np 1 ws.WoutT.Ptr op z op false
            let segment = batch.SegmentOf[f.Windows[k].Start]
            let x = NativePtr.add ws.SegmentInputs.Ptr (segment * trials * inputs)
            for b in 0 .. trials - 1 do
                let zb = NativePtr.add z (b * op)
                let mutable choice = 0
                for o in 1 .. outputs - 1 do
                    if NativePtr.get zb o > NativePtr.get zb choice then choice <- o
                choices[k * trials + b] <- choice
                let row = NativePtr.add x (b * inputs)
                let right = choice = f.Correct[k * trials + b]
                NativePtr.set row f.CorrectInput (if right then 1.0f else 0.0f)
                NativePtr.set row f.WrongInput (if right then 0.0f else 1.0f)
            Gemm.multiply trials arch.InputUnits inputs x inputs 1 ws.WinT.Ptr ninp (NativePtr.add ws.Currents.Ptr (segment * rowSize ())) np false

        member _.Combine(destination, a, x, b, y) =
            ws.Reserve destination
            ws.Reserve x
            ws.Reserve y
            Pointwise.combine (rowSize ()) a (ws.Row x) b (ws.Row y) (ws.Row destination)

        member _.BeginBackward() =
            loss <- 0.0
            absSum <- 0.0
            peak <- 0.0f
            (span ws.Carry.Ptr (rowSize ())).Clear()
            (span ws.DWt.Ptr (n * np)).Clear()
            (span ws.DWoutFull.Ptr (outputs * np)).Clear()
            (span ws.CurrentGrads.Ptr (batch.Segments * rowSize ())).Clear()

        member _.BeginBackStep(t) =
            let r = ws.StateBefore(t + 1)
            let activityScale = float32 (arch.ActivityRegularization / float (trained () * trials () * n))
            Pointwise.stateAdjoint (rowSize ()) ws.Carry.Ptr activityScale r ws.Adjoint.Ptr &absSum &peak
            loss <- CpuReadout.lossAndAdjoint ws arch batch.Batch t loss

        member _.BackStep(t, split) =
            let row = rowSize ()
            let trials = trials ()
            let k = t - burnIn ()
            let segmentSum = NativePtr.add ws.CurrentGrads.Ptr (batch.SegmentOf[t] * row)
            if not split then
                if relu then Pointwise.eulerBackwardRelu trials np n ws.Adjoint.Ptr ws.Alpha.Ptr (ws.ActiveOf k) ws.StepDelta.Ptr ws.Carry.Ptr segmentSum
                else Pointwise.eulerBackward trials np ws.Adjoint.Ptr ws.Alpha.Ptr (NativePtr.add ws.Fprime.Ptr (k * row)) ws.StepDelta.Ptr ws.Carry.Ptr segmentSum
            else
                let fp =
                    if relu then
                        Pointwise.expandActive row (ws.ActiveOf k) ws.ScratchFp.Ptr
                        ws.ScratchFp.Ptr
                    else NativePtr.add ws.Fprime.Ptr (k * row)
                Pointwise.eulerBackwardAnchored trials np ws.IncrementAdjoint.Ptr ws.StartAdjoint.Ptr ws.Alpha.Ptr fp ws.StepDelta.Ptr ws.Carry.Ptr segmentSum
            // carry += δ·W  (to the state before step t through the recurrent product);  ∂Wᵀ += r δᵀ. (∂W += δ rᵀ
            // would be contiguous for EndBackward but round differently: the AVX2 kernel sums a lone row's even and
            // odd trials apart, and the lone rows would be other units'.)
            Gemm.multiply trials n n ws.StepDelta.Ptr np 1 ws.W.Ptr np ws.Carry.Ptr np true
            Gemm.multiply n n trials (NativePtr.add ws.States.Ptr (k * row)) 1 np ws.StepDelta.Ptr np ws.DWt.Ptr np true

        member _.EndBackward(gradients) =
            let row = rowSize ()
            let trials = trials ()
            use block = fixed &gradients[network * layout.Count]
            let g (offset: int) = NativePtr.add block offset
            let weightScale = float32 (arch.WeightRegularization / float (n * n))
            let weightSum = gatherRecurrentGradient ()
            Pointwise.recurrentGradient (n * n) (g layout.Recurrent) ws.RawRecurrent.Ptr ws.DW.Ptr weightScale arch.Dale
            // db and ∂W_in from the per-segment sums of δ.
            let segments = batch.Segments
            for s in 0 .. segments - 1 do
                for b in 0 .. trials - 1 do
                    Pointwise.accumulate n (NativePtr.add ws.CurrentGrads.Ptr (s * row + b * np)) (g layout.Bias)
            Gemm.multiply inputs arch.InputUnits (segments * trials) ws.SegmentInputs.Ptr 1 inputs ws.CurrentGrads.Ptr np ws.DWinT.Ptr ninp false
            let dWinT = ws.DWinT.Ptr
            for i in 0 .. arch.InputUnits - 1 do
                let gi = g (layout.InputWeights + i * inputs)
                for k in 0 .. inputs - 1 do
                    NativePtr.set gi k (NativePtr.get gi k + NativePtr.get dWinT (k * ninp + i))
            for o in 0 .. outputs - 1 do
                Pointwise.accumulate arch.OutputUnits (NativePtr.add ws.DWoutFull.Ptr (o * np + arch.OutputStart))
                    (g (layout.OutputWeights + o * arch.OutputUnits))
            let total =
                loss
                + arch.ActivityRegularization * absSum / float (trained () * trials * n)
                + arch.WeightRegularization * weightSum / float (n * n)
            backwardResult[0] <- { Loss = total; PeakActivity = float peak }
            backwardResult

        member _.Score() =
            let tb = batch.Batch
            if scoresOnly then
                // The state after the last step, which no Step counted.
                let all = if tb.Steps > tb.BurnIn then CpuReadout.countStep ws arch tb (tb.Steps - 1) (ws.StateBefore tb.Steps) counts else counts
                score[0] <- Performance.ofCounts tb all
            else
                CpuReadout.readAll ws arch (trained ())
                score[0] <- CpuReadout.score ws tb (trained ())
            score

    /// States after the forward pass: the state after trained step k of `trial`, unit i, at
    /// [(k·B + trial)·N + i] (copied out, for analysis and tests).
    member _.RecordedStates() =
        let row = rowSize ()
        let trials = trials ()
        let trained = trained ()
        let result = Array.zeroCreate<float32> (trained * trials * n)
        for k in 0 .. trained - 1 do
            for b in 0 .. trials - 1 do
                let src = NativePtr.add ws.States.Ptr ((k + 1) * row + b * np)
                for i in 0 .. n - 1 do
                    result[(k * trials + b) * n + i] <- NativePtr.get src i
        result

    /// Record the coming forward pass (call after Begin): the state before every step, burn-in included, and
    /// the noise each step uses.
    member _.StartRecording() = recording <- new CpuRecording(ws, batch)

    /// What the recorded pass did: states [Steps+1, B, N] (the last row is the state after the last step),
    /// noise [Steps, B, N], and the input applied at each step [Steps, B, I] (closed-loop feedback included).
    member _.StopRecording() =
        let result = recording.Finish()
        recording <- Unchecked.defaultof<CpuRecording>
        result

    /// The choices made in the last pass with closed-loop feedback, [choice k, trial].
    member _.Choices =
        match batch.Batch.Feedback with
        | ValueSome f -> Array.sub choices 0 (f.ChoiceSteps.Length * trials ())
        | ValueNone -> [||]

    /// Readouts y after the forward pass and Score, [T, B, O].
    member _.Readouts() = CpuReadout.copyOut ws outputs (trained ())

    interface IDisposable with
        member _.Dispose() = (ws :> IDisposable).Dispose()
