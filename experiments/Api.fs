namespace SkipRnn.Api

open System
open System.Collections.Generic
open System.Threading
open SkipRnn.Training
open SkipRnn.Results
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline

/// What happened in an experiment's run.
type ExperimentEventKind =
    /// The experiment was planned in the store; Total is the number of runs it lacks.
    | Planned = 0
    /// A run started training (Index of Total).
    | Started = 1
    /// A run reached an evaluation (Step, Criterion).
    | Progress = 2
    /// A finished run went into the store.
    | Stored = 3
    /// The run was stopped by the cancellation token (a training run resumes from its checkpoint next time).
    | Stopped = 4
    /// This call leaves the run undone (Message says why: its folder held something else and was set aside, so
    /// the next call trains it, or another process holds it); the experiment goes on with the next run.
    | NotDone = 5
    /// Something set right on the way (a damaged checkpoint set aside), in one sentence (Message).
    | Warning = 6

/// One event of an experiment's run, for IProgress.
[<Sealed>]
type ExperimentProgress internal (kind: ExperimentEventKind, run: string, label: string, index: int, total: int, step: int, criterion: float,
                                  message: string) =
    /// What happened.
    member _.Kind = kind
    /// The run's key (its folder under runs/ and its row in the store); null for Planned.
    member _.Run = run
    /// The run's label (task and method, as Control or DASC10); null for Planned.
    member _.Label = label
    /// The run's position among the runs this call trains (Started), else −1.
    member _.Index = index
    /// The runs this call trains (the ones the store lacks).
    member _.Total = total
    /// The training step (Progress), else −1.
    member _.Step = step
    /// The criterion at that step (Progress), else NaN.
    member _.Criterion = criterion
    /// Why a run is not done (NotDone), or what was set right (Warning); else null.
    member _.Message = message
    /// One line for a console.
    override _.ToString() =
        match kind with
        | ExperimentEventKind.Planned -> sprintf "planned: %d runs to train" total
        | ExperimentEventKind.Progress -> sprintf "%s %s: step %d, criterion %.3f" (string kind) label step criterion
        | ExperimentEventKind.NotDone | ExperimentEventKind.Warning -> sprintf "%s %s: %s" (string kind) label message
        | _ -> sprintf "%s %s" (string kind) label

/// A finished run of an experiment, as the results store holds it.
[<Sealed>]
type StoredRun internal (record: JobRecord, folder: string) =
    /// The run's key (its row in the store's runs table).
    member _.Key = record.Key
    /// The run's folder (config.json, weights.npz, evaluations.csv, run.json).
    member _.Folder = folder
    /// Its configuration.
    member _.Configuration = RunConfiguration.Of record.Config
    /// The paper's label of its method (Control, DASC10, …).
    member _.Label = record.Config.Label
    /// How the run ended (a stored run has always ended: Succeeded or Failed).
    member _.Outcome = if record.Outcome = Outcome.Succeeded.Name then RunOutcome.Succeeded else RunOutcome.Failed
    /// Training steps done.
    member _.Steps = record.Steps
    /// Seconds spent training.
    member _.TrainSeconds = record.TrainSeconds
    /// The criterion at the end.
    member _.Criterion = record.Criterion
    /// Every network's performance at the end.
    member _.Performances = Array.copy record.Performances

/// The outcome of running an experiment.
[<Sealed>]
type ExperimentResult internal (completed: bool, results: string, store: string, runs: StoredRun list, notDone: string list) =
    /// false when the cancellation token stopped it; running it again goes on where it stopped.
    member _.Completed = completed
    /// The runs this call left undone, each as "key: why" (running it again does them).
    member _.NotDone: IReadOnlyList<string> = ResizeArray notDone :> _
    /// The results folder.
    member _.ResultsFolder = results
    /// The results store (DuckDB) the runs went into.
    member _.StorePath = store
    /// The experiment's finished runs, in the order of its configurations (all of them when Completed and
    /// NotDone is empty).
    member _.Runs: IReadOnlyList<StoredRun> = ResizeArray runs :> _

/// An experiment defined as a list of run configurations, run into a results folder as `skiprnn experiment run`
/// runs the paper's: every configuration the store lacks is trained into runs/&lt;key&gt;/ and stored in
/// skiprnn.duckdb as soon as it finishes; a second call trains nothing already stored.
[<Sealed; AllowNullLiteral>]
type ExperimentDefinition
    /// An experiment stored under `name` (letters, digits, '-' and '_'), with a title for the report.
    (name: string, title: string) =
    do
        if String.IsNullOrWhiteSpace name || name |> Seq.exists (fun c -> not (Char.IsAsciiLetterOrDigit c || c = '-' || c = '_')) then
            raise (ArgumentException(sprintf "an experiment name must be a non-empty word of letters, digits, '-' and '_', got '%s'" name))
    let runs = ResizeArray<RunConfiguration>()

    /// An experiment named `name`, its title the name.
    new(name: string) = ExperimentDefinition(name, name)
    /// The name it is stored under.
    member _.Name = name
    /// Its title.
    member _.Title = if String.IsNullOrWhiteSpace title then name else title
    /// What it shows (stored with it).
    member val Description = "" with get, set
    /// Its configurations, in order.
    member _.Runs: IReadOnlyList<RunConfiguration> = runs.AsReadOnly()

    /// Adds a configuration; returns the experiment, so that calls chain.
    member this.Add(configuration: RunConfiguration) =
        if isNull configuration then nullArg "configuration"
        runs.Add configuration
        this

    /// The core's experiment (jobs keyed by their configurations).
    member this.ToExperiment() : Experiment =
        let jobs = runs |> Seq.map (fun c -> Job.training c.Config) |> List.ofSeq
        let networks = runs |> Seq.map (fun c -> c.Networks) |> Seq.distinct |> Seq.map string |> String.concat "/"
        { Name = name
          Title = this.Title
          Description = this.Description
          Scale = sprintf "%d runs of %s networks" jobs.Length networks
          Jobs = jobs }

    /// Runs the configurations the store of `resultsFolder` lacks, under a profile name (the store keys an
    /// experiment by profile and name; the CLI's are quick, night, paper). ArgumentException when the
    /// experiment has no configurations or another process has the store open; SkipRnn.IO.FileFailure (an
    /// IOException whose message names the file) when a file cannot be written, a full disk say.
    member this.Run(resultsFolder: string, profile: string, progress: IProgress<ExperimentProgress>,
                    cancellationToken: CancellationToken, workers: int) : ExperimentResult =
        if String.IsNullOrWhiteSpace resultsFolder then raise (ArgumentException "a results folder is needed")
        if String.IsNullOrWhiteSpace profile then raise (ArgumentException "a profile name is needed")
        if runs.Count = 0 then raise (ArgumentException(sprintf "experiment %s has no configurations" name))
        if workers < 0 then raise (ArgumentException(sprintf "the number of workers must not be negative (0: one per core), got %d" workers))
        let experiment = this.ToExperiment()
        let layout = { Root = IO.Path.GetFullPath resultsFolder }
        SkipRnn.IO.Files.guard "create" layout.Root (fun () -> IO.Directory.CreateDirectory layout.Root |> ignore)
        use store =
            match ResultStore.Open layout.Store with
            | Ok s -> s
            | Error e -> raise (ArgumentException e)
        let report kind (job: Job option) index total step criterion message =
            if not (isNull progress) then
                let key, label =
                    match job with
                    | Some j -> j.Key, sprintf "%s %s" j.Config.Task j.Config.Label
                    | None -> null, null
                progress.Report(ExperimentProgress(kind, key, label, index, total, step, criterion, message))
        let mutable total = 0
        let notDone = ResizeArray<string>()
        let notify event =
            match event with
            | Planned (_, missing) ->
                total <- missing.Length
                report ExperimentEventKind.Planned None -1 total -1 nan null
            | Started (job, index, count) -> report ExperimentEventKind.Started (Some job) index count -1 nan null
            | Progress (job, step, criterion) -> report ExperimentEventKind.Progress (Some job) -1 total step criterion null
            | Stored (job, _, _) -> report ExperimentEventKind.Stored (Some job) -1 total -1 nan null
            | Stopped job -> report ExperimentEventKind.Stopped (Some job) -1 total -1 nan null
            | NotDone (job, reason) ->
                notDone.Add(sprintf "%s: %s" job.Key reason)
                report ExperimentEventKind.NotDone (Some job) -1 total -1 nan reason
            | Warning (job, message) -> report ExperimentEventKind.Warning (Some job) -1 total -1 nan message
        let completed =
            Pipeline.run store layout profile experiment (if workers = 0 then None else Some workers) notify cancellationToken
        let finished =
            [ for job in experiment.Jobs |> List.distinctBy (fun j -> j.Key) do
                let dir = layout.JobFolder job
                if JobFolder.isFinished job.Kind dir then
                    match JobFolder.read job.Kind dir with
                    | Ok record -> StoredRun(record, dir)
                    | Error _ -> () ]
        ExperimentResult(completed, layout.Root, layout.Store, finished, List.ofSeq notDone)

    /// Runs the configurations the store lacks under the profile name "custom", one worker per core.
    member this.Run(resultsFolder: string, progress: IProgress<ExperimentProgress>, cancellationToken: CancellationToken) =
        this.Run(resultsFolder, "custom", progress, cancellationToken, 0)

    /// Runs the configurations the store lacks under the profile name "custom", without progress or cancellation.
    member this.Run(resultsFolder: string) = this.Run(resultsFolder, "custom", null, CancellationToken.None, 0)
