namespace SkipRnn.Results

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open SkipRnn.Training
open SkipRnn.IO

/// The two kinds of job an experiment is made of.
type JobKind =
    /// Train to the criterion or the step limit (RunDirectory's folder; run.json marks it finished).
    | Training
    /// Train with θ and β held, then compare the modified with the true dynamics (paper Fig. 3;
    /// dynamics.json marks it finished).
    | DynamicsComparison

    member k.Name = match k with Training -> "training" | DynamicsComparison -> "dynamics"

/// What the dynamics comparison measured on one run's networks, on the same evaluation trials.
type DynamicsMeasurement =
    { /// ‖r_mod − r_true‖² / ‖r_true‖² per network (NaN where the modified trajectory is not finite).
      Distances: float[]
      /// Performance of each network with the modified dynamics (the training-time integrator).
      PerformanceModified: float[]
      /// Performance of each network with the true dynamics.
      PerformanceTrue: float[]
      /// How modified and true states were paired, in one sentence for the report.
      Alignment: string
      EvaluationTrials: int
      /// Training steps done before the comparison, seconds and FLOPs spent on them.
      Steps: int
      TrainSeconds: float
      Flops: float
      DivergedAt: int[] }

    /// Per network, performance with the modified minus with the true dynamics.
    member m.PerformanceDifferences = Array.map2 (fun a b -> a - b) m.PerformanceModified m.PerformanceTrue

/// One evaluation as the store keeps it.
type EvaluationRow =
    { Index: int; Step: int; TrainSeconds: float; Criterion: float; MeanPerformance: float
      MeanLoss: float; Theta: float; Beta: float; Diverged: int
      /// Each network's performance (NaN where it is not finite): what the claims resample.
      Performances: float[] }

/// A finished job, read back from its folder: everything the store ingests.
type JobRecord =
    { Key: string
      Kind: JobKind
      Config: RunConfig
      ConfigJson: string
      /// succeeded, failed (training), or compared (dynamics).
      Outcome: string
      Steps: int
      TrainSeconds: float
      Flops: float
      /// Criterion and per-network performance (true dynamics) at the end.
      Criterion: float
      Performances: float[]
      DivergedAt: int[]
      Evaluations: EvaluationRow list
      Dynamics: DynamicsMeasurement option
      /// What the report shows of the trained networks' activity (training jobs that wrote activity.npz).
      Activity: ActivitySummary option
      FinishedAt: DateTime }

    member r.Diverged = r.DivergedAt |> Array.filter (fun d -> d >= 0) |> Array.length

/// The file formats of a job's folder: a job writes its folder (resumably, result file last); the store
/// ingests finished folders. Keeping the two apart lets jobs run anywhere (another machine, a cluster
/// shard) and be merged later.
module JobFolder =

    /// A job's key, which names its folder and its row in the store: the run's slug, then "_dynamics" for a
    /// comparison, then 8 hex digits of SHA-256 of the kind and the text of its config.json. Stable (the same config
    /// always gives the same key) and unique (any change to the config changes it). A finished folder's key is
    /// computed from the bytes of its config.json as they are, so that a folder written by an earlier version keeps
    /// its key whatever the schema writes now.
    let keyOfText (kind: JobKind) (config: RunConfig) (configJson: string) =
        let suffix = match kind with Training -> "" | DynamicsComparison -> "_dynamics"
        let hash = Security.Cryptography.SHA256.HashData(Text.Encoding.UTF8.GetBytes(kind.Name + "\n" + configJson))
        sprintf "%s%s-%s" config.Slug suffix (Convert.ToHexString(hash, 0, 4).ToLowerInvariant())

    /// The key of a job of this config (config.json is written as ConfigJson.toJson writes it).
    let key (kind: JobKind) (config: RunConfig) = keyOfText kind config (ConfigJson.toJson config)

    let dynamicsFile dir = Path.Combine(dir, "dynamics.json")

    /// Example activity of the best trained network, written before run.json (see JobRunner).
    let activityFile dir = Path.Combine(dir, "activity.npz")

    let isFinished (kind: JobKind) (dir: string) =
        match kind with
        | Training -> RunDirectory.isFinished dir
        | DynamicsComparison -> File.Exists(dynamicsFile dir)

    let private numbers (values: seq<float>) =
        let a = JsonArray()
        for v in values do a.Add(if Double.IsFinite v then JsonValue.Create v :> JsonNode else null)
        a

    let private readNumbers (node: JsonNode) =
        node.AsArray() |> Seq.map (fun n -> if isNull n then nan else n.GetValue<float>()) |> Array.ofSeq

    let dynamicsJson (m: DynamicsMeasurement) =
        let o = JsonObject()
        o["distances"] <- numbers m.Distances
        o["performanceModified"] <- numbers m.PerformanceModified
        o["performanceTrue"] <- numbers m.PerformanceTrue
        o["alignment"] <- JsonValue.Create m.Alignment
        o["evaluationTrials"] <- JsonValue.Create m.EvaluationTrials
        o["steps"] <- JsonValue.Create m.Steps
        o["trainSeconds"] <- JsonValue.Create m.TrainSeconds
        o["flops"] <- JsonValue.Create m.Flops
        o["divergedAt"] <- numbers (m.DivergedAt |> Array.map float)
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    let parseDynamics (json: string) =
        let o = JsonNode.Parse(json).AsObject()
        { Distances = readNumbers o["distances"]
          PerformanceModified = readNumbers o["performanceModified"]
          PerformanceTrue = readNumbers o["performanceTrue"]
          Alignment = o["alignment"].GetValue<string>()
          EvaluationTrials = o["evaluationTrials"].GetValue<int>()
          Steps = o["steps"].GetValue<int>()
          TrainSeconds = o["trainSeconds"].GetValue<float>()
          Flops = o["flops"].GetValue<float>()
          DivergedAt = readNumbers o["divergedAt"] |> Array.map int }

    let private parseFloat (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v -> v
        | _ -> nan

    /// evaluations.csv: step,train_seconds,criterion,mean_loss,theta,beta,diverged,net0,net1,…
    let private readEvaluations (path: string) =
        if not (File.Exists path) then []
        else
            File.ReadAllLines path
            |> Array.skip 1
            |> Array.filter (fun l -> l.Trim() <> "")
            |> Array.mapi (fun i line ->
                let f = line.Split ','
                let performances = f[7..] |> Array.map parseFloat
                { Index = i; Step = int f[0]; TrainSeconds = parseFloat f[1]; Criterion = parseFloat f[2]
                  MeanPerformance = (if performances.Length = 0 then nan else Array.average performances)
                  MeanLoss = parseFloat f[3]; Theta = parseFloat f[4]; Beta = parseFloat f[5]; Diverged = int (parseFloat f[6])
                  Performances = performances })
            |> List.ofArray

    /// Checks that what a finished folder holds is whole and belongs together: its weights open and are of the
    /// config's networks and sizes, and its result has a value for every network. An error naming what does not fit.
    let private checkWhole (config: RunConfig) (dir: string) (performances: float[]) =
        let task = (SkipRnn.Tasks.Catalog.tryFind config.Task).Value
        let arch = RunConfig.architecture config task
        let weights = RunDirectory.weightsFile dir
        if performances.Length <> config.Networks then
            failwithf "its result has %d performances for the %d networks of its config.json" performances.Length config.Networks
        try RunDirectory.parametersOf arch config.Networks (Npz.read weights) |> ignore
        with Failure message -> failwithf "%s does not fit its config.json: %s" weights message

    /// The record of the finished job in `dir`, checked against the folder: its key, recomputed from its
    /// config.json, must be the folder's name (a folder copied or edited into another job's place is refused), and
    /// its result, weights and activity must open and fit the config. An error in one sentence if not; a failure of
    /// the disk itself (a FileFailure, a denied permission) is raised, since the folder may well be whole.
    let read (kind: JobKind) (dir: string) : Result<JobRecord, string> =
        try
            let configJson = File.ReadAllText(RunDirectory.configFile dir)
            match ConfigJson.parse configJson with
            | Error e -> Error(sprintf "%s: %s" (RunDirectory.configFile dir) e)
            | Ok config when keyOfText kind config configJson <> Path.GetFileName(Path.TrimEndingDirectorySeparator dir) ->
                Error(sprintf "%s holds the %s job %s (task %s, method %s): its config.json is not the one its name stands for"
                          dir kind.Name (keyOfText kind config configJson) config.Task config.Method.Name)
            | Ok config ->
                let key = keyOfText kind config configJson
                match kind with
                | Training ->
                    let r = RunDirectory.readRecord dir
                    match ConfigJson.parse (r["config"].ToJsonString()) with
                    | Ok recorded when ConfigJson.toJson recorded = ConfigJson.toJson config -> ()
                    | _ -> failwithf "%s is the record of another configuration than its config.json" (RunDirectory.recordFile dir)
                    let performances = readNumbers r["performances"]
                    checkWhole config dir performances
                    let criterion = match r["criterion"] with null -> nan | n -> n.GetValue<float>()
                    Ok { Key = key; Kind = kind; Config = config; ConfigJson = configJson
                         Outcome = r["outcome"].GetValue<string>()
                         Steps = r["steps"].GetValue<int>()
                         TrainSeconds = r["trainSeconds"].GetValue<float>()
                         Flops = r["flops"].GetValue<float>()
                         Criterion = criterion
                         Performances = performances
                         DivergedAt = readNumbers r["divergedAt"] |> Array.map (fun d -> if Double.IsNaN d then -1 else int d)
                         Evaluations = readEvaluations (RunDirectory.evaluationsFile dir)
                         Dynamics = None
                         Activity =
                            let path = activityFile dir
                            if File.Exists path then Some(ActivitySummary.summarize (Npz.read path)) else None
                         FinishedAt = File.GetLastWriteTimeUtc(RunDirectory.recordFile dir) }
                | DynamicsComparison ->
                    let path = dynamicsFile dir
                    let m = parseDynamics (File.ReadAllText path)
                    checkWhole config dir m.PerformanceTrue
                    Ok { Key = key; Kind = kind; Config = config; ConfigJson = configJson
                         Outcome = "compared"; Steps = m.Steps; TrainSeconds = m.TrainSeconds; Flops = m.Flops
                         Criterion = SkipRnn.Model.Performance.criterion m.PerformanceTrue
                         Performances = m.PerformanceTrue
                         DivergedAt = m.DivergedAt |> Array.map (fun d -> if d < 0 then -1 else d)
                         Evaluations = []
                         Dynamics = Some m
                         Activity = None
                         FinishedAt = File.GetLastWriteTimeUtc path }
        with
        // A disk that fails now says nothing of the folder: it is reported, not set aside.
        | :? FileFailure as e when not (e :? DamagedFile) -> reraise ()
        | :? IOException as e when not (e :? FileNotFoundException || e :? DirectoryNotFoundException || e :? DamagedFile) -> reraise ()
        | :? UnauthorizedAccessException -> reraise ()
        | e -> Error(sprintf "cannot read the finished job in %s (%s)" dir (e.Message.TrimEnd('.')))
