/// Runs an experiment against the results store: every job that the store lacks is run into its folder under
/// results/runs/ and ingested as soon as it finishes. A second invocation trains nothing already stored, and a
/// killed one loses no finished job (and resumes a training job from its checkpoint).
module SkipRnn.Experiments.Pipeline

open System.IO
open System.Threading
open SkipRnn.Results

/// Where a results folder keeps its parts.
type ResultsLayout =
    { Root: string }
    member l.Store = Path.Combine(l.Root, "skiprnn.duckdb")
    member l.Runs = Path.Combine(l.Root, "runs")
    member l.Report = Path.Combine(l.Root, "report")
    member l.Csv = Path.Combine(l.Root, "csv")
    /// The claims' verdicts (also in the store and at the top of the report).
    member l.Claims = Path.Combine(l.Root, "claims.csv")
    member l.JobFolder(job: Job) = Path.Combine(l.Runs, job.Key)
    /// Where a run folder that cannot be used is set aside (moved, never deleted), so its job is trained again.
    member l.Quarantine = Path.Combine(l.Root, "quarantine")

type Event =
    /// The jobs of the experiment that the store does not hold yet.
    | Planned of Experiment * missing: Job list
    | Started of Job * index: int * total: int
    | Progress of Job * step: int * criterion: float
    /// A finished job went into the store: trained now, or found finished on disk and ingested.
    | Stored of Job * JobRecord * trainedNow: bool
    | Stopped of Job
    /// A job that this invocation leaves undone, and why: its folder held something else and was set aside (the
    /// next invocation trains it), or another process holds it. The stage goes on with the next job.
    | NotDone of Job * reason: string
    /// Something set right on the way (a damaged checkpoint set aside), in one sentence.
    | Warning of Job * message: string

/// Records the experiment's plan in the store under a profile's name (filling in per-network results its stored
/// runs lack, from their folders) and returns its jobs that are not stored yet.
let plan (store: ResultStore) (layout: ResultsLayout) (profile: string) (e: Experiment) =
    store.Plan
        { Profile = profile; Experiment = e.Name; Title = e.Title; Description = e.Description; Scale = e.Scale
          Jobs = e.Jobs |> List.mapi (fun i j -> { Key = j.Key; Position = i })
          Machine = SkipRnn.Numerics.Machine.describe () }
    // Runs stored before per-network results were kept get them from their folders, where those still are.
    for key in store.KeysWithoutNetworkResults(profile, e.Name) do
        match e.Jobs |> List.tryFind (fun j -> j.Key = key) with
        | Some job when JobFolder.isFinished job.Kind (layout.JobFolder job) ->
            match JobFolder.read job.Kind (layout.JobFolder job) with
            | Ok record -> store.FillNetworkResults record
            | Error _ -> ()
        | _ -> ()
    let stored = store.Keys()
    e.Jobs |> List.distinctBy (fun j -> j.Key) |> List.filter (fun j -> not (stored.Contains j.Key))

/// Moves a run folder that cannot be used into the quarantine folder; the sentence that says where.
let setAside (layout: ResultsLayout) (dir: string) =
    // Another process may have moved it first (two shards, or a merge beside a run): that is not a reason to stop.
    try
        let aside = SkipRnn.IO.Files.setAside dir (Some layout.Quarantine)
        sprintf "set aside as %s" (Path.GetRelativePath(layout.Root, aside))
    with :? SkipRnn.IO.FileFailure as e -> sprintf "not set aside: %s" e.Message

/// Runs the missing jobs of an experiment; false if cancelled before the end. A job whose folder cannot be used
/// (another job's config in it, a damaged or incomplete result) is set aside and reported, and the stage goes on.
let run (store: ResultStore) (layout: ResultsLayout) (profile: string) (e: Experiment) (workers: int option)
        (notify: Event -> unit) (cancel: CancellationToken) =
    let missing = plan store layout profile e
    notify (Planned(e, missing))
    let notDone job (reason: string) = notify (NotDone(job, reason))
    let rec next (index: int) (jobs: Job list) =
        match jobs with
        | [] -> true
        | _ when cancel.IsCancellationRequested -> false
        | job :: rest ->
            let dir = layout.JobFolder job
            let trainedNow = not (JobFolder.isFinished job.Kind dir)
            if trainedNow then notify (Started(job, index, missing.Length))
            let progress step criterion = notify (Progress(job, step, criterion))
            match JobRunner.run job dir workers progress (fun message -> notify (Warning(job, message))) cancel with
            | JobRunner.Stopped ->
                notify (Stopped job)
                false
            | JobRunner.Busy reason ->
                notDone job reason
                next (index + 1) rest
            | JobRunner.Unusable reason ->
                notDone job (sprintf "%s; %s" reason (setAside layout dir))
                next (index + 1) rest
            | JobRunner.Finished ->
                match JobFolder.read job.Kind dir with
                | Ok record ->
                    store.Ingest record |> ignore
                    notify (Stored(job, record, trainedNow))
                | Error reason -> notDone job (sprintf "%s; %s" reason (setAside layout dir))
                next (index + 1) rest
    next 0 missing
