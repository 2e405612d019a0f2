/// Progress of the whole pipeline: which stage, how many runs done, the run in training, and time left —
/// a live Spectre.Console display on a terminal, one line per event otherwise.
module SkipRnn.Cli.PipelineProgress

open System
open System.Diagnostics
open Spectre.Console
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline

/// Seconds per unit of Job.cost before anything has been measured (2 cores, before engine optimization).
let private priorSecondsPerUnit = 1.4e-5

type Tracker(stage: int, stages: int, laterCost: float) =
    let clock = Stopwatch.StartNew()
    let mutable experiment = ""
    let mutable total = 0
    let mutable finished = 0
    let mutable remainingCost = 0.0
    let mutable measuredCost = 0.0
    let mutable measuredSeconds = 0.0
    let mutable current: (Job * float * Stopwatch) option = None
    let mutable currentStep = 0
    let mutable currentCriterion = nan
    let mutable notDone = 0

    member _.Fraction = if total = 0 then 1.0 else float finished / float total

    member _.SecondsLeft =
        let rate = if measuredCost > 0.0 then measuredSeconds / measuredCost else priorSecondsPerUnit
        let inFlight =
            match current with
            | Some (job, cost, _) -> cost * float currentStep / float (max 1 job.Config.MaxSteps)
            | None -> 0.0
        max 0.0 ((remainingCost - inFlight + laterCost) * rate)

    member this.Describe() =
        let running =
            match current with
            | Some (job, _, _) ->
                let c = job.Config
                sprintf " · %s %s step %d/%d%s" c.Task c.Method.Label currentStep c.MaxSteps
                    (if Double.IsNaN currentCriterion then "" else sprintf " criterion %.3f" currentCriterion)
            | None -> ""
        sprintf "stage %d/%d %s: %d/%d runs%s · at most %s left" stage stages experiment finished total running
            (Output.duration this.SecondsLeft)

    member _.Handle(event: Event) =
        match event with
        | Planned (e, missing) ->
            experiment <- e.Name
            total <- missing.Length
            remainingCost <- missing |> List.sumBy Job.cost
        | Started (job, _, _) ->
            current <- Some(job, Job.cost job, Stopwatch.StartNew())
            currentStep <- 0
            currentCriterion <- nan
        | Progress (_, step, criterion) ->
            currentStep <- step
            currentCriterion <- criterion
        | Stored (job, _, trainedNow) ->
            let cost = Job.cost job
            match current with
            | Some (_, _, watch) when trainedNow ->
                // A run that stopped early at the criterion cost only its share of the estimate.
                measuredCost <- measuredCost + cost
                measuredSeconds <- measuredSeconds + watch.Elapsed.TotalSeconds
            | _ -> ()
            current <- None
            finished <- finished + 1
            remainingCost <- remainingCost - cost
        | Stopped _ -> current <- None
        | NotDone (job, _) ->
            current <- None
            finished <- finished + 1
            remainingCost <- remainingCost - Job.cost job
            notDone <- notDone + 1
        | Warning _ -> ()

    /// Jobs this invocation left undone (NotDone events).
    member _.NotDone = notDone

    member _.Elapsed = clock.Elapsed.TotalSeconds

/// A line for each stored run (stdout; tests read these).
let storedLine (job: Job) (record: SkipRnn.Results.JobRecord) (trainedNow: bool) =
    sprintf "stored %s: %s after %d steps, criterion %.3f%s" job.Key record.Outcome record.Steps record.Criterion
        (if trainedNow then sprintf ", %.0f s of training" record.TrainSeconds else " (found finished on disk)")

/// A line for a job left undone or a repair on the way (stderr).
let warningLine (event: Event) =
    match event with
    | NotDone (job, reason) -> Some(sprintf "not done %s: %s" job.Key reason)
    | Warning (job, message) -> Some(sprintf "warning: %s: %s" job.Key message)
    | _ -> None

/// Runs `work` with a live display; `work` gets the event handler.
let run (tracker: Tracker) (work: (Event -> unit) -> 'a) : 'a =
    if Console.IsOutputRedirected then
        let mutable lastLine = Stopwatch.StartNew()
        work (fun event ->
            tracker.Handle event
            warningLine event |> Option.iter (eprintfn "%s")
            match event with
            | Started (job, _, _) -> printfn "training %s" job.Key
            | Stored (job, record, trainedNow) -> printfn "%s · %s" (storedLine job record trainedNow) (tracker.Describe())
            | Stopped job -> printfn "stopped %s" job.Key
            | Planned (e, missing) -> printfn "%s: %d of %d runs to do · %s" e.Name missing.Length (e.Jobs |> List.distinctBy (fun j -> j.Key) |> List.length) (tracker.Describe())
            | Progress _ when lastLine.Elapsed.TotalSeconds > 30.0 ->
                lastLine.Restart()
                printfn "  %s" (tracker.Describe())
            | Progress _ | NotDone _ | Warning _ -> ())
    else
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns([| TaskDescriptionColumn(Alignment = Justify.Left) :> ProgressColumn; ProgressBarColumn(); PercentageColumn(); ElapsedTimeColumn() |])
            .Start(fun ctx ->
                let task = ctx.AddTask(Markup.Escape(tracker.Describe()), maxValue = 1.0)
                let result =
                    work (fun event ->
                        tracker.Handle event
                        warningLine event |> Option.iter (fun line -> AnsiConsole.WriteLine line)
                        match event with
                        | Stored (job, record, trainedNow) -> AnsiConsole.WriteLine(storedLine job record trainedNow)
                        | Stopped job -> AnsiConsole.WriteLine(sprintf "stopped %s" job.Key)
                        | _ -> ()
                        task.Value <- tracker.Fraction
                        task.Description <- Markup.Escape(tracker.Describe()))
                task.Value <- 1.0
                result)
