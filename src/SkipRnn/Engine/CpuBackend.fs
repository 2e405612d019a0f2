namespace SkipRnn.Engine

open System
open System.Numerics.Tensors
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Model

#nowarn "9"

/// The CPU backend for one network at a time (each worker thread owns one). Rows of length N are padded to
/// Np = 16·⌈N/16⌉ so that every row is a whole number of AVX-512 vectors; padded lanes have α = 0 and zero
/// weights, so they stay zero and never touch the real units.
///
/// What the time loop keeps (trained steps only; the burn-in runs in two scratch slots):
///   states  [T+1, B, Np]  slot k = the state before trained step k (slot T = after the last step)
///   fprime  [T, B, Np]    f'(p) of trained step k: one bit per unit for ReLU (f' is 0 or 1), floats otherwise
/// The backward pass computes each state's readout, loss and the weight gradients step by step, so that
/// everything it touches for a step is still in the first-level cache.
[<Sealed>]
type CpuBackend(arch: Architecture) =
    let pad (n: int) = (n + 15) / 16 * 16
    let n = arch.Units
    let np = pad n
    let inputs = arch.Inputs
    let nin = arch.InputUnits
    let ninp = pad nin
    let outputs = arch.Outputs
    let op = pad outputs
    let nout = arch.OutputUnits
    let outStart = arch.OutputStart
    // The output population's columns, widened to whole vectors: [outFirst, outFirst + outWidth).
    let outFirst = outStart / 16 * 16
    let outWidth = pad (outStart + nout) - outFirst
    let layout = ParameterLayout.Of arch
    let relu = (arch.Activation = ReLU)

    // Parameters of the current network, in the layouts the products want.
    let w = new NativeBuffer(n * np)             // W[i, j] at i·Np + j
    let wt = new NativeBuffer(n * np)            // W[i, j] at j·Np + i
    let winT = new NativeBuffer(inputs * ninp)   // W_in[i, k] at k·Ninp + i
    let woutT = new NativeBuffer(nout * op)      // W_out[o, j] at j·Op + o
    let woutFull = new NativeBuffer(outputs * np) // W_out[o, j] at o·Np + OutputStart + j
    let bias = new NativeBuffer(np)
    let alpha = new NativeBuffer(np)
    let unitMask = new NativeBuffer(np)
    let dWt = new NativeBuffer(n * np)
    let dWinT = new NativeBuffer(inputs * ninp)
    let dWoutFull = new NativeBuffer(outputs * np)
    let rawRecurrent = Array.zeroCreate<float32> (n * n)
    do for i in 0 .. n - 1 do unitMask[i] <- 1.0f

    // Sized to the largest batch seen (reallocated only when a larger one comes, never in the time loop).
    let mutable capTrials = 0
    let mutable capSteps = 0
    let mutable capSegments = 0
    let mutable capTraining = false
    let mutable states: NativeBuffer = null
    let mutable burnStates: NativeBuffer = null
    let mutable fprime: NativeBuffer = null
    let mutable readout: NativeBuffer = null
    let mutable targets: NativeBuffer = null
    let mutable currents: NativeBuffer = null
    let mutable currentGrads: NativeBuffer = null
    let mutable segmentInputs: NativeBuffer = null
    let mutable pre: NativeBuffer = null
    let mutable scratchFp: NativeBuffer = null
    let mutable eta: NativeBuffer = null
    let mutable xi: NativeBuffer = null
    let mutable delta: NativeBuffer = null
    let mutable stepDelta: NativeBuffer = null
    let mutable adjoint: NativeBuffer = null
    let mutable carry: NativeBuffer = null
    let mutable gDelta: NativeBuffer = null
    let mutable gId: NativeBuffer = null
    let mutable z: NativeBuffer = null
    let mutable anchors: NativeBuffer = null
    let mutable anchorGrads: NativeBuffer = null
    let mutable levels = 0

    let mutable batch = Unchecked.defaultof<PreparedBatch>
    let mutable targetsOf = Unchecked.defaultof<PreparedBatch>
    let mutable noise = Unchecked.defaultof<NoiseKey>
    let mutable network = 0
    let mutable training = false
    let mutable trials = 0
    let mutable burnIn = 0
    let mutable trained = 0
    let mutable noisy = true
    let mutable loss = 0.0
    let mutable absSum = 0.0
    let mutable peak = 0.0f
    let mutable choices: int[] = [||]
    // When set, every step copies out the state before it and the noise it uses (activity export).
    let mutable recordedStates: float32[] = null
    let mutable recordedNoise: float32[] = null

    let release (b: NativeBuffer) = if not (isNull b) then (b :> IDisposable).Dispose()

    /// Room for `count` skip levels; a level that appears for the first time mid-pass keeps the anchors
    /// already recorded for the others.
    let ensureLevels (count: int) =
        if count > levels then
            let grow (old: NativeBuffer) =
                let fresh = new NativeBuffer(count * capTrials * np)
                if not (isNull old) then
                    old.Span.CopyTo(fresh.Span)
                    release old
                fresh
            anchors <- grow anchors
            anchorGrads <- grow anchorGrads
            levels <- count

    let ensureCapacity (b: int) (steps: int) (totalSteps: int) (segments: int) (isTraining: bool) =
        if b > capTrials || steps > capSteps || segments > capSegments || (isTraining && not capTraining) then
            let b = max b capTrials
            let steps = max steps capSteps
            let segments = max segments capSegments
            let isTraining = isTraining || capTraining
            for buf in [ states; burnStates; fprime; readout; currents; currentGrads; segmentInputs; pre; scratchFp
                         eta; xi; delta; stepDelta; adjoint; carry; gDelta; gId; z; anchors; anchorGrads ] do release buf
            let row = b * np
            states <- new NativeBuffer((steps + 1) * row)
            burnStates <- new NativeBuffer(2 * row)
            // ReLU keeps one bit per unit (16 units to a uint16, two words to a float slot).
            fprime <- if not isTraining then null elif relu then new NativeBuffer(steps * row / 32 + 1) else new NativeBuffer(steps * row)
            readout <- new NativeBuffer(steps * b * op)
            currents <- new NativeBuffer(segments * row)
            currentGrads <- new NativeBuffer(segments * row)
            segmentInputs <- new NativeBuffer(segments * b * inputs)
            pre <- new NativeBuffer(row)
            scratchFp <- new NativeBuffer(row)
            eta <- new NativeBuffer(row)
            xi <- new NativeBuffer(Normal.rowCapacity (b * n))
            delta <- new NativeBuffer(row)
            stepDelta <- new NativeBuffer(row)
            adjoint <- new NativeBuffer(row)
            carry <- new NativeBuffer(row)
            gDelta <- new NativeBuffer(row)
            gId <- new NativeBuffer(row)
            z <- new NativeBuffer(b * op)
            capTrials <- b
            capSteps <- steps
            capSegments <- segments
            capTraining <- isTraining
            let l = max levels 1
            levels <- 0
            anchors <- null
            anchorGrads <- null
            ensureLevels l
        // Padded targets of the whole batch (shared by every network a worker trains on it).
        if isTraining && (isNull targets || targets.Length < totalSteps * b * op) then
            release targets
            targets <- new NativeBuffer(totalSteps * b * op)
            targetsOf <- Unchecked.defaultof<PreparedBatch>

    let rowSize () = trials * np
    /// The active bits of trained step k (ReLU).
    let activeOf (k: int) = NativePtr.add (NativePtr.ofNativeInt<uint16> (NativePtr.toNativeInt fprime.Ptr)) (k * rowSize () / 16)
    let stateBefore (t: int) =
        if t >= burnIn then NativePtr.add states.Ptr ((t - burnIn) * rowSize ())
        else NativePtr.add burnStates.Ptr ((t % 2) * rowSize ())
    let anchorOf (level: int) = NativePtr.add anchors.Ptr (level * rowSize ())
    let anchorGradOf (level: int) = NativePtr.add anchorGrads.Ptr (level * rowSize ())
    let span (p: nativeptr<float32>) (count: int) = Span<float32>(NativePtr.toVoidPtr p, count)
    let buffer (b: RowBuffer) =
        match b with
        | State t -> stateBefore t
        | Increment -> delta.Ptr
        | Anchor level ->
            ensureLevels (level + 1)
            anchorOf level
        | Adjoint -> adjoint.Ptr
        | AnchorAdjoint level ->
            ensureLevels (level + 1)
            anchorGradOf level
        | IncrementAdjoint -> gDelta.Ptr
        | StartAdjoint -> gId.Ptr

    /// Noise row r of this network: row 0 is η(0), row t+1 the innovation after step t.
    let fillNoise (row: int) = Normal.fillRow noise network row (trials * n) xi.Ptr

    let copyTargets () =
        if not (obj.ReferenceEquals(targetsOf, batch)) then
            let tb = batch.Batch
            for r in 0 .. tb.Steps * trials - 1 do
                let dst = NativePtr.add targets.Ptr (r * op)
                for o in 0 .. op - 1 do
                    NativePtr.set dst o (if o < outputs then tb.Targets[r * outputs + o] else 0.0f)
            targetsOf <- batch

    member _.Architecture = arch

    interface IRecurrentKernels with

        member _.Begin(parameters, firstNetwork, prepared, key, isTraining) =
            let tb = prepared.Batch
            ensureCapacity tb.Trials tb.TrainedSteps tb.Steps prepared.Segments isTraining
            trials <- tb.Trials
            batch <- prepared
            noise <- key
            network <- firstNetwork
            training <- isTraining
            burnIn <- tb.BurnIn
            trained <- tb.TrainedSteps
            noisy <- prepared.NoiseScale <> 0.0f
            match tb.Feedback with
            | Some f when choices.Length < f.ChoiceSteps.Length * trials -> choices <- Array.zeroCreate (f.ChoiceSteps.Length * trials)
            | _ -> ()
            if isTraining then copyTargets ()
            let p = parameters.ReadOnlyBlock firstNetwork
            for i in 0 .. n - 1 do
                for j in 0 .. n - 1 do
                    let raw = p[layout.Recurrent + i * n + j]
                    rawRecurrent[i * n + j] <- raw
                    let v = Parameters.effectiveRecurrent arch raw j
                    w[i * np + j] <- v
                    wt[j * np + i] <- v
            for i in 0 .. nin - 1 do
                for k in 0 .. inputs - 1 do
                    winT[k * ninp + i] <- p[layout.InputWeights + i * inputs + k]
            for o in 0 .. outputs - 1 do
                for j in 0 .. nout - 1 do
                    let v = p[layout.OutputWeights + o * nout + j]
                    woutT[j * op + o] <- v
                    woutFull[o * np + outStart + j] <- v
            for i in 0 .. n - 1 do
                bias[i] <- p[layout.Bias + i]
                alpha[i] <- prepared.Alpha[i]
            // Input currents h = W_in x, once per constant-input segment.
            let segRow = trials * inputs
            prepared.SegmentInputs.AsSpan(0, prepared.Segments * segRow).CopyTo(segmentInputs.Span)
            for s in 0 .. prepared.Segments - 1 do
                Gemm.multiply trials ninp inputs (NativePtr.add segmentInputs.Ptr (s * segRow)) inputs 1
                    winT.Ptr ninp (NativePtr.add currents.Ptr (s * rowSize ())) np false
            (span (stateBefore 0) (rowSize ())).Clear()
            (span eta.Ptr (rowSize ())).Clear()
            if noisy then
                fillNoise 0
                Pointwise.ornsteinUhlenbeck trials n np eta.Ptr xi.Ptr 0.0f 1.0f unitMask.Ptr

        member _.Step(t) =
            let rIn = stateBefore t
            let rOut = stateBefore (t + 1)
            let row = rowSize ()
            let h = NativePtr.add currents.Ptr (batch.SegmentOf[t] * row)
            let storing = training && t >= burnIn
            let gain = if noisy then batch.NoiseGain else 0.0f
            if not (isNull recordedStates) then
                for b in 0 .. trials - 1 do
                    for i in 0 .. n - 1 do
                        recordedStates[(t * trials + b) * n + i] <- NativePtr.get rIn (b * np + i)
                        recordedNoise[(t * trials + b) * n + i] <- NativePtr.get eta.Ptr (b * np + i)
            if noisy then fillNoise (t + 1)
            Gemm.multiply trials np n rIn np 1 wt.Ptr np pre.Ptr np false
            if relu then
                let active = if storing then activeOf (t - burnIn) else NativePtr.nullPtr
                Pointwise.eulerRelu trials np n pre.Ptr bias.Ptr h eta.Ptr batch.NoiseScale alpha.Ptr rIn rOut delta.Ptr active
                    xi.Ptr batch.NoiseDecay gain unitMask.Ptr
            else
                Pointwise.addInputs trials np pre.Ptr bias.Ptr h eta.Ptr batch.NoiseScale
                let fpTarget = if storing then NativePtr.add fprime.Ptr ((t - burnIn) * row) else scratchFp.Ptr
                Pointwise.activation arch.Activation (span pre.Ptr row) (span fpTarget row)
                Pointwise.eulerGeneral trials np n pre.Ptr alpha.Ptr rIn rOut delta.Ptr eta.Ptr xi.Ptr batch.NoiseDecay gain unitMask.Ptr

        member _.ApplyFeedback(k) =
            let f = batch.Batch.Feedback.Value
            let r = stateBefore (f.ChoiceSteps[k] + 1)
            Gemm.multiply trials op nout (NativePtr.add r outStart) np 1 woutT.Ptr op z.Ptr op false
            let segment = batch.SegmentOf[f.Windows[k].Start]
            let x = NativePtr.add segmentInputs.Ptr (segment * trials * inputs)
            for b in 0 .. trials - 1 do
                let zb = NativePtr.add z.Ptr (b * op)
                let mutable choice = 0
                for o in 1 .. outputs - 1 do
                    if NativePtr.get zb o > NativePtr.get zb choice then choice <- o
                choices[k * trials + b] <- choice
                let row = NativePtr.add x (b * inputs)
                let right = choice = f.Correct[k * trials + b]
                NativePtr.set row f.CorrectInput (if right then 1.0f else 0.0f)
                NativePtr.set row f.WrongInput (if right then 0.0f else 1.0f)
            Gemm.multiply trials ninp inputs x inputs 1 winT.Ptr ninp (NativePtr.add currents.Ptr (segment * rowSize ())) np false

        member _.Combine(destination, a, x, b, y) =
            Pointwise.combine (rowSize ()) a (buffer x) b (buffer y) (buffer destination)

        member _.BeginBackward() =
            loss <- 0.0
            absSum <- 0.0
            peak <- 0.0f
            (span carry.Ptr (rowSize ())).Clear()
            (span dWt.Ptr (n * np)).Clear()
            (span dWoutFull.Ptr (outputs * np)).Clear()
            (span currentGrads.Ptr (batch.Segments * rowSize ())).Clear()

        member _.BeginBackStep(t) =
            let tb = batch.Batch
            let r = stateBefore (t + 1)
            let activityScale = float32 (arch.ActivityRegularization / float (trained * trials * n))
            Pointwise.stateAdjoint (rowSize ()) carry.Ptr activityScale r adjoint.Ptr &absSum &peak
            let weights = ReadOnlySpan(tb.LossWeights, t * trials, trials)
            if weights.IndexOfAnyExcept(0.0f) >= 0 then
                // z = W_out r_out, then dL/dz row by row.
                Gemm.multiply trials op nout (NativePtr.add r outStart) np 1 woutT.Ptr op z.Ptr op false
                for b in 0 .. trials - 1 do
                    let zb = NativePtr.add z.Ptr (b * op)
                    let wgt = weights[b]
                    if wgt = 0.0f then (span zb op).Clear()
                    else
                        match arch.Readout with
                        | Sigmoid ->
                            let target = NativePtr.add targets.Ptr ((t * trials + b) * op)
                            loss <- loss + float (Pointwise.sigmoidSquaredErrorRow zb target wgt outputs op)
                        | Softmax ->
                            let row = span zb op
                            Loss.activateRow Softmax row outputs
                            let target = ReadOnlySpan(tb.Targets, tb.OutputIndex(t, b), outputs)
                            loss <- loss + Loss.rowLossAndGradient Softmax wgt row target outputs
                            row.Slice(outputs).Clear()
                // adjoint += W_outᵀ dL/dz on the output population;  ∂W_out += dL/dz r_outᵀ.
                Gemm.multiply trials outWidth outputs z.Ptr op 1 (NativePtr.add woutFull.Ptr outFirst) np
                    (NativePtr.add adjoint.Ptr outFirst) np true
                Gemm.multiply outputs outWidth trials z.Ptr 1 op (NativePtr.add r outFirst) np
                    (NativePtr.add dWoutFull.Ptr outFirst) np true

        member _.BackStep(t, split) =
            let row = rowSize ()
            let k = t - burnIn
            let segmentSum = NativePtr.add currentGrads.Ptr (batch.SegmentOf[t] * row)
            if not split then
                if relu then Pointwise.eulerBackwardRelu trials np adjoint.Ptr alpha.Ptr (activeOf k) stepDelta.Ptr carry.Ptr segmentSum
                else Pointwise.eulerBackward trials np adjoint.Ptr alpha.Ptr (NativePtr.add fprime.Ptr (k * row)) stepDelta.Ptr carry.Ptr segmentSum
            else
                let fp =
                    if relu then
                        Pointwise.expandActive row (activeOf k) scratchFp.Ptr
                        scratchFp.Ptr
                    else NativePtr.add fprime.Ptr (k * row)
                Pointwise.eulerBackwardAnchored trials np gDelta.Ptr gId.Ptr alpha.Ptr fp stepDelta.Ptr carry.Ptr segmentSum
            // carry += δ·W  (to the state before step t through the recurrent product);  ∂Wᵀ += r δᵀ.
            Gemm.multiply trials np n stepDelta.Ptr np 1 w.Ptr np carry.Ptr np true
            Gemm.multiply n np trials (NativePtr.add states.Ptr (k * row)) 1 np stepDelta.Ptr np dWt.Ptr np true

        member _.EndBackward(gradients) =
            let row = rowSize ()
            let g = Span<float32>(gradients, network * layout.Count, layout.Count)
            let weightScale = float32 (arch.WeightRegularization / float (n * n))
            let mutable weightSum = 0.0
            for i in 0 .. n - 1 do
                for j in 0 .. n - 1 do
                    let raw = rawRecurrent[i * n + j]
                    weightSum <- weightSum + float (abs raw)
                    let sign = float32 (MathF.Sign raw)
                    let dEffective = dWt[j * np + i]
                    let dRaw = if arch.Dale then dEffective * Parameters.daleSign arch j * sign else dEffective
                    g[layout.Recurrent + i * n + j] <- g[layout.Recurrent + i * n + j] + dRaw + weightScale * sign
            // db and ∂W_in from the per-segment sums of δ.
            let segments = batch.Segments
            for s in 0 .. segments - 1 do
                for b in 0 .. trials - 1 do
                    let src = NativePtr.add currentGrads.Ptr (s * row + b * np)
                    for i in 0 .. n - 1 do
                        g[layout.Bias + i] <- g[layout.Bias + i] + NativePtr.get src i
            Gemm.multiply inputs ninp (segments * trials) segmentInputs.Ptr 1 inputs currentGrads.Ptr np dWinT.Ptr ninp false
            for i in 0 .. nin - 1 do
                for k in 0 .. inputs - 1 do
                    g[layout.InputWeights + i * inputs + k] <- g[layout.InputWeights + i * inputs + k] + dWinT[k * ninp + i]
            for o in 0 .. outputs - 1 do
                for j in 0 .. nout - 1 do
                    g[layout.OutputWeights + o * nout + j] <- g[layout.OutputWeights + o * nout + j] + dWoutFull[o * np + outStart + j]
            let total =
                loss
                + arch.ActivityRegularization * absSum / float (trained * trials * n)
                + arch.WeightRegularization * weightSum / float (n * n)
            [| { Loss = total; PeakActivity = float peak } |]

        member _.Score() =
            let rows = trained * trials
            Gemm.multiply rows op nout (NativePtr.add states.Ptr (rowSize () + outStart)) np 1 woutT.Ptr op readout.Ptr op false
            match arch.Readout with
            | Sigmoid ->
                let all = span readout.Ptr (rows * op)
                TensorPrimitives.Sigmoid(Span.op_Implicit all, all)
            | Softmax ->
                for r in 0 .. rows - 1 do
                    Loss.activateRow Softmax (span (NativePtr.add readout.Ptr (r * op)) op) outputs
            [| Performance.score batch.Batch (ReadOnlySpan(NativePtr.toVoidPtr readout.Ptr, rows * op)) op |]

    /// States after the forward pass: the state after trained step k of `trial`, unit i, at
    /// [(k·B + trial)·N + i] (copied out, for analysis and tests).
    member _.RecordedStates() =
        let row = rowSize ()
        let result = Array.zeroCreate<float32> (trained * trials * n)
        for k in 0 .. trained - 1 do
            for b in 0 .. trials - 1 do
                let src = NativePtr.add states.Ptr ((k + 1) * row + b * np)
                for i in 0 .. n - 1 do
                    result[(k * trials + b) * n + i] <- NativePtr.get src i
        result

    /// Record the coming forward pass (call after Begin): the state before every step, burn-in included, and
    /// the noise each step uses.
    member _.StartRecording() =
        let steps = batch.Batch.Steps
        recordedStates <- Array.zeroCreate ((steps + 1) * trials * n)
        recordedNoise <- Array.zeroCreate (steps * trials * n)

    /// What the recorded pass did: states [Steps+1, B, N] (the last row is the state after the last step),
    /// noise [Steps, B, N], and the input applied at each step [Steps, B, I] (closed-loop feedback included).
    member _.StopRecording() =
        let tb = batch.Batch
        let final = stateBefore tb.Steps
        for b in 0 .. trials - 1 do
            for i in 0 .. n - 1 do
                recordedStates[(tb.Steps * trials + b) * n + i] <- NativePtr.get final (b * np + i)
        let inputsApplied = Array.zeroCreate<float32> (tb.Steps * trials * inputs)
        for t in 0 .. tb.Steps - 1 do
            let segment = batch.SegmentOf[t]
            for k in 0 .. trials * inputs - 1 do
                inputsApplied[t * trials * inputs + k] <- segmentInputs[segment * trials * inputs + k]
        let result = recordedStates, recordedNoise, inputsApplied
        recordedStates <- null
        recordedNoise <- null
        result

    /// The choices made in the last pass with closed-loop feedback, [choice k, trial].
    member _.Choices =
        match batch.Batch.Feedback with
        | Some f -> Array.sub choices 0 (f.ChoiceSteps.Length * trials)
        | None -> [||]

    /// Readouts y after the forward pass and Score, [T, B, O].
    member _.Readouts() =
        let result = Array.zeroCreate<float32> (trained * trials * outputs)
        for r in 0 .. trained * trials - 1 do
            for o in 0 .. outputs - 1 do
                result[r * outputs + o] <- readout[r * op + o]
        result

    interface IDisposable with
        member _.Dispose() =
            for buf in [ w; wt; winT; woutT; woutFull; bias; alpha; unitMask; dWt; dWinT; dWoutFull
                         states; burnStates; fprime; readout; targets; currents; currentGrads; segmentInputs; pre
                         scratchFp; eta; xi; delta; stepDelta; adjoint; carry; gDelta; gId; z; anchors; anchorGrads ] do release buf
