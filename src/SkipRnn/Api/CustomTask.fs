namespace SkipRnn.Api

open System
open System.Collections.Generic
open SkipRnn.Numerics
open SkipRnn.Tasks

/// Which network a custom task trains (the core's NetworkKind, as an enum for C#).
type TaskNetwork =
    /// Input, output and auxiliary populations, sigmoid readout, squared error (the 16 standard tasks).
    | Population = 0
    /// Every unit takes input and is read out, softmax readout, cross-entropy (rule reversal).
    | Choice = 1

/// How a custom task's readouts are scored (the core's Scoring, as an enum for C#).
type TaskScoring =
    /// The share of loss-weighted (step, trial) pairs whose largest output is the target's largest.
    | ByChoice = 0
    /// The ring tasks' measure: output 0 is fixation (above 0.5 holds it), outputs 1 to 32 a ring decoded by its
    /// population vector, on target within 0.2π of the direction given by TrialWriter.Respond. Needs 33 outputs.
    | FixationAndDirection = 1

/// One period of a custom task's trial: a name and its nominal duration in seconds.
[<Sealed; AllowNullLiteral>]
type TaskPeriod
    /// A period named `name` lasting `seconds` (nominal).
    (name: string, seconds: float) =
    /// The period's name (unique within a trial), used by TrialWriter to address it.
    member _.Name = name
    /// The nominal duration in seconds; in training, every period but the last is jittered by ±Timing.Jitter.
    member _.Seconds = seconds

/// Writes one trial of a batch: the trial's random draws, its inputs, targets and answer. Steps count from
/// the start of the trial (the burn-in first); values not written stay 0.
[<Sealed>]
type TrialWriter internal (trial: int, trials: int, periods: Period[], inputSize: int, outputSize: int, dt: float,
                           inputs: float32[], targets: float32[], rng: Rng) =
    let mutable answer = Fixate
    let period (name: string) =
        match periods |> Array.tryFind (fun p -> p.Name = name) with
        | Some p -> p
        | None ->
            invalidArg "period"
                (sprintf "the trial has no period '%s' (its periods: %s)" name (periods |> Array.map (fun p -> p.Name) |> String.concat ", "))
    let check (what: string) (index: int) (size: int) =
        if index < 0 || index >= size then
            raise (ArgumentOutOfRangeException(what, sprintf "%s %d is outside 0 .. %d" what index (size - 1)))
    let steps = (Array.last periods).Start + (Array.last periods).Length

    member internal _.Answer = answer
    /// The trial's index in its batch.
    member _.Trial = trial
    /// Seconds per time step of this batch (θ·dt when training with coarsened discretization).
    member _.Dt = dt
    /// Time steps of the trial, burn-in included.
    member _.Steps = steps
    /// The trial's periods, burn-in ("burnin") first, with their start and length in steps.
    member _.Periods: IReadOnlyList<Period> = periods
    /// A period by name (ArgumentException naming the trial's periods when there is none).
    member _.Period(name: string) = period name

    /// A uniform number in [lo, hi) from the run's seeded stream (never use an unseeded generator: a run must
    /// be reproducible from its configuration).
    member _.Uniform(lo: float, hi: float) = rng.Uniform(lo, hi)
    /// A uniform whole number in [lo, hi) from the run's seeded stream.
    member _.UniformInt(lo: int, hi: int) = rng.UniformInt(lo, hi)
    /// true with probability p, from the run's seeded stream.
    member _.Bernoulli(p: float) = rng.Bernoulli p

    /// Sets input unit `unit` at one step.
    member _.SetInput(step: int, unit: int, value: float32) =
        check "step" step steps
        check "unit" unit inputSize
        inputs[(step * trials + trial) * inputSize + unit] <- value
    /// Sets input unit `unit` for every step of a period.
    member this.SetInput(period: string, unit: int, value: float32) =
        let p = this.Period period
        for t in p.Start .. p.Start + p.Length - 1 do this.SetInput(t, unit, value)
    /// Sets the target of output `output` at one step.
    member _.SetTarget(step: int, output: int, value: float32) =
        check "step" step steps
        check "output" output outputSize
        targets[(step * trials + trial) * outputSize + output] <- value
    /// Sets the target of output `output` for every step of a period.
    member this.SetTarget(period: string, output: int, value: float32) =
        let p = this.Period period
        for t in p.Start .. p.Start + p.Length - 1 do this.SetTarget(t, output, value)

    /// The trial asks for a response at `direction` (radians): the answer FixationAndDirection scores.
    member _.Respond(direction: float) = answer <- Respond(Ring.wrap direction)
    /// The trial asks to keep fixating through the response (the default answer).
    member _.Fixate() = answer <- Fixate
    /// The trial asks for discrete response `response` (kept with the trial for analysis).
    member _.Choose(response: int) = answer <- Choose response

/// A task defined outside the library (in C#, say): implement this interface and register it with
/// TaskCatalog.Register; it then trains with any method, by its name, through the same code as a built-in task.
/// A batch's trials share their period durations; the burn-in (Timing.BurnIn) comes before the periods given
/// here, and the last period is the response. The loss applies, as for the standard tasks, from Timing.Grace
/// after the burn-in to the response (fixation window) and from Timing.Grace into the response to its end.
[<AllowNullLiteral>]
type ICustomTask =
    /// The task's name (letters, digits, '-' and '_'), as configurations and result folders give it.
    abstract Name: string
    /// Input units of the task.
    abstract InputSize: int
    /// Output units of the task.
    abstract OutputSize: int
    /// The network the task trains.
    abstract Network: TaskNetwork
    /// How its readouts are scored.
    abstract Scoring: TaskScoring
    /// Trials per training batch when a configuration does not set them.
    abstract BatchTrials: int
    /// The periods after the burn-in, with nominal durations for a timing (its Stimulus, Delay, … are the
    /// configuration's, so that a configuration can change them).
    abstract Periods: timing: Timing -> IReadOnlyList<TaskPeriod>
    /// Draws one trial's conditions from its random draws and writes its inputs, targets and answer.
    abstract WriteTrial: trial: TrialWriter -> unit

/// Turns a custom task into the core's task definition.
module CustomTask =

    /// The TaskDefinition of a custom task: its generator lays out the periods with the standard tasks' rules
    /// (StandardTasks.layOutNominal), then asks the task for each trial.
    let definition (task: ICustomTask) : TaskDefinition =
        if isNull task then nullArg "task"
        let name = task.Name
        let inputSize, outputSize = task.InputSize, task.OutputSize
        let network =
            match task.Network with
            | TaskNetwork.Population -> PopulationNetwork
            | TaskNetwork.Choice -> ChoiceNetwork
            | other -> raise (ArgumentException(sprintf "task %s: unknown network kind %A" name other))
        let scoring =
            match task.Scoring with
            | TaskScoring.ByChoice -> ByChoice
            | TaskScoring.FixationAndDirection when outputSize = 1 + Ring.Units -> Scoring.standard
            | TaskScoring.FixationAndDirection ->
                raise (ArgumentException(sprintf "task %s: fixation-and-direction scoring needs %d outputs (fixation and a ring of %d), it has %d" name (1 + Ring.Units) Ring.Units outputSize))
            | other -> raise (ArgumentException(sprintf "task %s: unknown scoring %A" name other))
        let generate (settings: BatchSettings) (rng: Rng) : TrialBatch =
            if settings.Trials < 1 then invalidArg "settings" "a batch needs at least one trial"
            let timing = settings.Timing
            let nominal =
                match task.Periods timing with
                | null -> invalidArg "settings" (sprintf "task %s gives no periods" name)
                | ps -> ps |> Seq.map (fun p -> p.Name, p.Seconds) |> List.ofSeq
            if nominal.Length < 2 then
                invalidArg "settings" (sprintf "task %s needs at least two periods (the last is the response), it gives %d" name nominal.Length)
            match nominal |> List.countBy fst |> List.tryFind (fun (n, c) -> c > 1 || n = StandardTasks.BurnInPeriod) with
            | Some (n, _) when n = StandardTasks.BurnInPeriod ->
                invalidArg "settings" (sprintf "task %s: the period name '%s' is the burn-in's, which comes before its periods" name n)
            | Some (n, _) -> invalidArg "settings" (sprintf "task %s: the period name '%s' is used twice" name n)
            | None -> ()
            let buffers = BatchBuffers.forBatch settings.Buffers
            let periods = buffers.Periods(nominal.Length + 1)
            StandardTasks.layOutNominal nominal periods settings rng
            let struct (fixationWindow, responseWindow) = StandardTasks.scoredWindows periods timing
            let n = settings.Trials
            let response = periods[periods.Length - 1]
            let steps = response.Start + response.Length
            let inputs = buffers.Inputs(steps * n * inputSize)
            let targets = buffers.Targets(steps * n * outputSize)
            let lossWeights = buffers.LossWeights(steps * n)
            let answers = buffers.Answers n
            let conditions = buffers.Conditions n
            for b in 0 .. n - 1 do
                let writer = TrialWriter(b, n, periods, inputSize, outputSize, timing.Dt, inputs, targets, rng)
                task.WriteTrial writer
                answers[b] <- writer.Answer
                conditions[b] <- { Stimuli = Array.Empty(); Match = ValueNone; Rules = Array.Empty() }
            StandardTasks.weighWindow lossWeights n outputSize fixationWindow
            StandardTasks.weighWindow lossWeights n outputSize responseWindow
            let total = nominal |> List.sumBy snd
            { Task = name
              Trials = n
              Steps = steps
              BurnIn = periods[0].Length
              Dt = timing.Dt
              InputSize = inputSize
              OutputSize = outputSize
              Inputs = inputs
              Targets = targets
              LossWeights = lossWeights
              Periods = periods
              FixationWindow = fixationWindow
              ResponseWindow = responseWindow
              FixationShare = (if total > 0.0 then (total - snd (List.last nominal)) / total else 0.0)
              Scoring = scoring
              Answers = answers
              Conditions = conditions
              Boundaries = Array.Empty()
              Feedback = ValueNone }
        { Name = name
          PaperName = name
          LongTermMemory = false
          InputSize = inputSize
          OutputSize = outputSize
          Network = network
          BatchTrials = task.BatchTrials
          Generate = generate }

/// The tasks known by name: the built-in ones and those a program registers.
[<AbstractClass; Sealed>]
type TaskCatalog =

    /// Registers a custom task (replacing one registered before under its name), so that configurations can
    /// name it; ArgumentException with one sentence when its name or sizes are not usable.
    static member Register(task: ICustomTask) =
        match Catalog.register (CustomTask.definition task) with
        | Ok () -> ()
        | Error message -> raise (ArgumentException message)

    /// Registers a custom task; false with the reason in `error` when its name or sizes are not usable.
    static member TryRegister(task: ICustomTask, [<Runtime.InteropServices.Out>] error: byref<string>) : bool =
        try
            TaskCatalog.Register task
            error <- null
            true
        with :? ArgumentException as e ->
            error <- e.Message
            false

    /// Whether a task of this name (built-in or registered, any case) is known.
    static member Contains(name: string) = not (isNull name) && (Catalog.tryFind name).IsSome

    /// The names of every known task: the built-in ones, then the registered ones.
    static member Names: IReadOnlyList<string> = (Catalog.all @ Catalog.added ()) |> List.map (fun t -> t.Name) |> ResizeArray :> _
