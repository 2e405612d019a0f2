namespace SkipRnn.Tasks

open System
open SkipRnn.Numerics

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

/// The arrays of a trial batch, kept from one batch to the next so that a training step allocates none. The large
/// ones (inputs, targets, loss weights) grow to the largest batch seen and are handed out cleared, so they may be
/// longer than a batch needs (every reader indexes them by the batch's sizes); those of the batch's description
/// (periods, answers, conditions with their stimuli and rules, boundaries, feedback) have the batch's own lengths
/// and are overwritten by the generator. A batch laid out in them is valid until the next one is.
and [<Sealed>] BatchBuffers private (reused: bool) =
    let mutable inputs: float32[] = [||]
    let mutable targets: float32[] = [||]
    let mutable lossWeights: float32[] = [||]
    let mutable periods: Period[] = [||]
    let mutable answers: Answer[] = [||]
    let mutable conditions: TrialCondition[] = [||]
    let mutable stimuli: Stimulus[][] = [||]
    let mutable rules: int[][] = [||]
    let mutable boundaries: int[] = [||]
    let mutable choiceSteps: int[] = [||]
    let mutable feedbackWindows: Window[] = [||]
    let mutable correct: int[] = [||]
    // Reused, with headroom for the next batches' jitter.
    let large (current: float32[]) (length: int) =
        if current.Length < length then Array.zeroCreate<float32> (if reused then Capacity.withHeadroom length else length)
        else
            System.Array.Clear(current, 0, length)
            current
    let exact (current: 'T[]) (length: int) = if current.Length = length then current else Array.zeroCreate<'T> length
    let ofTrial (perTrial: 'T[][]) (trial: int) (length: int) =
        let current = perTrial[trial]
        if not (isNull current) && current.Length = length then current
        else
            let fresh = Array.zeroCreate<'T> length
            perTrial[trial] <- fresh
            fresh

    /// Buffers to be reused from batch to batch (a trainer's).
    new() = BatchBuffers(true)
    /// Arrays of their exact sizes, for one batch that no other will share.
    static member ForOneBatch() = BatchBuffers(false)

    member _.Inputs(length: int) =
        inputs <- large inputs length
        inputs
    member _.Targets(length: int) =
        targets <- large targets length
        targets
    member _.LossWeights(length: int) =
        lossWeights <- large lossWeights length
        lossWeights
    member _.Periods(count: int) =
        periods <- exact periods count
        periods
    member _.Answers(trials: int) =
        answers <- exact answers trials
        answers
    /// The conditions of `trials` trials (then Stimuli and Rules give each trial's arrays).
    member _.Conditions(trials: int) =
        conditions <- exact conditions trials
        if stimuli.Length < trials then
            stimuli <- Array.zeroCreate trials
            rules <- Array.zeroCreate trials
        conditions
    member _.Stimuli(trial: int, count: int) = ofTrial stimuli trial count
    member _.Rules(trial: int, count: int) = ofTrial rules trial count
    member _.Boundaries(count: int) =
        boundaries <- exact boundaries count
        boundaries
    /// Closed-loop feedback: its choice steps and windows (one per choice) and correct responses (per choice and trial).
    member _.ChoiceSteps(choices: int) =
        choiceSteps <- exact choiceSteps choices
        choiceSteps
    member _.FeedbackWindows(choices: int) =
        feedbackWindows <- exact feedbackWindows choices
        feedbackWindows
    member _.Correct(length: int) =
        correct <- exact correct length
        correct

module BatchBuffers =

    /// Where to lay out a batch: in the settings' buffers, or in arrays of its own.
    let forBatch (buffers: BatchBuffers option) =
        match buffers with
        | Some b -> b
        | None -> BatchBuffers.ForOneBatch()
