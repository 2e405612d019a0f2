namespace SkipRnn.Engine

open SkipRnn.Model

/// The one loop that runs any integrator, forward and backward, on any backend: the skip plan says which
/// anchors are taken and which mixes applied at each step, and the driver writes them, and their adjoints,
/// as linear combinations of the backend's row buffers. The backend does the arithmetic.
module Driver =

    /// anchor(level) ← r + w·Δ, where r is the state before the step or after its mixes.
    let private takeAnchor (kernels: IRecurrentKernels) (state: RowBuffer) (s: Skip) =
        kernels.Combine(RowBuffer.Anchor s.Level, 1.0f, state, s.Anchor.IncrementWeight, Increment)

    /// Steps 0 .. Steps−1: closed-loop feedback whose window starts here, the Euler step, the anchors taken
    /// from the state before it, the mixes of skips ending at it (in level order), then the anchors taken
    /// after those mixes.
    let forward (kernels: IRecurrentKernels) (plan: SkipPlan) (batch: PreparedBatch) =
        for t in 0 .. plan.Steps - 1 do
            let k = batch.FeedbackAt[t]
            if k >= 0 then kernels.ApplyFeedback k
            kernels.Step(t, plan.AnchoredAt[t].Length > 0 || plan.AnchoredAfter[t].Length > 0)
            for s in plan.AnchoredAt[t] do takeAnchor kernels (State t) s
            for s in plan.EndingAt[t] do
                // r ← β·r + (1 − β)·anchor
                kernels.Combine(State(t + 1), s.Beta, State(t + 1), 1.0f - s.Beta, RowBuffer.Anchor s.Level)
            for s in plan.AnchoredAfter[t] do takeAnchor kernels (State(t + 1)) s

    /// Backpropagation through time over the trained steps, in reverse: the state's own loss terms, the
    /// anchors taken after the mixes, the mixes undone (last applied first), then the Euler step together
    /// with the anchors taken from the state before it. Nothing flows into the burn-in.
    let backward (kernels: IRecurrentKernels) (plan: SkipPlan) (burnIn: int) =
        kernels.BeginBackward()
        for t in plan.Steps - 1 .. -1 .. burnIn do
            kernels.BeginBackStep t
            // Anchors r_after + w·Δ: the state after the mixes receives their adjoint, and Δ w times it, kept
            // in IncrementAdjoint because undoing the mixes overwrites the anchors' adjoints.
            let after = plan.AnchoredAfter[t]
            for i in 0 .. after.Length - 1 do
                let s = after[i]
                kernels.Combine(Adjoint, 1.0f, Adjoint, 1.0f, AnchorAdjoint s.Level)
                if i = 0 then kernels.Combine(IncrementAdjoint, s.Anchor.IncrementWeight, AnchorAdjoint s.Level, 0.0f, AnchorAdjoint s.Level)
                else kernels.Combine(IncrementAdjoint, 1.0f, IncrementAdjoint, s.Anchor.IncrementWeight, AnchorAdjoint s.Level)
            // Mixes r ← β·r + (1 − β)·anchor: the anchor receives (1 − β)·adjoint, the state keeps β·adjoint.
            let ending = plan.EndingAt[t]
            for i in ending.Length - 1 .. -1 .. 0 do
                let s = ending[i]
                kernels.Combine(AnchorAdjoint s.Level, 1.0f - s.Beta, Adjoint, 0.0f, Adjoint)
                kernels.Combine(Adjoint, s.Beta, Adjoint, 0.0f, Adjoint)
            // Anchors r_before + w·Δ of this step: r_before receives their adjoint through the identity term
            // of r_after = r_before + Δ, and Δ w times it.
            let before = plan.AnchoredAt[t]
            if before.Length = 0 && after.Length = 0 then kernels.BackStep(t, false)
            else
                if after.Length = 0 then kernels.Combine(IncrementAdjoint, 1.0f, Adjoint, 0.0f, Adjoint)
                else kernels.Combine(IncrementAdjoint, 1.0f, IncrementAdjoint, 1.0f, Adjoint)
                kernels.Combine(StartAdjoint, 1.0f, Adjoint, 0.0f, Adjoint)
                for s in before do
                    kernels.Combine(StartAdjoint, 1.0f, StartAdjoint, 1.0f, AnchorAdjoint s.Level)
                    if s.Anchor.IncrementWeight <> 0.0f then
                        kernels.Combine(IncrementAdjoint, 1.0f, IncrementAdjoint, s.Anchor.IncrementWeight, AnchorAdjoint s.Level)
                kernels.BackStep(t, true)
