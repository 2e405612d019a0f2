namespace SkipRnn.Results

open System
open System.IO
open System.Text.Json
open DuckDB.NET.Data
open SkipRnn.Tasks
open SkipRnn.Training
open SkipRnn.IO

/// A planned job as the store sees it: its key and where it belongs.
type PlannedJob = { Key: string; Position: int }

/// An experiment as planned at a profile (what the report needs to caption its figures).
type PlannedExperiment =
    { Profile: string; Experiment: string; Title: string; Description: string; Scale: string; Jobs: PlannedJob list
      /// The machine that planned (and, unless the jobs went to a cluster, ran) the experiment, in words.
      Machine: string }

/// The results store: one embedded DuckDB file. Every write is one transaction, so a process killed at any
/// moment leaves the store as it was before the write or after it; ingesting a job twice changes nothing.
[<Sealed>]
type ResultStore private (connection: DuckDBConnection, path: string) =

    let command (sql: string) (parameters: (string * obj) list) =
        let c = connection.CreateCommand()
        c.CommandText <- sql
        for name, value in parameters do
            c.Parameters.Add(DuckDBParameter(name, (match value with null -> box DBNull.Value | v -> v))) |> ignore
        c

    let execute sql parameters =
        use c = command sql parameters
        c.ExecuteNonQuery() |> ignore

    let finiteOrNull (v: float) = if Double.IsFinite v then box v else null

    /// Per-network values as a JSON array, null where not finite.
    let json (values: float[]) =
        JsonSerializer.Serialize(values |> Array.map (fun v -> if Double.IsFinite v then Nullable v else Nullable()))

    /// A failure of the database file (a full disk, a lost file) as a FileFailure naming the store.
    let failure (e: exn) =
        FileFailure(SkipRnn.IO.Files.describe "write the results store" path e)

    let inTransaction (work: unit -> unit) =
        try
            use t = connection.BeginTransaction()
            try
                work ()
                t.Commit()
            with _ ->
                // A failed commit (a full disk) has finished the transaction already; the first error is the one
                // to report, not the rollback's.
                (try t.Rollback() with _ -> ())
                reraise ()
        with
        | :? DuckDBException | :? IOException as e -> raise (failure e)

    member _.Path = path
    member _.Connection = connection

    /// Opens (creating if needed) the store at `path`; Error with one sentence if its folder cannot be written or
    /// another process has it open; a FileFailure if the file itself cannot be written (a full disk).
    static member Open(path: string) : Result<ResultStore, string> =
        let folder = Path.GetDirectoryName(Path.GetFullPath path)
        match SkipRnn.IO.Files.ensureWritableFolder folder with
        | Error e -> Error e
        | Ok _ ->
            try
                let c = new DuckDBConnection(sprintf "Data Source=%s" path)
                c.Open()
                let store = new ResultStore(c, path)
                for s in Schema.statements do store.Execute(s, [])
                Ok store
            with e ->
                let message = e.Message.Split('\n')[0]
                if message.Contains "lock" then
                    Error(sprintf "the results store %s is in use by another process (%s)" path message)
                else raise (FileFailure(Files.describe "open the results store" path e))

    /// Opens the store or raises with the one-sentence reason.
    static member OpenOrFail(path: string) =
        match ResultStore.Open path with
        | Ok s -> s
        | Error e -> failwith e

    member _.Execute(sql: string, parameters: (string * obj) list) = execute sql parameters

    /// Runs `work` as one transaction: all of its writes or none.
    member _.InTransaction(work: unit -> unit) = inTransaction work

    /// Rows of a query as arrays of values (DBNull → null).
    member _.Query(sql: string, ?parameters: (string * obj) list) : obj[] list =
        use c = command sql (defaultArg parameters [])
        use r = c.ExecuteReader()
        [ while r.Read() do
            yield Array.init r.FieldCount (fun i -> if r.IsDBNull i then null else r.GetValue i) ]

    member this.Scalar<'T>(sql: string, ?parameters: (string * obj) list) : 'T =
        match this.Query(sql, defaultArg parameters []) with
        | [ row ] when row.Length > 0 && not (isNull row[0]) -> Convert.ChangeType(row[0], typeof<'T>) :?> 'T
        | _ -> Unchecked.defaultof<'T>

    member this.Contains(key: string) =
        this.Scalar<int64>("SELECT count(*) FROM runs WHERE job_key = $key", [ "key", box key ]) > 0L

    /// The keys of every stored job.
    member this.Keys() =
        this.Query "SELECT job_key FROM runs" |> List.map (fun r -> string r[0]) |> Set.ofList

    /// Records which jobs make up an experiment at a profile (replacing an earlier plan of it).
    member _.Plan(e: PlannedExperiment) =
        inTransaction (fun () ->
            execute "DELETE FROM experiment_jobs WHERE profile = $p AND experiment = $e" [ "p", box e.Profile; "e", box e.Experiment ]
            execute "DELETE FROM experiments WHERE profile = $p AND experiment = $e" [ "p", box e.Profile; "e", box e.Experiment ]
            execute
                """INSERT INTO experiments (profile, experiment, title, description, scale, jobs, planned_at, machine)
                   VALUES ($p, $e, $title, $description, $scale, $jobs, $at, $machine)"""
                [ "p", box e.Profile; "e", box e.Experiment; "title", box e.Title; "description", box e.Description
                  "scale", box e.Scale; "jobs", box e.Jobs.Length; "at", box DateTime.UtcNow; "machine", box e.Machine ]
            for j in e.Jobs do
                execute "INSERT OR IGNORE INTO experiment_jobs VALUES ($p, $e, $key, $pos)"
                    [ "p", box e.Profile; "e", box e.Experiment; "key", box j.Key; "pos", box j.Position ])

    /// Stores a finished job: its run row, its evaluations and, for a dynamics comparison, its measurement.
    /// A job already stored is left as it is (returns false).
    member this.Ingest(r: JobRecord) : bool =
        if this.Contains r.Key then false
        else
            let c = r.Config
            let task = Catalog.tryFind c.Task
            let theta, beta0 =
                let row = c.Method.Row
                let theta, beta0 = Method.hyperparameters c.Method
                (if row.UsesTheta then box theta else null), (if row.UsesBeta then box beta0 else null)
            inTransaction (fun () ->
                execute
                    """INSERT INTO runs VALUES ($key, $kind, $task, $paper, $long, $method, $label, $theta, $beta0, $stepCount,
                         $hold, $networks, $seed, $maxSteps, $anneal, $trials, $evalTrials, $evalEvery, $outcome, $steps,
                         $seconds, $flops, $criterion, $mean, $diverged, $performances, $divergedAt, $config, $finished, $ingested)"""
                    [ "key", box r.Key; "kind", box r.Kind.Name; "task", box c.Task
                      "paper", box (task |> Option.map (fun t -> t.PaperName) |> Option.defaultValue c.Task)
                      "long", box (task |> Option.map (fun t -> t.LongTermMemory) |> Option.defaultValue false)
                      "method", box c.Method.Name; "label", box c.Label; "theta", theta; "beta0", beta0
                      "stepCount", box c.StepCount; "hold", box c.Hold; "networks", box c.Networks; "seed", box (int64 c.Seed)
                      "maxSteps", box c.MaxSteps; "anneal", box c.AnnealSteps; "trials", box c.Trials
                      "evalTrials", box c.EvaluationTrials; "evalEvery", box c.EvaluateEvery; "outcome", box r.Outcome
                      "steps", box r.Steps; "seconds", box r.TrainSeconds; "flops", box r.Flops
                      "criterion", finiteOrNull r.Criterion
                      "mean", finiteOrNull (if r.Performances.Length = 0 then nan else Array.average r.Performances)
                      "diverged", box r.Diverged; "performances", box (json r.Performances)
                      "divergedAt", box (JsonSerializer.Serialize r.DivergedAt); "config", box r.ConfigJson
                      "finished", box r.FinishedAt; "ingested", box DateTime.UtcNow ]
                for e in r.Evaluations do
                    execute
                        """INSERT INTO evaluations (job_key, eval_index, step, train_seconds, criterion, mean_performance, mean_loss,
                             theta, beta, diverged, performances)
                           VALUES ($key, $i, $step, $seconds, $criterion, $mean, $loss, $theta, $beta, $diverged, $performances)"""
                        [ "key", box r.Key; "i", box e.Index; "step", box e.Step; "seconds", finiteOrNull e.TrainSeconds
                          "criterion", finiteOrNull e.Criterion; "mean", finiteOrNull e.MeanPerformance; "loss", finiteOrNull e.MeanLoss
                          "theta", finiteOrNull e.Theta; "beta", finiteOrNull e.Beta; "diverged", box e.Diverged
                          "performances", box (json e.Performances) ]
                match r.Activity with
                | Some a ->
                    execute "INSERT INTO activity VALUES ($key, $example, $trajectories)"
                        [ "key", box r.Key; "example", box a.ExampleJson; "trajectories", box a.TrajectoriesJson ]
                | None -> ()
                match r.Dynamics with
                | None -> ()
                | Some m ->
                    let finite = m.Distances |> Array.filter Double.IsFinite
                    let pairs = Array.zip m.PerformanceModified m.PerformanceTrue |> Array.filter (fun (a, b) -> Double.IsFinite a && Double.IsFinite b)
                    let mean (xs: float[]) = if xs.Length = 0 then nan else Array.average xs
                    execute
                        """INSERT INTO dynamics (job_key, distance, finite_networks, performance_modified, performance_true,
                             performance_difference, alignment, eval_trials, distances, performance_differences)
                           VALUES ($key, $distance, $finite, $mod, $true, $diff, $alignment, $trials, $distances, $differences)"""
                        [ "key", box r.Key; "distance", finiteOrNull (mean finite); "finite", box finite.Length
                          "mod", finiteOrNull (mean (Array.map fst pairs)); "true", finiteOrNull (mean (Array.map snd pairs))
                          "diff", finiteOrNull (mean (pairs |> Array.map (fun (a, b) -> a - b)))
                          "alignment", box m.Alignment; "trials", box m.EvaluationTrials
                          "distances", box (json m.Distances)
                          "differences", box (json m.PerformanceDifferences) ])
            true

    /// The stored jobs of an experiment that lack per-network results (stored before they were kept).
    member this.KeysWithoutNetworkResults(profile: string, experiment: string) =
        this.Query(
            """SELECT DISTINCT r.job_key FROM experiment_jobs j JOIN runs r USING (job_key) LEFT JOIN dynamics d USING (job_key)
               WHERE j.profile = $p AND j.experiment = $e
                 AND ((r.kind = 'dynamics' AND d.distances IS NULL)
                      OR (r.kind = 'training' AND EXISTS (SELECT 1 FROM evaluations v WHERE v.job_key = r.job_key AND v.performances IS NULL)))""",
            [ "p", box profile; "e", box experiment ])
        |> List.map (fun row -> string row[0])

    /// Fills in the per-network results of a job stored before they were kept; nothing else changes.
    member _.FillNetworkResults(r: JobRecord) =
        inTransaction (fun () ->
            for e in r.Evaluations do
                execute "UPDATE evaluations SET performances = $perf WHERE job_key = $key AND eval_index = $i AND performances IS NULL"
                    [ "perf", box (json e.Performances); "key", box r.Key; "i", box e.Index ]
            match r.Dynamics with
            | Some m ->
                execute "UPDATE dynamics SET distances = $d, performance_differences = $diff WHERE job_key = $key AND distances IS NULL"
                    [ "d", box (json m.Distances)
                      "diff", box (json m.PerformanceDifferences); "key", box r.Key ]
            | None -> ())

    /// Replaces the paper's published values (see PaperValues).
    member _.ReplacePaperValues(rows: PaperValue list) =
        inTransaction (fun () ->
            execute "DELETE FROM paper_values" []
            for v in rows do
                execute "INSERT INTO paper_values VALUES ($source, $quantity, $row, $method, $value, $spread, $failed, $best)"
                    [ "source", box v.Source; "quantity", box v.Quantity; "row", box v.Row; "method", box v.Method
                      "value", (match v.Value with Some x -> box x | None -> null)
                      "spread", (match v.Spread with Some x -> box x | None -> null)
                      "failed", box v.Failed; "best", box v.Best ])

    /// Writes every table as CSV into `folder` (runs.csv, evaluations.csv, …), each file whole or not at all and
    /// flushed to the disk before it takes its name.
    member this.ExportCsv(folder: string) =
        SkipRnn.IO.Files.guard "create" folder (fun () -> Directory.CreateDirectory folder |> ignore)
        for table in [ "runs"; "evaluations"; "dynamics"; "experiments"; "experiment_jobs"; "paper_values"; "claims" ] do
            let target = Path.Combine(Path.GetFullPath folder, table + ".csv")
            let temporary = target + ".partial"
            try
                execute (sprintf "COPY (SELECT * FROM %s ORDER BY ALL) TO '%s' (HEADER, DELIMITER ',')" table (temporary.Replace("'", "''"))) []
                do
                    use written = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite)
                    written.Flush true
                File.Move(temporary, target, true)
            with
            | :? DuckDBException | :? IOException as e ->
                (try File.Delete temporary with _ -> ())
                raise (FileFailure(SkipRnn.IO.Files.describe "write" target e))

    interface IDisposable with
        member _.Dispose() = connection.Dispose()
