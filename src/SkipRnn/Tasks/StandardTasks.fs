namespace SkipRnn.Tasks

open System
open SkipRnn.Numerics

/// The three trial structures of the standard tasks (SPEC §3).
type Structure =
    /// fixation, stimulus, response
    | A
    /// fixation, stimulus, delay, response
    | B
    /// fixation, stimulus1, delay, stimulus2, response
    | C

/// One of the 16 standard tasks.
type TaskInfo =
    { /// Name in Yang et al. (2019), e.g. "dlydm1".
      Name: string
      /// Name in Soo, Goudar & Wang (2023), e.g. "ddm".
      PaperName: string
      Structure: Structure
      /// One of the 9 tasks that need memory over a delay.
      LongTermMemory: bool
      /// Position in the 20-task order of Yang et al., which sets the rule input unit.
      RuleIndex: int }

/// The 16 standard cognitive tasks of Yang et al. (2019) used by the paper: their table, their timing and
/// a generator of trial batches.
module StandardTasks =

    /// [fixation (1), ring of modality 1 (32), ring of modality 2 (32), rule one-hot (20)].
    let [<Literal>] InputSize = 85
    /// [fixation (1), ring (32)].
    let [<Literal>] OutputSize = 33
    /// Input index of the first rule unit; task r drives unit RuleOffset + r.
    let [<Literal>] RuleOffset = 65
    let [<Literal>] RuleCount = 20

    /// Input index of the first unit of the ring of `modality` (1 or 2).
    let ringOffset (modality: int) = 1 + (modality - 1) * Ring.Units

    let [<Literal>] BurnInPeriod = "burnin"
    let [<Literal>] private ResponsePeriod = "response"

    let private task name paperName structure longTermMemory ruleIndex =
        { Name = name; PaperName = paperName; Structure = structure; LongTermMemory = longTermMemory
          RuleIndex = ruleIndex }

    /// The 16 tasks, in the paper's order.
    let all =
        [ task "go" "go" A false 0
          task "rtgo" "rtgo" A false 1
          task "dlygo" "dgo" B true 2
          task "anti" "anti" A false 3
          task "rtanti" "rtanti" A false 4
          task "dlyanti" "danti" B true 5
          task "dm1" "dm" A false 6
          task "ctxdm1" "dmd" A false 8
          task "multsendm" "msdm" A false 10
          task "dlydm1" "ddm" C true 11
          task "ctxdlydm1" "ddmd" C true 13
          task "multsendlydm" "msddm" C true 15
          task "dms" "dms" C true 16
          task "dnms" "dnms" C true 17
          task "dmc" "dmc" C true 18
          task "dnmc" "dnmc" C true 19 ]

    /// The three tasks as the authors' published code defines them, beside the corrected ones above (the
    /// default): dnms and dnmc answer like dms and dmc (respond on a match), and every non-match trial of dmc
    /// and dnmc shows category 1 first. For reproducing the paper's rows of these tasks exactly.
    let authorsVariants =
        all
        |> List.filter (fun t -> List.contains t.Name [ "dnms"; "dmc"; "dnmc" ])
        |> List.map (fun t -> { t with Name = t.Name + "-authors"; PaperName = t.PaperName + " (authors' code)" })

    /// The corrected task that an authors' variant varies (the one with its rule input).
    let correctedOf (variant: TaskInfo) = all |> List.find (fun t -> t.RuleIndex = variant.RuleIndex)

    /// A task by its name in Yang et al. or in the paper, ignoring case.
    let tryFind (name: string) =
        let same (a: string) = String.Equals(a, name.Trim(), StringComparison.OrdinalIgnoreCase)
        all @ authorsVariants |> List.tryFind (fun t -> same t.Name || same t.PaperName)

    // The periods after the burn-in of each structure: their names, and each one's duration in a timing.
    let private structureA =
        [| "fixation", (fun (t: Timing) -> t.Fixation); "stimulus", (fun t -> t.Stimulus); ResponsePeriod, (fun t -> t.Response) |]
    let private structureB =
        [| "fixation", (fun (t: Timing) -> t.Fixation); "stimulus", (fun t -> t.Stimulus); "delay", (fun t -> t.Delay)
           ResponsePeriod, (fun t -> t.Response) |]
    let private structureC =
        [| "fixation", (fun (t: Timing) -> t.Fixation); "stimulus1", (fun t -> t.Stimulus); "delay", (fun t -> t.Delay)
           "stimulus2", (fun t -> t.Stimulus); ResponsePeriod, (fun t -> t.Response) |]
    let private periodsOf (structure: Structure) =
        match structure with
        | A -> structureA
        | B -> structureB
        | C -> structureC

    /// The periods after the burn-in, with their nominal durations in seconds.
    let nominalPeriods (structure: Structure) (timing: Timing) =
        [ for name, duration in periodsOf structure -> name, duration timing ]

    /// Weight w of the fixation score in the performance: the nominal share of the trial (burn-in excluded)
    /// spent before the response. 2/3, 4/5 and 5/6 for structures A, B and C with the default timing.
    let fixationShare (structure: Structure) (timing: Timing) =
        let mutable total = 0.0
        for _, duration in periodsOf structure do total <- total + duration timing
        (total - timing.Response) / total

    /// The burn-in, which opens every batch.
    let burnIn (timing: Timing) = { Name = BurnInPeriod; Start = 0; Length = timing.Steps timing.BurnIn }

    /// Steps of a period after the burn-in that lasts `seconds` nominally: jittered in training, except the last
    /// period (the response). Every period but the last takes exactly one draw from rng, jittered or not, so that
    /// the trial conditions drawn afterwards are the same for any dt and any jitter setting.
    let private periodSteps (settings: BatchSettings) (rng: Rng) (name: string) (seconds: float) (last: bool) =
        let timing = settings.Timing
        let j = timing.Steps timing.Jitter
        let jittered = settings.Jittered && j > 0
        let t = timing.Steps seconds
        let shortest = if jittered && not last then t - j else t
        if shortest < 1 then
            let less = if shortest <> t then sprintf " (%g s less the jitter of %g s)" seconds timing.Jitter else ""
            invalidArg "settings" (sprintf "period %s would last %d steps at dt = %g s%s" name shortest timing.Dt less)
        if last then t
        elif jittered then rng.UniformInt(t - j, t + j)
        else
            rng.UniformInt(0, 1) |> ignore
            t

    /// Lays out the periods of one batch in `periods` (one more than `count`), burn-in first, then the `count`
    /// nominal periods after it (name and seconds of period i; the last one is the response). Inline, so that a
    /// training batch's layout allocates no closure.
    let inline private layOutEach (count: int) ([<InlineIfLambda>] nominalAt: int -> struct (string * float))
                                  (periods: Period[]) (settings: BatchSettings) (rng: Rng) =
        periods[0] <- burnIn settings.Timing
        for i in 0 .. count - 1 do
            let struct (name, seconds) = nominalAt i
            periods[i + 1] <- periods[i].Next(name, periodSteps settings rng name seconds (i = count - 1))

    /// `layOutEach` from a list of nominal periods (name and seconds). Custom tasks (SkipRnn.Api) lay out their
    /// periods with it.
    let layOutNominal (nominal: (string * float) list) (periods: Period[]) (settings: BatchSettings) (rng: Rng) =
        layOutEach nominal.Length (fun i -> let name, seconds = nominal[i] in struct (name, seconds)) periods settings rng

    let private layOutPeriods (structure: Structure) (periods: Period[]) (settings: BatchSettings) (rng: Rng) =
        let nominal = periodsOf structure
        layOutEach nominal.Length (fun i -> let name, duration = nominal[i] in struct (name, duration settings.Timing))
            periods settings rng

    /// The scored windows of a batch laid out by `layOutNominal`: fixation from the grace time after the burn-in to
    /// the response (the last period), response from the grace time into it to its end.
    let scoredWindows (periods: Period[]) (timing: Timing) =
        let burnIn = periods[0].Length
        let response = periods[periods.Length - 1]
        let grace = timing.Steps timing.Grace
        let fixationWindow = { Start = burnIn + grace; Length = response.Start - burnIn - grace }
        let responseWindow = { Start = response.Start + grace; Length = response.Length - grace }
        if fixationWindow.Length < 1 || responseWindow.Length < 1 then
            invalidArg "settings" "the grace time leaves an empty fixation or response window"
        struct (fixationWindow, responseWindow)

    /// Loss weights of a scored window: its squared error is averaged over its steps, trials and outputs (the loss
    /// is the sum over the windows).
    let weighWindow (lossWeights: float32[]) (trials: int) (outputSize: int) (w: Window) =
        Array.fill lossWeights (w.Start * trials) (w.Length * trials) (float32 (1.0 / float (w.Length * trials * outputSize)))

    // ---- Trial conditions, one function per task family. Each says how many stimuli its trials show and draws a
    // trial: it writes the stimuli into an array of that length and returns whether stimulus 2 matches stimulus 1
    // (matching tasks) and the answer.

    type private TrialDraw = { Stimuli: int; Draw: Rng -> Stimulus[] -> struct (bool voption * Answer) }

    let private stimulus modality direction strength period =
        { Modality = modality; Direction = Ring.wrap direction; Strength = strength; Period = period }

    let private randomModality (rng: Rng) = rng.UniformInt(1, 3)
    let private randomDirection (rng: Rng) = rng.Uniform(0.0, Ring.twoPi)

    /// The second direction of a pair: a1 + U(π/2, 3π/2), so at least 90° away from a1.
    let private awayFrom a1 (rng: Rng) = Ring.wrap (a1 + rng.Uniform(Math.PI / 2.0, 3.0 * Math.PI / 2.0))

    /// Strengths c ± δ of a pair, the stronger one first or second at random.
    let private pairStrengths (rng: Rng) =
        let c = rng.Uniform(0.8, 1.2)
        let delta = rng.Uniform(0.1, 0.2)
        if rng.Bernoulli 0.5 then struct (c + delta, c - delta) else struct (c - delta, c + delta)

    /// go, anti, rtgo, rtanti, dlygo, dlyanti: one stimulus in a random modality; respond at it (anti: at its
    /// opposite).
    let private goFamily anti period =
        { Stimuli = 1
          Draw =
            fun rng stimuli ->
                let modality = randomModality rng
                let direction = randomDirection rng
                let answer = if anti then direction + Math.PI else direction
                stimuli[0] <- stimulus modality direction 1.0 period
                struct (ValueNone, Respond(Ring.wrap answer)) }

    /// dm1, ctxdm1, dlydm1, ctxdlydm1: respond at the stronger of two stimuli in modality 1. The ctx tasks add
    /// the same two directions in modality 2, with their own strengths, as a distractor.
    let private dmFamily withDistractor (period1, period2) =
        { Stimuli = (if withDistractor then 4 else 2)
          Draw =
            fun rng stimuli ->
                let a1 = randomDirection rng
                let a2 = awayFrom a1 rng
                let struct (gamma1, gamma2) = pairStrengths rng
                stimuli[0] <- stimulus 1 a1 gamma1 period1
                stimuli[1] <- stimulus 1 a2 gamma2 period2
                if withDistractor then
                    let struct (d1, d2) = pairStrengths rng
                    stimuli[2] <- stimulus 2 a1 d1 period1
                    stimuli[3] <- stimulus 2 a2 d2 period2
                struct (ValueNone, Respond(if gamma1 > gamma2 then a1 else a2)) }

    /// multsendm, multsendlydm: both modalities carry the pair, modality m weighted k and the other 2 − k;
    /// a1 has strength c + δ in both, so its summed strength is the larger. When delayed, which of the pair
    /// comes first is a coin flip.
    let private multiSensoryFamily delayed =
        { Stimuli = 4
          Draw =
            fun rng stimuli ->
                let m = randomModality rng
                let a1 = randomDirection rng
                let a2 = awayFrom a1 rng
                let c = rng.Uniform(0.8, 1.2)
                let delta = rng.Uniform(0.1, 0.2)
                let k = rng.Uniform(1.2, 1.4)
                let struct (period1, period2) =
                    if not delayed then struct ("stimulus", "stimulus")
                    elif rng.Bernoulli 0.5 then struct ("stimulus1", "stimulus2")
                    else struct ("stimulus2", "stimulus1")
                for modality in 1 .. 2 do
                    let weight = if modality = m then k else 2.0 - k
                    stimuli[2 * modality - 2] <- stimulus modality a1 (weight * (c + delta)) period1
                    stimuli[2 * modality - 1] <- stimulus modality a2 (weight * (c - delta)) period2
                struct (ValueNone, Respond a1) }

    /// Matching tasks respond at stimulus 2 on the trial kind they look for and keep fixating otherwise.
    let private matching respondOnMatch isMatch a1 a2 (rng: Rng) (stimuli: Stimulus[]) =
        let modality1 = randomModality rng
        let modality2 = randomModality rng
        stimuli[0] <- stimulus modality1 a1 1.0 "stimulus1"
        stimuli[1] <- stimulus modality2 a2 1.0 "stimulus2"
        struct (ValueSome isMatch, (if isMatch = respondOnMatch then Respond(Ring.wrap a2) else Fixate))

    /// dms, dnms: stimulus 2 matches stimulus 1 (within ±π/18) or lies π/2 to 3π/2 away, with probability ½.
    let private dmsFamily respondOnMatch =
        { Stimuli = 2
          Draw =
            fun rng stimuli ->
                let a1 = randomDirection rng
                let isMatch = rng.Bernoulli 0.5
                let a2 =
                    if isMatch then a1 + rng.Uniform(-Math.PI / 18.0, Math.PI / 18.0)
                    else awayFrom a1 rng
                matching respondOnMatch isMatch a1 a2 rng stimuli }

    /// dmc, dnmc: categories [0, π) and [π, 2π); a match is two directions of the same category. Like the
    /// authors, each direction is drawn from the first quarter arc of its category. Non-match trials come in
    /// both orders, or, with `authorsOrder`, always category 1 then 2, as in the authors' code (whose "first
    /// stimulus in the second half" branch adds 2π, not π, and lands in the first half again).
    let private dmcFamily authorsOrder respondOnMatch =
        { Stimuli = 2
          Draw =
            fun rng stimuli ->
                let isMatch = rng.Bernoulli 0.5
                let category1 = if authorsOrder && not isMatch then 0 else rng.UniformInt(0, 2)
                let category2 = if isMatch then category1 else 1 - category1
                let a1 = float category1 * Math.PI + rng.Uniform(0.0, Math.PI / 2.0)
                let a2 = float category2 * Math.PI + rng.Uniform(0.0, Math.PI / 2.0)
                matching respondOnMatch isMatch a1 a2 rng stimuli }

    let private trialDraw (task: TaskInfo) : TrialDraw =
        match task.Name with
        | "go" -> goFamily false "stimulus"
        | "anti" -> goFamily true "stimulus"
        | "rtgo" -> goFamily false ResponsePeriod
        | "rtanti" -> goFamily true ResponsePeriod
        | "dlygo" -> goFamily false "stimulus"
        | "dlyanti" -> goFamily true "stimulus"
        | "dm1" -> dmFamily false ("stimulus", "stimulus")
        | "ctxdm1" -> dmFamily true ("stimulus", "stimulus")
        | "multsendm" -> multiSensoryFamily false
        | "dlydm1" -> dmFamily false ("stimulus1", "stimulus2")
        | "ctxdlydm1" -> dmFamily true ("stimulus1", "stimulus2")
        | "multsendlydm" -> multiSensoryFamily true
        | "dms" -> dmsFamily true
        // The authors' code gives dnms the targets of dms; we follow the name: respond on non-match.
        | "dnms" -> dmsFamily false
        | "dmc" -> dmcFamily false true
        | "dnmc" -> dmcFamily false false
        // The authors' code: dnms and dnmc with the targets of dms and dmc, dmc and dnmc non-matches in one order.
        | "dnms-authors" -> dmsFamily true
        | "dmc-authors" -> dmcFamily true true
        | "dnmc-authors" -> dmcFamily true true
        | other -> invalidArg "task" (sprintf "unknown standard task %s" other)

    /// The generator of batches of trials of `task`: first the period durations (one draw per jitterable period),
    /// then the conditions trial by trial; then it lays out inputs, targets and loss weights (SPEC §2–3).
    let generate (task: TaskInfo) : BatchSettings -> Rng -> TrialBatch =
        let trial = trialDraw task
        // Reaction-time tasks show their stimulus in the response period and keep the fixation input on there.
        let reactionTime = task.Name = "rtgo" || task.Name = "rtanti"
        fun settings rng ->
            if settings.Trials < 1 then invalidArg "settings" "a batch needs at least one trial"
            let timing = settings.Timing
            let buffers = BatchBuffers.forBatch settings.Buffers
            let periods = buffers.Periods((periodsOf task.Structure).Length + 1)
            layOutPeriods task.Structure periods settings rng
            let n = settings.Trials
            let conditions = buffers.Conditions n
            let answers = buffers.Answers n
            for b in 0 .. n - 1 do
                let stimuli = buffers.Stimuli(b, trial.Stimuli)
                let struct (isMatch, answer) = trial.Draw rng stimuli
                conditions[b] <- { Stimuli = stimuli; Match = isMatch; Rules = Array.Empty() }
                answers[b] <- answer

            let burnIn = periods[0].Length
            let response = periods[periods.Length - 1]
            let steps = response.Start + response.Length
            let struct (fixationWindow, responseWindow) = scoredWindows periods timing

            let inputs = buffers.Inputs(steps * n * InputSize)
            let targets = buffers.Targets(steps * n * OutputSize)
            let lossWeights = buffers.LossWeights(steps * n)
            for p in periods do
                let fixationInput = p.Name <> BurnInPeriod && (p.Name <> ResponsePeriod || reactionTime)
                for t in p.Start .. p.Start + p.Length - 1 do
                    for b in 0 .. n - 1 do
                        let i = (t * n + b) * InputSize
                        inputs[i + RuleOffset + task.RuleIndex] <- 1.0f
                        if fixationInput then inputs[i] <- 1.0f
                        let o = (t * n + b) * OutputSize
                        match p.Name, answers[b] with
                        | ResponsePeriod, Respond psi ->
                            targets[o] <- 0.05f
                            // The ring's target is written at the response's first step and copied to the later ones.
                            if t = p.Start then Ring.writeResponseTarget psi (Span(targets, o + 1, Ring.Units))
                            else Array.Copy(targets, (p.Start * n + b) * OutputSize + 1, targets, o + 1, Ring.Units)
                        | ResponsePeriod, Fixate -> targets[o] <- 0.85f
                        | ResponsePeriod, Choose _ -> invalidOp "standard tasks have no discrete choices"
                        | _ ->
                            targets[o] <- 0.85f
                            Array.fill targets (o + 1) Ring.Units 0.05f

            // Each stimulus adds its ring pattern, computed once per unit, to every step of its period.
            for b in 0 .. n - 1 do
                for s in conditions[b].Stimuli do
                    let mutable j = 0
                    while periods[j].Name <> s.Period do j <- j + 1
                    let p = periods[j]
                    let ring = ringOffset s.Modality
                    for k in 0 .. Ring.Units - 1 do
                        let value = Ring.stimulusAt s.Strength s.Direction k
                        for t in p.Start .. p.Start + p.Length - 1 do
                            let i = (t * n + b) * InputSize + ring + k
                            inputs[i] <- inputs[i] + value

            weighWindow lossWeights n OutputSize fixationWindow
            weighWindow lossWeights n OutputSize responseWindow

            { Task = task.Name
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
              FixationWindow = fixationWindow
              ResponseWindow = responseWindow
              FixationShare = fixationShare task.Structure timing
              Scoring = Scoring.standard
              Answers = answers
              Conditions = conditions
              Boundaries = Array.Empty()
              Feedback = ValueNone }
