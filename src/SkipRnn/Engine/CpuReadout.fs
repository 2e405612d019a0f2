namespace SkipRnn.Engine

open System
open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model

#nowarn "9"

/// The CPU backend's readout: y = g(W_out r_out) of the output population, its loss and their adjoints in the
/// backward pass, and the task's score after a forward pass.
module internal CpuReadout =

    let private span (p: nativeptr<float32>) (count: int) = Span<float32>(NativePtr.toVoidPtr p, count)

    /// The readout error of the state after step t (when the step carries loss): adjoint += W_outᵀ dL/dz on the
    /// output population and ∂W_out += dL/dz r_outᵀ. Returns the running loss `lossSoFar` plus the step's, row
    /// by row (the order of the sums is the one every CPU run has had).
    let lossAndAdjoint (ws: CpuWorkspace) (arch: Architecture) (tb: TrialBatch) (t: int) (lossSoFar: float) =
        let trials = ws.Trials
        let op = ws.OutputsPadded
        let np = ws.Padded
        let outputs = arch.Outputs
        // The adjoint and ∂W_out over the output population, from the start of its first vector.
        let outFirst = arch.OutputStart / 16 * 16
        let outColumns = arch.OutputStart + arch.OutputUnits - outFirst
        let weights = ReadOnlySpan(tb.LossWeights, t * trials, trials)
        let mutable loss = lossSoFar
        if weights.IndexOfAnyExcept(0.0f) >= 0 then
            let r = ws.StateBefore(t + 1)
            let z = ws.Z.Ptr
            // z = W_out r_out, then dL/dz row by row.
            Gemm.multiply trials outputs arch.OutputUnits (NativePtr.add r arch.OutputStart) np 1 ws.WoutT.Ptr op z op false
            if arch.Readout = Sigmoid then Pointwise.sigmoidRows trials outputs op z
            use targets = fixed tb.Targets
            for b in 0 .. trials - 1 do
                let zb = NativePtr.add z (b * op)
                let wgt = weights[b]
                if wgt = 0.0f then (span zb op).Clear()
                else
                    match arch.Readout with
                    | Sigmoid ->
                        // The kernel reads a whole padded row of targets (and ignores the lanes past the outputs):
                        // a row too near the end of the batch's array is read from a copy with room after it.
                        let at = tb.OutputIndex(t, b)
                        let target =
                            if at + op <= tb.Targets.Length then NativePtr.add targets at
                            else
                                for o in 0 .. outputs - 1 do NativePtr.set ws.TargetRow.Ptr o tb.Targets[at + o]
                                ws.TargetRow.Ptr
                        loss <- loss + float (Pointwise.sigmoidSquaredErrorRow zb target wgt outputs op)
                    | Softmax ->
                        let row = span zb op
                        Loss.activateRow Softmax row outputs
                        let target = ReadOnlySpan(tb.Targets, tb.OutputIndex(t, b), outputs)
                        loss <- loss + Loss.rowLossAndGradient Softmax wgt row target outputs
                        row.Slice(outputs).Clear()
            Gemm.multiply trials outColumns outputs z op 1 (NativePtr.add ws.WoutFull.Ptr outFirst) np
                (NativePtr.add ws.Adjoint.Ptr outFirst) np true
            Gemm.multiply outputs outColumns trials z 1 op (NativePtr.add r outFirst) np
                (NativePtr.add ws.DWoutFull.Ptr outFirst) np true
        loss

    /// y = g(W_out r_out) of `rows` consecutive states from `states` into `y` ([rows, Op]): of the first `outputs`
    /// outputs at least (the product's whole vectors; a sigmoid's outputs are independent, so the rest can wait).
    let private read (ws: CpuWorkspace) (arch: Architecture) (rows: int) (outputs: int) (states: nativeptr<float32>) (y: nativeptr<float32>) =
        let op = ws.OutputsPadded
        let columns = if arch.Readout = Sigmoid then outputs else arch.Outputs
        Gemm.multiply rows columns arch.OutputUnits (NativePtr.add states arch.OutputStart) ws.Padded 1 ws.WoutT.Ptr op y op false
        match arch.Readout with
        | Sigmoid -> Pointwise.sigmoidRows rows (min outputs arch.Outputs) op y
        | Softmax ->
            for r in 0 .. rows - 1 do
                Loss.activateRow Softmax (span (NativePtr.add y (r * op)) op) arch.Outputs

    /// The readouts y of every trained state, [T, B, Op] in the workspace (after a forward pass that kept them).
    let readAll (ws: CpuWorkspace) (arch: Architecture) (trained: int) =
        read ws arch (trained * ws.Trials) arch.Outputs (NativePtr.add ws.States.Ptr ws.RowSize) ws.Readout.Ptr

    /// `counts` plus the score's counts of the state after step t (`state`), when that step is scored: its
    /// readouts (those the score reads) are computed in the workspace's Z row and counted at once (a pass that
    /// keeps no trajectory).
    let countStep (ws: CpuWorkspace) (arch: Architecture) (tb: TrialBatch) (t: int) (state: nativeptr<float32>) (counts: Performance.Counts) =
        if not (Performance.isScored tb t) then counts
        else
            read ws arch ws.Trials (Performance.outputsRead tb t) state ws.Z.Ptr
            Performance.countStep tb t (ReadOnlySpan(NativePtr.toVoidPtr ws.Z.Ptr, ws.Trials * ws.OutputsPadded)) ws.OutputsPadded counts

    /// The task's score of the readouts (after `readAll`), by the batch's Scoring.
    let score (ws: CpuWorkspace) (tb: TrialBatch) (trained: int) =
        let op = ws.OutputsPadded
        Performance.score tb (ReadOnlySpan(NativePtr.toVoidPtr ws.Readout.Ptr, trained * ws.Trials * op)) op

    /// The readouts [T, B, O] (after `readAll`), unpadded.
    let copyOut (ws: CpuWorkspace) (outputs: int) (trained: int) =
        let op = ws.OutputsPadded
        let result = Array.zeroCreate<float32> (trained * ws.Trials * outputs)
        for r in 0 .. trained * ws.Trials - 1 do
            for o in 0 .. outputs - 1 do
                result[r * outputs + o] <- ws.Readout[r * op + o]
        result
