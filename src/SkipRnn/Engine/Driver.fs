namespace SkipRnn.Engine

open SkipRnn.Model

/// The one loop that runs any integrator, forward and backward, on any backend: the skip plan says which
/// anchors are taken and which mixes applied at each step; the backend does the arithmetic.
module Driver =

    /// Steps 0 .. Steps−1: closed-loop feedback whose window starts here, the Euler step, then the anchors of
    /// skips starting at it, then the mixes of skips ending at it (in level order).
    let forward (kernels: IRecurrentKernels) (plan: SkipPlan) (batch: PreparedBatch) =
        for t in 0 .. plan.Steps - 1 do
            let k = batch.FeedbackAt[t]
            if k >= 0 then kernels.ApplyFeedback k
            kernels.Step t
            for s in plan.AnchoredAt[t] do
                kernels.Anchor(s.Level, (match s.Kind with Aligned -> s.Theta | Plain -> 0.0f))
            for s in plan.EndingAt[t] do
                kernels.Mix(s.Level, s.Beta)

    /// Backpropagation through time over the trained steps, in reverse: the state's own loss terms, then the
    /// mixes undone (last applied first), then the Euler step together with the anchors taken at it.
    /// Nothing flows into the burn-in.
    let backward (kernels: IRecurrentKernels) (plan: SkipPlan) (burnIn: int) =
        kernels.BeginBackward()
        for t in plan.Steps - 1 .. -1 .. burnIn do
            kernels.BeginBackStep t
            let ending = plan.EndingAt[t]
            for i in ending.Length - 1 .. -1 .. 0 do
                kernels.Unmix(ending[i].Level, ending[i].Beta)
            kernels.BackStep(t, plan.AnchoredAt[t])
