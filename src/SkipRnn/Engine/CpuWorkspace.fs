namespace SkipRnn.Engine

open System
open System.Runtime.InteropServices
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Model

#nowarn "9"

/// The memory of the CPU backend for one network at a time: its parameters in the layouts the products want,
/// and the time loop's buffers, sized to the largest batch seen (reallocated only when a larger one comes,
/// never in the time loop). Rows of length N are padded to Np = 16·⌈N/16⌉ so that every row is a whole number
/// of AVX-512 vectors; padded lanes have α = 0 and zero weights, so they stay zero and never touch the real
/// units (the narrower paths do not even write those past their last vector with a real unit: `Gemm`,
/// `Simd.wholeVectors`).
///
/// What the time loop keeps (trained steps only; the burn-in, and a pass scored as it goes, run in two scratch
/// slots):
///   states  [T+1, B, Np]  slot k = the state before trained step k (slot T = after the last step)
///   fprime  [T, B, Np]    f'(p) of trained step k: one bit per unit for ReLU (f' is 0 or 1), floats otherwise
[<Sealed>]
type internal CpuWorkspace(arch: Architecture) =
    let n = arch.Units
    let np = Gemm.padded n
    let inputs = arch.Inputs
    let nin = arch.InputUnits
    let ninp = Gemm.padded nin
    let outputs = arch.Outputs
    let op = Gemm.padded outputs
    let nout = arch.OutputUnits
    let outStart = arch.OutputStart
    let layout = ParameterLayout.Of arch
    let relu = (arch.Activation = ReLU)

    let release (b: NativeBuffer) = if not (isNull b) then (b :> IDisposable).Dispose()

    // Parameters of the current network.
    let w = new NativeBuffer(n * np)             // W[i, j] at i·Np + j
    let wt = new NativeBuffer(n * np)            // W[i, j] at j·Np + i
    let winT = new NativeBuffer(inputs * ninp)   // W_in[i, k] at k·Ninp + i
    let woutT = new NativeBuffer(nout * op)      // W_out[o, j] at j·Op + o
    let woutFull = new NativeBuffer(outputs * np) // W_out[o, j] at o·Np + OutputStart + j
    let bias = new NativeBuffer(np)
    let alpha = new NativeBuffer(np)
    let unitMask = new NativeBuffer(np)
    let targetRow = new NativeBuffer(op)
    do targetRow.Span.Clear()
    let dWt = new NativeBuffer(n * np)           // ∂W[i, j] at j·Np + i, as the weight-gradient product accumulates it
    let dW = new NativeBuffer(n * n)             // ∂W[i, j] at i·N + j, the parameters' order (EndBackward's)
    let dWinT = new NativeBuffer(inputs * ninp)
    let dWoutFull = new NativeBuffer(outputs * np)
    let rawRecurrent = new NativeBuffer(n * n)   // W_raw[i, j] at i·N + j, as the parameters hold it
    do for i in 0 .. n - 1 do unitMask[i] <- 1.0f

    // The time loop's buffers.
    let mutable capTrials = 0
    let mutable capStateRows = 0
    let mutable capFprimeRows = 0
    let mutable capSegments = 0
    let mutable states: NativeBuffer = null
    let mutable burnStates: NativeBuffer = null
    let mutable fprime: NativeBuffer = null
    let mutable readout: NativeBuffer = null
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

    // The batch in use.
    let mutable trials = 0
    let mutable burnIn = 0
    // A pass that keeps no trajectory: every state in the two scratch slots.
    let mutable scoresOnly = false

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

    let rowSize () = trials * np

    let copy (src: nativeptr<float32>) (dst: nativeptr<float32>) (count: int) =
        NativeMemory.Copy(NativePtr.toVoidPtr src, NativePtr.toVoidPtr dst, unativeint count * 4un)

    /// dst[j·ldd + i] ← src[i·lds + j] for i < rows, j < cols.
    let transpose (rows: int) (cols: int) (src: nativeptr<float32>) (lds: int) (dst: nativeptr<float32>) (ldd: int) =
        for i in 0 .. rows - 1 do
            for j in 0 .. cols - 1 do
                NativePtr.set dst (j * ldd + i) (NativePtr.get src (i * lds + j))

    let stateBefore (t: int) =
        if t >= burnIn && not scoresOnly then NativePtr.add states.Ptr ((t - burnIn) * rowSize ())
        else NativePtr.add burnStates.Ptr ((t % 2) * rowSize ())

    member _.Units = n
    member _.Padded = np
    member _.InputsPadded = ninp
    member _.OutputsPadded = op
    member _.Layout = layout
    member _.IsRelu = relu

    member _.W = w
    member _.Wt = wt
    member _.WinT = winT
    member _.WoutT = woutT
    member _.WoutFull = woutFull
    member _.Bias = bias
    member _.Alpha = alpha
    member _.UnitMask = unitMask
    member _.DWt = dWt
    member _.DW = dW
    member _.DWinT = dWinT
    member _.DWoutFull = dWoutFull
    member _.RawRecurrent = rawRecurrent

    member _.States = states
    member _.Fprime = fprime
    member _.Readout = readout
    /// One row of targets followed by slack (Op floats): for the batch's last rows, whose targets the loss kernel,
    /// reading whole padded rows, would otherwise read past the end of the batch's array.
    member _.TargetRow = targetRow
    member _.Currents = currents
    member _.CurrentGrads = currentGrads
    member _.SegmentInputs = segmentInputs
    member _.Pre = pre
    member _.ScratchFp = scratchFp
    member _.Eta = eta
    member _.Xi = xi
    member _.Delta = delta
    member _.StepDelta = stepDelta
    member _.Adjoint = adjoint
    member _.Carry = carry
    member _.IncrementAdjoint = gDelta
    member _.StartAdjoint = gId
    member _.Z = z

    /// Trials of the batch in use, and floats in one of its rows of states (B·Np).
    member _.Trials = trials
    member _.RowSize = rowSize ()
    /// The state before step t (t = Steps: after the last step).
    member _.StateBefore(t: int) = stateBefore t
    /// The active bits of trained step k (ReLU).
    member _.ActiveOf(k: int) =
        NativePtr.add (NativePtr.ofNativeInt<uint16> (NativePtr.toNativeInt fprime.Ptr)) (k * rowSize () / 16)

    /// Makes room for the skip level a row buffer names, if it names one (before any pointer is taken: the
    /// anchors may move).
    member _.Reserve(b: RowBuffer) =
        match b with
        | Anchor level | AnchorAdjoint level -> ensureLevels (level + 1)
        | State _ | Increment | Adjoint | IncrementAdjoint | StartAdjoint -> ()

    /// A row buffer of the driver's (its level reserved).
    member _.Row(b: RowBuffer) =
        match b with
        | State t -> stateBefore t
        | Increment -> delta.Ptr
        | Anchor level -> NativePtr.add anchors.Ptr (level * rowSize ())
        | Adjoint -> adjoint.Ptr
        | AnchorAdjoint level -> NativePtr.add anchorGrads.Ptr (level * rowSize ())
        | IncrementAdjoint -> gDelta.Ptr
        | StartAdjoint -> gId.Ptr

    /// Makes room for a batch and sets it as the one in use; with `isTraining`, what the backward pass needs. With `keepsStates`
    /// false (a forward pass scored as it goes), only the last two states are kept, in the scratch slots.
    member _.Prepare(prepared: PreparedBatch, isTraining: bool, keepsStates: bool) =
        scoresOnly <- not keepsStates
        let tb = prepared.Batch
        let b, steps, segments = tb.Trials, tb.TrainedSteps, prepared.Segments
        if b > capTrials || segments > capSegments then
            let b = max b capTrials
            let segments = max segments capSegments
            for buf in [ burnStates; currents; currentGrads; segmentInputs; pre; scratchFp
                         eta; xi; delta; stepDelta; adjoint; carry; gDelta; gId; z; anchors; anchorGrads ] do release buf
            let row = b * np
            burnStates <- new NativeBuffer(2 * row)
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
            capSegments <- segments
            let l = max levels 1
            levels <- 0
            anchors <- null
            anchorGrads <- null
            ensureLevels l
        // Buffers over the batch's steps grow to the longest batch seen; in training with headroom for the jitter.
        let room (rows: int) = if isTraining then Capacity.withHeadroom rows else rows
        // The trajectory's buffers, sized by the largest batch that kept one (an evaluation scored as it goes,
        // with its many trials, keeps none).
        if keepsStates && (steps + 1) * b > capStateRows then
            release states
            release readout
            capStateRows <- room ((steps + 1) * b)
            states <- new NativeBuffer(capStateRows * np)
            readout <- new NativeBuffer(capStateRows * op)
        if isTraining && steps * b > capFprimeRows then
            release fprime
            capFprimeRows <- room (steps * b)
            // ReLU keeps one bit per unit (16 units to a uint16, two words to a float slot).
            fprime <- if relu then new NativeBuffer(capFprimeRows * np / 32 + 1) else new NativeBuffer(capFprimeRows * np)
        trials <- tb.Trials
        burnIn <- tb.BurnIn

    /// Copies network `network`'s parameters in (effective W under Dale's law) with the batch's α.
    member _.LoadParameters(parameters: Parameters, network: int, prepared: PreparedBatch) =
        use block = fixed &parameters.Values[network * layout.Count]
        let p (offset: int) = NativePtr.add block offset
        copy (p layout.Recurrent) rawRecurrent.Ptr (n * n)
        for i in 0 .. n - 1 do
            copy (p (layout.Recurrent + i * n)) (NativePtr.add w.Ptr (i * np)) n
        if arch.Dale then
            let fastStart = arch.FastStart
            for i in 0 .. n - 1 do
                let row = NativePtr.add w.Ptr (i * np)
                for j in 0 .. n - 1 do
                    NativePtr.set row j (VectorField.daleWeight (NativePtr.get row j) j fastStart)
        transpose n n w.Ptr np wt.Ptr np
        transpose nin inputs (p layout.InputWeights) inputs winT.Ptr ninp
        transpose outputs nout (p layout.OutputWeights) nout woutT.Ptr op
        for o in 0 .. outputs - 1 do
            copy (p (layout.OutputWeights + o * nout)) (NativePtr.add woutFull.Ptr (o * np + outStart)) nout
        copy (p layout.Bias) bias.Ptr n
        prepared.Alpha.AsSpan(0, n).CopyTo(alpha.Span)

    interface IDisposable with
        member _.Dispose() =
            for buf in [ w; wt; winT; woutT; woutFull; bias; alpha; unitMask; dWt; dW; dWinT; dWoutFull; rawRecurrent
                         states; burnStates; fprime; readout; targetRow; currents; currentGrads; segmentInputs; pre
                         scratchFp; eta; xi; delta; stepDelta; adjoint; carry; gDelta; gId; z; anchors; anchorGrads ] do release buf
