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

    /// The 8 rule patterns of a batch (the authors' code): the rule of trial 0, of trials 1–2 and of trials
    /// 3–4 each either way, so a batch holds sequences without a switch and with switches after trials 1
    /// and 3, in both directions. Rules are 1 and 2.
    let pattern (index: int) =
        let bit k = (index >>> k) &&& 1
        [| 1 + bit 2; 1 + bit 1; 1 + bit 1; 1 + bit 0; 1 + bit 0 |]

    /// The answer a rule asks for a stimulus (0 = A, 1 = B): rule 1 maps A→0, B→1; rule 2 reverses it.
    let answer (rule: int) (stimulus: int) = if rule = 1 then stimulus else 1 - stimulus

    let private periodNames =
        [| for k in 1 .. SequenceLength do
            yield sprintf "sample%d" k
            yield sprintf "response%d" k
            yield sprintf "feedback%d" k
            yield sprintf "wait%d" k |]

    /// A batch of sequences; sequence b follows rule pattern b mod 8. Each of the 20 periods after the burn-in
    /// gets its own jittered duration (one draw each, jittered or not), then the stimuli are drawn.
    let generate (settings: BatchSettings) (rng: Rng) : TrialBatch =
        if settings.Trials < 1 then invalidArg "settings" "a batch needs at least one sequence"
        let timing = settings.Timing
        let j = timing.Steps timing.Jitter
        let nominal (name: string) =
            if name.StartsWith "sample" then timing.Stimulus
            elif name.StartsWith "response" then timing.Response
            elif name.StartsWith "feedback" then timing.Feedback
            else timing.Wait
        let lengths =
            periodNames
            |> Array.map (fun name ->
                let t = timing.Steps (nominal name)
                let length =
                    if settings.Jittered && j > 0 then rng.UniformInt(t - j, t + j)
                    else
                        rng.UniformInt(0, 1) |> ignore
                        t
                if length < 1 then invalidArg "settings" (sprintf "period %s would last %d steps at dt = %g s" name length timing.Dt)
                name, length)
        let burnIn = timing.Steps timing.BurnIn
        let periods = Period.layOut (Array.append [| "burnin", burnIn |] lengths)
        // Trial k's sample, response, feedback and wait periods follow the burn-in in that order.
        let sampleOf k = periods[1 + 4 * k]
        let responseOf k = periods[2 + 4 * k]
        let feedbackOf k = periods[3 + 4 * k]
        let steps = (Array.last periods).Start + (Array.last periods).Length
        let n = settings.Trials
        let rules = Array.init n (fun b -> pattern (b % 8))
        let stimuli = Array.init n (fun _ -> Array.init SequenceLength (fun _ -> rng.UniformInt(0, 2)))
        let ruleOf b k = rules.[b].[k]
        let stimulusOf b k = stimuli.[b].[k]
        let ideal b k = answer (if k = 0 then 1 else ruleOf b (k - 1)) (stimulusOf b k)
        let grace = timing.Steps timing.ChoiceGrace
        let inputs, targets, lossWeights = BatchBuffers.take settings.Buffers (steps * n * InputSize) (steps * n * OutputSize) (steps * n)
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
        let feedback =
            { ChoiceSteps = Array.init SequenceLength (fun k -> (responseOf k).Start + (responseOf k).Length - 1)
              Windows = Array.init SequenceLength (fun k -> let p = feedbackOf k in { Start = p.Start; Length = p.Length })
              Correct = Array.init (SequenceLength * n) (fun i -> let k, b = i / n, i % n in answer (ruleOf b k) (stimulusOf b k))
              CorrectInput = CorrectInput
              WrongInput = WrongInput }
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
          Answers = Array.init n (fun b -> Choose(ideal b (SequenceLength - 1)))
          Conditions =
            Array.init n (fun b ->
                { Stimuli =
                    [ for k in 0 .. SequenceLength - 1 ->
                        { Modality = stimulusOf b k + 1; Direction = 0.0; Strength = 1.0; Period = (sampleOf k).Name } ]
                  Match = None
                  Rules = List.ofArray rules[b] })
          Boundaries = Array.init SequenceLength (fun k -> (sampleOf k).Start)
          Feedback = Some feedback }
