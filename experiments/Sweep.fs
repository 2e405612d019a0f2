/// A sweep runs experiments away from the results store, for a cluster: the jobs are split into shards; each
/// shard runs its jobs one after another, each into its own folder under DIR/runs/ (one writer per folder and
/// no shard opens the store, so a network file system is safe); `merge` then ingests the finished folders
/// into the store. DIR has a results folder's layout, so it may be the results folder itself.
module SkipRnn.Experiments.Sweep

open System
open System.Diagnostics
open System.IO
open System.Security.Cryptography
open System.Text
open System.Text.Json
open System.Threading
open SkipRnn.IO
open SkipRnn.Results
open SkipRnn.Experiments.Pipeline

/// The catalog's spelling of an experiment's name, or "all"; None if there is no such experiment.
let canonical (selection: string) =
    if String.Equals(selection.Trim(), "all", StringComparison.OrdinalIgnoreCase) then Some "all"
    else
        ExperimentCatalog.all
        |> List.tryFind (fun (n, _) -> String.Equals(n, selection.Trim(), StringComparison.OrdinalIgnoreCase))
        |> Option.map fst

/// The experiments of a selection (a catalog name or "all") at a profile.
let experiments (selection: string) (profile: Profile) : Experiment list =
    match canonical selection with
    | Some "all" -> ExperimentCatalog.all |> List.map (fun (_, define) -> define profile)
    | Some name -> [ (ExperimentCatalog.tryFind name).Value profile ]
    | None -> invalidArg "selection" (sprintf "unknown experiment '%s'" selection)

/// The sweep's jobs in a stable order: each experiment's in turn, a job shared by several once, at its first place.
let jobs (experiments: Experiment list) =
    experiments |> List.collect (fun e -> e.Jobs) |> List.distinctBy (fun j -> j.Key)

/// A short hash of the job keys in order. A shard computed from a changed definition (the checkout updated
/// between plan and run) would not fit the others; the fingerprint lets `sweep run` refuse it.
let fingerprint (jobs: Job list) =
    let text = jobs |> List.map (fun j -> j.Key) |> String.concat "\n"
    Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes text), 0, 6).ToLowerInvariant()

/// What `sweep plan` leaves in DIR/sweeps/NAME.json: enough for `merge` to record the experiments in the store.
type Manifest =
    { Name: string
      /// A catalog name or "all".
      Selection: string
      Profile: string
      Shards: int
      Runs: int
      Fingerprint: string }

let sweepsFolder (layout: ResultsLayout) = Path.Combine(layout.Root, "sweeps")
let logFolder (layout: ResultsLayout) = Path.Combine(sweepsFolder layout, "logs")
let manifestFile (layout: ResultsLayout) (name: string) = Path.Combine(sweepsFolder layout, name + ".json")
let scriptFile (layout: ResultsLayout) (name: string) = Path.Combine(sweepsFolder layout, name + ".sbatch")

/// A sweep's name: its selection and profile, as in figure1-quick or all-paper.
let name (selection: string) (profile: Profile) = sprintf "%s-%s" selection profile.Name

let private json = JsonSerializerOptions(WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase)

let writeManifest (layout: ResultsLayout) (m: Manifest) =
    Directory.CreateDirectory(sweepsFolder layout) |> ignore
    Files.writeAtomically (manifestFile layout m.Name) (JsonSerializer.Serialize(m, json))

/// Every manifest in DIR/sweeps/, or why one cannot be read.
let readManifests (layout: ResultsLayout) : Result<Manifest, string> list =
    let folder = sweepsFolder layout
    if not (Directory.Exists folder) then []
    else
        Directory.GetFiles(folder, "*.json")
        |> Array.sort
        |> Array.map (fun path ->
            try Ok(JsonSerializer.Deserialize<Manifest>(File.ReadAllText path, json))
            with e -> Error(sprintf "cannot read the sweep plan %s (%s)" path e.Message))
        |> List.ofArray

/// What a shard reports as it goes.
type ShardEvent =
    /// Finished in an earlier attempt: not run again.
    | Skipped of Job
    | Starting of Job * fromCheckpoint: bool
    | Progress of Job * step: int * criterion: float
    | Finished of Job * seconds: float
    | Failed of Job * reason: string
    /// Stopped from outside (SIGTERM): a training job keeps its checkpoint.
    | Stopped of Job
    /// Something set right on the way (a damaged checkpoint set aside), in one sentence.
    | Warning of Job * message: string

/// Runs a shard's jobs one after another into DIR/runs/<job key>/. A job that fails is reported and the
/// shard goes on with the next. True if the shard got to its end, false if it was stopped.
let runShard (layout: ResultsLayout) (jobs: Job list) (device: SkipRnn.Engine.Device) (workers: int option)
        (notify: ShardEvent -> unit) (cancel: CancellationToken) =
    let rec next (remaining: Job list) =
        match remaining with
        | [] -> true
        | _ when cancel.IsCancellationRequested -> false
        | job :: rest ->
            let dir = layout.JobFolder job
            if JobFolder.isFinished job.Kind dir then
                notify (Skipped job)
                next rest
            else
                notify (Starting(job, File.Exists(RunDirectory.checkpointFile dir)))
                let watch = Stopwatch.StartNew()
                let progress step criterion = notify (Progress(job, step, criterion))
                let warn message = notify (Warning(job, message))
                match (try Ok(JobRunner.runOn device job dir workers progress warn cancel) with e -> Error e.Message) with
                | Ok JobRunner.Stopped ->
                    notify (Stopped job)
                    false
                | Ok (JobRunner.Busy reason) ->
                    notify (Failed(job, reason))
                    next rest
                | Ok (JobRunner.Unusable reason) ->
                    notify (Failed(job, sprintf "%s; %s" reason (Pipeline.setAside layout dir)))
                    next rest
                | Ok JobRunner.Finished ->
                    notify (Finished(job, watch.Elapsed.TotalSeconds))
                    next rest
                | Error reason ->
                    notify (Failed(job, reason))
                    next rest
    next jobs

/// What a merge did.
type MergeSummary =
    { /// Keys of the jobs ingested now.
      New: string list
      /// Jobs of DIR that the store held already.
      Present: int
      /// Planned jobs, or folders under DIR/runs/, with no result file yet.
      Unfinished: string list
      /// Problems that did not stop the merge (an unreadable plan or result), one sentence each.
      Warnings: string list }

let private kindOfFolder (dir: string) =
    if JobFolder.isFinished Training dir then Some Training
    elif JobFolder.isFinished DynamicsComparison dir then Some DynamicsComparison
    else None

/// Ingests every finished job folder under DIR/runs/ into the store (a job stored already is left as it
/// is) and records the experiments of DIR's sweep plans, so that the report finds them.
let merge (store: ResultStore) (layout: ResultsLayout) : MergeSummary =
    let warnings = ResizeArray<string>()
    let planned =
        [ for manifest in readManifests layout do
            match manifest with
            | Error e -> warnings.Add e
            | Ok m ->
                match Profiles.tryFind m.Profile, canonical m.Selection with
                | Some profile, Some selection ->
                    let experiments = experiments selection profile
                    let jobs = jobs experiments
                    if fingerprint jobs <> m.Fingerprint then
                        warnings.Add(sprintf "the experiments of sweep %s changed since it was planned; its runs are merged as they are" m.Name)
                    for e in experiments do Pipeline.plan store layout profile.Name e |> ignore
                    yield! jobs
                | _ -> warnings.Add(sprintf "sweep %s names an unknown profile or experiment (%s, %s)" m.Name m.Profile m.Selection) ]
        |> List.distinctBy (fun j -> j.Key)
    let kinds = planned |> List.map (fun j -> j.Key, j.Kind) |> Map.ofList
    let folders =
        if Directory.Exists layout.Runs then
            Directory.GetDirectories layout.Runs |> Array.map Path.GetFileName |> Array.sort |> List.ofArray
        else []
    let keys = (planned |> List.map (fun j -> j.Key)) @ (folders |> List.filter (fun f -> not (kinds.ContainsKey f)))
    let stored = store.Keys()
    let fresh = ResizeArray<string>()
    let unfinished = ResizeArray<string>()
    let mutable present = 0
    for key in keys do
        let dir = Path.Combine(layout.Runs, key)
        if stored.Contains key then present <- present + 1
        else
            let kind = match kinds.TryFind key with Some k -> Some k | None -> kindOfFolder dir
            match kind with
            | Some k when JobFolder.isFinished k dir ->
                match JobFolder.read k dir with
                | Ok record ->
                    store.Ingest record |> ignore
                    fresh.Add key
                | Error e ->
                    // Never stored under a key it does not match: set aside, so that its job counts as not done.
                    warnings.Add(sprintf "%s; %s" e (Pipeline.setAside layout dir))
                    unfinished.Add key
            | _ -> unfinished.Add key
    { New = List.ofSeq fresh; Present = present; Unfinished = List.ofSeq unfinished; Warnings = List.ofSeq warnings }
