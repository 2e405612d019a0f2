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

type Event =
    /// The jobs of the experiment that the store does not hold yet.
    | Planned of Experiment * missing: Job list
    | Started of Job * index: int * total: int
    | Progress of Job * step: int * criterion: float
    /// A finished job went into the store: trained now, or found finished on disk and ingested.
    | Stored of Job * JobRecord * trainedNow: bool
    | Stopped of Job

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

/// Ingests the finished folder of a job; an error if it cannot be read.
let ingest (store: ResultStore) (layout: ResultsLayout) (job: Job) =
    match JobFolder.read job.Kind (layout.JobFolder job) with
    | Ok record ->
        store.Ingest record |> ignore
        record
    | Error e -> failwith e

/// Runs the missing jobs of an experiment; false if cancelled before the end.
let run (store: ResultStore) (layout: ResultsLayout) (profile: string) (e: Experiment) (workers: int option)
        (notify: Event -> unit) (cancel: CancellationToken) =
    let missing = plan store layout profile e
    notify (Planned(e, missing))
    let rec next (index: int) (jobs: Job list) =
        match jobs with
        | [] -> true
        | _ when cancel.IsCancellationRequested -> false
        | job :: rest ->
            let dir = layout.JobFolder job
            let trainedNow = not (JobFolder.isFinished job.Kind dir)
            if trainedNow then notify (Started(job, index, missing.Length))
            match JobRunner.run job dir workers (fun step criterion -> notify (Progress(job, step, criterion))) cancel with
            | JobRunner.Stopped ->
                notify (Stopped job)
                false
            | JobRunner.Finished ->
                let record = ingest store layout job
                notify (Stored(job, record, trainedNow))
                next (index + 1) rest
    next 0 missing
