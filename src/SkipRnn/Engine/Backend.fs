namespace SkipRnn.Engine

open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Numerics

/// A trial batch with what every backend derives from it once, for all networks: the runs of steps over
/// which the input is constant (so W_in·x is computed once per run, not once per step) and the Euler
/// constants at the batch's dt. Like the batch's, its arrays may be longer than it needs when laid out in
/// reused buffers (PreparedBuffers): read them by Segments and the batch's sizes.
[<Struct>]
type PreparedBatch =
    { Batch: TrialBatch
      Segments: int
      /// First step of each constant-input segment.
      SegmentStarts: int[]
      /// Segment of each step.
      SegmentOf: int[]
      /// [segments, trials, inputs]: the input of each segment.
      SegmentInputs: float32[]
      /// dt/τ_i per unit.
      Alpha: float32[]
      /// η ← NoiseDecay·η + NoiseGain·ξ (Ornstein–Uhlenbeck at the batch's dt).
      NoiseDecay: float32
      NoiseGain: float32
      NoiseScale: float32
      /// Per step: the closed-loop feedback k whose window starts there, or −1.
      FeedbackAt: int[] }

/// The arrays of a prepared batch, kept from one batch to the next (a trainer's, beside its BatchBuffers): each
/// grows to the largest batch seen, with a quarter of headroom. A batch prepared in them is valid until the next.
[<Sealed>]
type PreparedBuffers() =
    let mutable segmentStarts: int[] = [||]
    let mutable segmentOf: int[] = [||]
    let mutable segmentInputs: float32[] = [||]
    let mutable feedbackAt: int[] = [||]
    let mutable alpha: float32[] = [||]
    let take (current: 'T[]) (length: int) = if current.Length < length then Array.zeroCreate<'T> (Capacity.withHeadroom length) else current

    member _.SegmentStarts(length) = segmentStarts <- take segmentStarts length; segmentStarts
    member _.SegmentOf(length) = segmentOf <- take segmentOf length; segmentOf
    member _.SegmentInputs(length) = segmentInputs <- take segmentInputs length; segmentInputs
    member _.FeedbackAt(length) = feedbackAt <- take feedbackAt length; feedbackAt
    /// Exactly one element per unit (a GPU uploads it whole).
    member _.Alpha(units) =
        if alpha.Length <> units then alpha <- Array.zeroCreate units
        alpha

module PreparedBatch =

    /// Whether a feedback window ends right before step t (its segment ends there).
    let private feedbackEndsAt (batch: TrialBatch) (t: int) =
        match batch.Feedback with
        | ValueSome f ->
            let mutable found = false
            for w in f.Windows do
                if w.End = t then found <- true
            found
        | ValueNone -> false

    /// Whether the inputs of step t (rows of `rowLength`) are those of step t − 1.
    let private sameInputsAsPrevious (inputs: float32[]) (rowLength: int) (t: int) =
        let a = System.ReadOnlySpan(inputs, t * rowLength, rowLength)
        let b = System.ReadOnlySpan(inputs, (t - 1) * rowLength, rowLength)
        System.MemoryExtensions.SequenceEqual(a, b)

    /// Prepares `batch` in `buffers`.
    let prepareIn (buffers: PreparedBuffers) (arch: Architecture) (batch: TrialBatch) =
        if batch.InputSize <> arch.Inputs then
            invalidArg "batch" (sprintf "the task has %d inputs but the network expects %d" batch.InputSize arch.Inputs)
        if batch.OutputSize <> arch.Outputs then
            invalidArg "batch" (sprintf "the task has %d outputs but the network expects %d" batch.OutputSize arch.Outputs)
        let steps = batch.Steps
        let feedbackAt = buffers.FeedbackAt steps
        Array.fill feedbackAt 0 steps -1
        // Feedback windows are segments of their own: their input is completed per network during the pass.
        match batch.Feedback with
        | ValueSome f ->
            for k in 0 .. f.Windows.Length - 1 do feedbackAt[f.Windows[k].Start] <- k
        | ValueNone -> ()
        let rowLength = batch.Trials * batch.InputSize
        let segmentOf = buffers.SegmentOf steps
        let mutable segments = 0
        for t in 0 .. steps - 1 do
            if t = 0 || feedbackAt[t] >= 0 || feedbackEndsAt batch t || not (sameInputsAsPrevious batch.Inputs rowLength t) then
                segments <- segments + 1
            segmentOf[t] <- segments - 1
        let starts = buffers.SegmentStarts segments
        let segmentInputs = buffers.SegmentInputs(segments * rowLength)
        for t in steps - 1 .. -1 .. 0 do
            let s = segmentOf[t]
            starts[s] <- t
        for s in 0 .. segments - 1 do
            System.Array.Copy(batch.Inputs, starts[s] * rowLength, segmentInputs, s * rowLength, rowLength)
        let dt = batch.Dt
        let alpha = buffers.Alpha arch.Units
        for i in 0 .. arch.Units - 1 do alpha[i] <- float32 (dt / arch.TauOf i)
        { Batch = batch
          Segments = segments
          SegmentStarts = starts
          SegmentOf = segmentOf
          SegmentInputs = segmentInputs
          Alpha = alpha
          NoiseDecay = float32 (1.0 - dt / arch.NoiseTau)
          NoiseGain = float32 (sqrt (2.0 * dt / arch.NoiseTau))
          NoiseScale = float32 arch.NoiseScale
          FeedbackAt = feedbackAt }

    /// Prepares `batch` in arrays of its own.
    let prepare (arch: Architecture) (batch: TrialBatch) = prepareIn (PreparedBuffers()) arch batch

/// What a backward pass finds out about one network besides its gradient.
[<Struct>]
type BackwardResult =
    { /// The loss of the batch (NaN or ∞ when the network has diverged).
      Loss: float
      /// The largest |r| over the recorded states (for the divergence check).
      PeakActivity: float }

/// A row buffer of the group ([G, B, N], like the state) that the driver combines.
[<Struct>]
type RowBuffer =
    /// The state before step `step` (the state after step `step` − 1, its mixes included).
    | State of step: int
    /// The increment Δ of the last Step.
    | Increment
    /// The anchor of a skip level.
    | Anchor of level: int
    /// Backward pass: the adjoint of the state after the step being reversed.
    | Adjoint
    /// Backward pass: the adjoint of a skip level's anchor.
    | AnchorAdjoint of anchorLevel: int
    /// Backward pass: ∂L/∂Δ of the step being reversed, when it differs from the adjoint (see BackStep).
    | IncrementAdjoint
    /// Backward pass: ∂L/∂r_before through the identity term of r_after = r_before + Δ, when it differs from
    /// the adjoint (see BackStep).
    | StartAdjoint

/// What a backend does for one group of networks (one network per worker on the CPU; all networks at once
/// on a GPU) inside the time loop. The driver decides which of these to call when — the integrator's
/// math — and the backend only computes. Step t reads the state before step t and writes the state after
/// it; "the state after step t" is what is read out, regularized and mixed.
type IRecurrentKernels =
    /// Copy the group's parameters in (effective W under Dale's law) and set up the batch: input currents
    /// per segment, the initial noise η(0), the zero initial state. `training` keeps what the backward pass needs.
    abstract Begin: parameters: Parameters * firstNetwork: int * batch: PreparedBatch * noise: NoiseKey * training: bool -> unit
    /// Euler step t: Δ = α ⊙ (−r + f(W r + b + h + σ η)), r ← r + Δ, then η advances. `keepIncrement`: whether
    /// an anchor of this step reads Δ (Increment); without, a backend need not write it.
    abstract Step: t: int * keepIncrement: bool -> unit
    /// Closed-loop feedback k (called before the first step of its window): each trial's choice is the argmax
    /// of the readout after its choice step; the feedback input (correct or wrong) is added to the window's
    /// input for that trial.
    abstract ApplyFeedback: k: int -> unit
    /// destination ← a·x + b·y, element by element (any of the three may be the same buffer).
    abstract Combine: destination: RowBuffer * a: float32 * x: RowBuffer * b: float32 * y: RowBuffer -> unit
    /// Start the backward pass (after the last Step).
    abstract BeginBackward: unit -> unit
    /// The adjoint of the state after step t: what flows back from step t+1, plus this state's own loss
    /// terms (readout error, activity regularizer).
    abstract BeginBackStep: t: int -> unit
    /// Reverse of Euler step t: with `split`, ∂L/∂Δ is IncrementAdjoint and the identity term passes
    /// StartAdjoint on; without, both are the Adjoint.
    abstract BackStep: t: int * split: bool -> unit
    /// Finish the backward pass: the gradients of the group's networks are written to their blocks of
    /// `gradients`; returns each network's loss and peak activity (an array the backend may reuse: valid until
    /// the next call).
    abstract EndBackward: gradients: float32[] -> BackwardResult[]
    /// Task performance of each network of the group on the batch (after a forward pass; valid until the next call).
    abstract Score: unit -> float[]
