namespace SkipRnn.Tasks

/// A named stretch of a trial, in the vocabulary of neurogym: burnin, fixation, stimulus, delay,
/// stimulus1, stimulus2, response. Start and length are in time steps of the batch's own dt.
[<Struct>]
type Period =
    { Name: string; Start: int; Length: int }
    /// The period named `name`, `length` steps long, that starts where this one ends.
    member p.Next(name: string, length: int) = { Name = name; Start = p.Start + p.Length; Length = length }

/// A contiguous range of time steps.
[<Struct>]
type Window =
    { Start: int; Length: int }
    member w.End = w.Start + w.Length
    member w.Contains(t: int) = t >= w.Start && t < w.Start + w.Length

/// What a trial asks of the network.
[<Struct>]
type Answer =
    /// Release fixation and point at this direction (radians, [0, 2π)).
    | Respond of direction: float
    /// Keep fixating through the response period (non-match trials).
    | Fixate
    /// Pick one of several discrete responses (rule reversal: 0 or 1).
    | Choose of response: int

/// One stimulus shown in a trial: which ring (1 or 2), where, how strong, and in which period.
[<Struct>]
type Stimulus = { Modality: int; Direction: float; Strength: float; Period: string }

/// The conditions of one trial, kept for analysis (activity export, trajectories coloured by condition).
[<Struct>]
type TrialCondition =
    { Stimuli: Stimulus[]
      /// dms/dnms/dmc/dnmc: whether stimulus 2 matches stimulus 1.
      Match: bool voption
      /// Multi-trial sequences (rule reversal): the hidden rule in force at each trial of the sequence.
      Rules: int[] }

/// Inputs that depend on the network's own behaviour (rule reversal, SPEC §7): after each choice, one of two
/// input units is switched on for a window, depending on whether the choice was correct under the rule then
/// in force. No gradient flows through the choice; the feedback shown is part of the input.
[<Struct>]
type ClosedLoopFeedback =
    { /// Per choice k: the step whose readout (argmax over the outputs) is the network's choice.
      ChoiceSteps: int[]
      /// Per choice k: the steps during which the feedback is shown (after ChoiceSteps[k]).
      Windows: Window[]
      /// [k·Trials + trial]: the response that counts as correct.
      Correct: int[]
      /// The input unit switched on after a correct choice, and after a wrong one.
      CorrectInput: int
      WrongInput: int }

/// How a task scores a network's readouts (SPEC §4). Every backend follows it: the CPU's
/// `Performance.score` and the GPU's on-the-fly counters read these values, none of their own.
type Scoring =
    /// Ring tasks: a (step, trial) pair fixates when output 0 exceeds `fixationThreshold`; a response is on
    /// target when the population vector of outputs 1 .. Ring.Units decodes within `tolerance` radians of the
    /// trial's direction.
    | FixationAndDirection of fixationThreshold: float32 * tolerance: float
    /// Choice tasks: the share of loss-weighted (step, trial) pairs whose argmax output is the target's.
    | ByChoice

module Scoring =

    /// SPEC §4, as the authors: fixation output above 0.5, decoded direction within 0.2π.
    let standard = FixationAndDirection(0.5f, 0.2 * System.Math.PI)

/// Everything a task hands to training: a batch of trials that share their timing (durations are drawn
/// once per batch), laid out time-major: element (t, b, i) of an array with row size R is at
/// (t * Trials + b) * R + i. A batch is a value whose arrays hold its data: one laid out in reused buffers
/// (BatchSettings.Buffers) shares them with the next batch laid out there, and its inputs, targets and loss
/// weights may be longer than its sizes need: read those by the sizes, never by their lengths.
[<Struct>]
type TrialBatch =
    { Task: string
      Trials: int
      /// Total time steps, burn-in included.
      Steps: int
      /// The first BurnIn steps run forward only (no loss, no gradient); their final state carries on.
      BurnIn: int
      /// Seconds per step (the base dt, or θ·dt for coarsened discretization).
      Dt: float
      InputSize: int
      OutputSize: int
      /// [Steps, Trials, InputSize]
      Inputs: float32[]
      /// [Steps, Trials, OutputSize]
      Targets: float32[]
      /// [Steps, Trials]: weight of each (step, trial) in the squared-error loss; the loss of a network is
      /// Σ_t,b weight · Σ_o (y − target)². Zero outside the fixation and response windows.
      LossWeights: float32[]
      /// All periods in order, the burn-in first; they tile [0, Steps).
      Periods: Period[]
      /// Steps scored as "must fixate" (from the grace time after burn-in to the response).
      FixationWindow: Window
      /// Steps scored as the response (from the grace time into the response period to its end).
      ResponseWindow: Window
      /// Weight w of the fixation score in the performance: the nominal share of the trial spent fixating.
      FixationShare: float
      /// How the readouts are scored.
      Scoring: Scoring
      Answers: Answer[]
      Conditions: TrialCondition[]
      /// Marked steps (the start of each trial of a multi-trial sequence) between which strategic skip
      /// connections can be placed (paper §4.1); empty for single-trial tasks.
      Boundaries: int[]
      /// Closed-loop inputs, if the task has them.
      Feedback: ClosedLoopFeedback voption }

    member b.InputIndex(t: int, trial: int) = (t * b.Trials + trial) * b.InputSize
    member b.OutputIndex(t: int, trial: int) = (t * b.Trials + trial) * b.OutputSize
    /// Steps after the burn-in (the ones that carry loss and gradient).
    member b.TrainedSteps = b.Steps - b.BurnIn
