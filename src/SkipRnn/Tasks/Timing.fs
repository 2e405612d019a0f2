namespace SkipRnn.Tasks

open System

/// Trial timing in seconds (SPEC §3). Every duration is configurable; these are the authors' values.
type Timing =
    { /// Seconds per time step of the generated batch (θ·dt when training with coarsened discretization).
      Dt: float
      BurnIn: float
      Fixation: float
      /// Length of each stimulus period.
      Stimulus: float
      Delay: float
      Response: float
      /// Half-width J of the training jitter: each period but the response lasts a uniform integer number
      /// of steps in [T − J, T + J). Zero disables jitter.
      Jitter: float
      /// Scoring and loss start this long after the burn-in and into the response period.
      Grace: float
      /// Rule reversal (SPEC §7): each trial is sample (Stimulus), response (Response), feedback, wait.
      Feedback: float
      Wait: float
      /// Rule reversal: the loss and the score start this long into each response period.
      ChoiceGrace: float }

    static member Default =
        { Dt = 0.005; BurnIn = 1.0; Fixation = 0.5; Stimulus = 0.5; Delay = 1.0; Response = 0.5
          Jitter = 0.1; Grace = 0.2; Feedback = 0.5; Wait = 0.5; ChoiceGrace = 0.1 }

    /// Whole steps in a duration, as the authors' code counts them: ⌊seconds / dt⌋ (with a guard against
    /// 0.5/0.005 landing on 99.999…).
    member t.Steps(seconds: float) = int (Math.Floor(seconds / t.Dt + 1e-9))

    /// The same timing on a grid θ times coarser (coarsened discretization).
    member t.Coarsened(theta: float) = { t with Dt = t.Dt * theta }

/// How to draw one batch.
type BatchSettings =
    { Trials: int
      Timing: Timing
      /// Draw jittered durations (training) or use the nominal ones (evaluation).
      Jittered: bool
      /// Arrays to lay the batch out in, reused from batch to batch (a trainer's); None: fresh arrays.
      Buffers: BatchBuffers option }

/// The large arrays of a trial batch (inputs, targets, loss weights), kept from one batch to the next so that
/// a training step allocates none: each grows to the largest batch seen and is handed out cleared. A batch laid
/// out in them is valid until the next one is; its arrays may be longer than it needs (every reader indexes
/// by the batch's sizes).
and [<Sealed>] BatchBuffers() =
    let mutable inputs: float32[] = [||]
    let mutable targets: float32[] = [||]
    let mutable lossWeights: float32[] = [||]
    // A quarter of headroom, so that the next batch's jitter rarely needs a larger one.
    let take (current: float32[]) (length: int) =
        if current.Length < length then Array.zeroCreate<float32> (length + length / 4)
        else
            System.Array.Clear(current, 0, length)
            current

    member _.Inputs(length: int) =
        inputs <- take inputs length
        inputs
    member _.Targets(length: int) =
        targets <- take targets length
        targets
    member _.LossWeights(length: int) =
        lossWeights <- take lossWeights length
        lossWeights

module BatchBuffers =

    /// The three arrays of a batch: from the buffers, or fresh.
    let take (buffers: BatchBuffers option) (inputs: int) (targets: int) (lossWeights: int) =
        match buffers with
        | Some b -> b.Inputs inputs, b.Targets targets, b.LossWeights lossWeights
        | None -> Array.zeroCreate<float32> inputs, Array.zeroCreate<float32> targets, Array.zeroCreate<float32> lossWeights
