namespace SkipRnn.Engine

open Microsoft.FSharp.NativeInterop
open SkipRnn.Numerics

#nowarn "9"

/// A forward pass of the CPU backend, recorded for activity export: the state before every step (burn-in
/// included) and the noise each step uses, unpadded, then the final state and the inputs as applied.
[<Sealed>]
type internal CpuRecording(ws: CpuWorkspace, batch: PreparedBatch) =
    let tb = batch.Batch
    let n = ws.Units
    let np = ws.Padded
    let trials = tb.Trials
    let states = Array.zeroCreate<float32> ((tb.Steps + 1) * trials * n)
    let noise = Array.zeroCreate<float32> (tb.Steps * trials * n)

    /// Before step t: its starting state and its noise.
    member _.BeforeStep(t: int) =
        let r = ws.StateBefore t
        for b in 0 .. trials - 1 do
            for i in 0 .. n - 1 do
                states[(t * trials + b) * n + i] <- NativePtr.get r (b * np + i)
                noise[(t * trials + b) * n + i] <- NativePtr.get ws.Eta.Ptr (b * np + i)

    /// States [Steps+1, B, N] (the last row is the state after the last step), noise [Steps, B, N], and the
    /// input applied at each step [Steps, B, I] (closed-loop feedback included).
    member _.Finish() =
        let final = ws.StateBefore tb.Steps
        for b in 0 .. trials - 1 do
            for i in 0 .. n - 1 do
                states[(tb.Steps * trials + b) * n + i] <- NativePtr.get final (b * np + i)
        let inputs = tb.InputSize
        let inputsApplied = Array.zeroCreate<float32> (tb.Steps * trials * inputs)
        for t in 0 .. tb.Steps - 1 do
            let segment = batch.SegmentOf[t]
            for k in 0 .. trials * inputs - 1 do
                inputsApplied[t * trials * inputs + k] <- ws.SegmentInputs[segment * trials * inputs + k]
        states, noise, inputsApplied
