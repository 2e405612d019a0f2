namespace SkipRnn.Tasks

open SkipRnn.Numerics

/// The rule-reversal task over consecutive trials (paper §4.1, SPEC §7): a stimulus A or B is shown, the
/// network answers 1 or 2, and feedback says whether the answer was right under the hidden rule (rule 1:
/// A→1, B→2; rule 2 reverses it). The rule changes without a cue, so the network can only learn of a
/// switch from the feedback: the ideal answer of trial i follows the rule of trial i−1 (trial 0: rule 1).
module RuleReversal =

    /// [stimulus A, stimulus B, feedback "correct", feedback "wrong"]
    let [<Literal>] InputSize = 4
    /// [response 1, response 2]
    let [<Literal>] OutputSize = 2
    let [<Literal>] CorrectInput = 2
    let [<Literal>] WrongInput = 3
    /// Trials per sequence.
    let [<Literal>] SequenceLength = 5

    /// The rule (1 or 2) of trial k of rule pattern `index`, one of the 8 patterns of a batch (the authors' code):
    /// the rule of trial 0, of trials 1–2 and of trials 3–4 each either way, so a batch holds sequences without a
    /// switch and with switches after trials 1 and 3, in both directions.
    let ruleAt (index: int) (k: int) = 1 + ((index >>> (2 - (k + 1) / 2)) &&& 1)

    /// The answer a rule asks for a stimulus (0 = A, 1 = B): rule 1 maps A→0, B→1; rule 2 reverses it.
    let answer (rule: int) (stimulus: int) = if rule = 1 then stimulus else 1 - stimulus

    let private periodNames =
        [| for k in 1 .. SequenceLength do
            yield sprintf "sample%d" k
            yield sprintf "response%d" k
            yield sprintf "feedback%d" k
            yield sprintf "wait%d" k |]

    /// The nominal duration of period i after the burn-in (periodNames[i]).
    let private nominal (timing: Timing) (i: int) =
        match i % 4 with
        | 0 -> timing.Stimulus
        | 1 -> timing.Response
        | 2 -> timing.Feedback
        | _ -> timing.Wait

    /// A batch of sequences; sequence b follows rule pattern b mod 8. Each of the 20 periods after the burn-in
    /// gets its own jittered duration (one draw each, jittered or not), then the stimuli are drawn.
    let generate (settings: BatchSettings) (rng: Rng) : TrialBatch =
        if settings.Trials < 1 then invalidArg "settings" "a batch needs at least one sequence"
        let timing = settings.Timing
        let j = timing.Steps timing.Jitter
        let buffers = BatchBuffers.forBatch settings.Buffers
        let burnIn = timing.Steps timing.BurnIn
        let periods = buffers.Periods(periodNames.Length + 1)
        periods[0] <- { Name = "burnin"; Start = 0; Length = burnIn }
        for i in 0 .. periodNames.Length - 1 do
            let name = periodNames[i]
            let t = timing.Steps (nominal timing i)
            let length =
                if settings.Jittered && j > 0 then rng.UniformInt(t - j, t + j)
                else
                    rng.UniformInt(0, 1) |> ignore
                    t
            if length < 1 then invalidArg "settings" (sprintf "period %s would last %d steps at dt = %g s" name length timing.Dt)
            periods[i + 1] <- periods[i].Next(name, length)
        // Trial k's sample, response, feedback and wait periods follow the burn-in in that order.
        let sampleOf k = periods[1 + 4 * k]
        let responseOf k = periods[2 + 4 * k]
        let feedbackOf k = periods[3 + 4 * k]
        let steps = periods[periods.Length - 1].Start + periods[periods.Length - 1].Length
        let n = settings.Trials
        // Each sequence's conditions: its stimuli (A or B, shown as modality 1 or 2 on input unit 0 or 1), drawn
        // trial by trial, and the rules of its pattern.
        let conditions = buffers.Conditions n
        for b in 0 .. n - 1 do
            let stimuli = buffers.Stimuli(b, SequenceLength)
            for k in 0 .. SequenceLength - 1 do
                stimuli[k] <- { Modality = rng.UniformInt(0, 2) + 1; Direction = 0.0; Strength = 1.0; Period = (sampleOf k).Name }
            let rules = buffers.Rules(b, SequenceLength)
            for k in 0 .. SequenceLength - 1 do rules[k] <- ruleAt (b % 8) k
            conditions[b] <- { Stimuli = stimuli; Match = ValueNone; Rules = rules }
        let ruleOf b k = conditions[b].Rules[k]
        let stimulusOf b k = conditions[b].Stimuli[k].Modality - 1
        let ideal b k = answer (if k = 0 then 1 else ruleOf b (k - 1)) (stimulusOf b k)
        let grace = timing.Steps timing.ChoiceGrace
        let inputs = buffers.Inputs(steps * n * InputSize)
        let targets = buffers.Targets(steps * n * OutputSize)
        let lossWeights = buffers.LossWeights(steps * n)
        for k in 0 .. SequenceLength - 1 do
            let sample = sampleOf k
            let response = responseOf k
            let scored = response.Length - grace
            if scored < 1 then invalidArg "settings" "the choice grace leaves an empty response window"
            // Cross-entropy averaged over each trial's scored steps and the batch, then over the trials.
            let weight = float32 (1.0 / float (scored * n * SequenceLength))
            for b in 0 .. n - 1 do
                for t in sample.Start .. sample.Start + sample.Length - 1 do
                    inputs[(t * n + b) * InputSize + stimulusOf b k] <- 1.0f
                for t in response.Start + grace .. response.Start + response.Length - 1 do
                    targets[(t * n + b) * OutputSize + ideal b k] <- 1.0f
                    lossWeights[t * n + b] <- weight
        let choiceSteps = buffers.ChoiceSteps SequenceLength
        let windows = buffers.FeedbackWindows SequenceLength
        let correct = buffers.Correct(SequenceLength * n)
        let boundaries = buffers.Boundaries SequenceLength
        for k in 0 .. SequenceLength - 1 do
            let response = responseOf k
            let feedback = feedbackOf k
            choiceSteps[k] <- response.Start + response.Length - 1
            windows[k] <- { Start = feedback.Start; Length = feedback.Length }
            for b in 0 .. n - 1 do correct[k * n + b] <- answer (ruleOf b k) (stimulusOf b k)
            boundaries[k] <- (sampleOf k).Start
        let answers = buffers.Answers n
        for b in 0 .. n - 1 do answers[b] <- Choose(ideal b (SequenceLength - 1))
        { Task = "rulereversal"
          Trials = n
          Steps = steps
          BurnIn = burnIn
          Dt = timing.Dt
          InputSize = InputSize
          OutputSize = OutputSize
          Inputs = inputs
          Targets = targets
          LossWeights = lossWeights
          Periods = periods
          FixationWindow = { Start = burnIn; Length = 0 }
          ResponseWindow = { Start = steps; Length = 0 }
          FixationShare = 0.0
          Scoring = ByChoice
          Answers = answers
          Conditions = conditions
          Boundaries = boundaries
          Feedback =
            ValueSome
                { ChoiceSteps = choiceSteps
                  Windows = windows
                  Correct = correct
                  CorrectInput = CorrectInput
                  WrongInput = WrongInput } }
