namespace SkipRnn.Results.Claims

open System
open System.Text.Json
open SkipRnn.Results
open SkipRnn.Results.Report

/// One evaluation of a run: when it happened and how every network performed.
type CurvePoint = { Step: int; Seconds: float; Performances: float[] }

/// A stored run with what the claims need of it: its final per-network performance, its learning curve per
/// network, and, for a dynamics comparison, the per-network distances and performance differences.
type RunEvidence =
    { Key: string
      /// The paper's name of the task (dgo, danti, …).
      Task: string
      LongTermMemory: bool
      /// The method's name (Method.rows).
      Method: string
      /// The paper's label (Control, CD10, DASC40, … "+ strategic SC").
      Label: string
      Theta: float
      Networks: int
      MaxSteps: int
      EvaluateEvery: int
      Steps: int
      TrainSeconds: float
      Diverged: int
      Performances: float[]
      Curve: CurvePoint[]
      Distances: float[]
      Differences: float[] }

    member r.Strategic = r.Label.EndsWith SkipRnn.Training.RunConfig.StrategicSuffix
    member r.BaseLabel = r.Label.Replace(SkipRnn.Training.RunConfig.StrategicSuffix, "")
    /// Every evaluation kept each network's performance (stores written before they were kept lack them).
    member r.HasNetworkCurves = r.Curve.Length > 0 && r.Curve |> Array.forall (fun p -> p.Performances.Length = r.Networks)

module RunEvidence =

    let private numbers (json: obj) =
        match json with
        | :? string as s when s <> "" ->
            JsonSerializer.Deserialize<Nullable<float>[]>(s) |> Array.map (fun v -> if v.HasValue then v.Value else nan)
        | _ -> [||]

    /// The runs of an experiment at a profile, in the experiment's order.
    let ofExperiment (store: ResultStore) (profile: string) (experiment: string) =
        let curves =
            store.Query(
                """SELECT e.job_key, e.step, e.train_seconds, e.performances
                   FROM experiment_jobs j JOIN evaluations e USING (job_key)
                   WHERE j.profile = $p AND j.experiment = $e ORDER BY e.job_key, e.eval_index""",
                [ "p", box profile; "e", box experiment ])
            |> List.groupBy (fun row -> Values.string row[0])
            |> List.map (fun (key, rows) ->
                key, rows |> List.map (fun row -> { Step = Values.int row[1]; Seconds = Values.float row[2]; Performances = numbers row[3] }) |> Array.ofList)
            |> Map.ofList
        store.Query(
            """SELECT r.job_key, r.paper_task, r.long_term_memory, r.method, r.label, r.theta, r.networks, r.max_steps,
                      r.eval_every, r.steps, r.train_seconds, r.diverged, r.performances, d.distances, d.performance_differences
               FROM experiment_jobs j JOIN runs r USING (job_key) LEFT JOIN dynamics d USING (job_key)
               WHERE j.profile = $p AND j.experiment = $e ORDER BY j.position""",
            [ "p", box profile; "e", box experiment ])
        |> List.map (fun row ->
            let key = Values.string row[0]
            { Key = key; Task = Values.string row[1]; LongTermMemory = Values.bool row[2]; Method = Values.string row[3]
              Label = Values.string row[4]; Theta = Values.float row[5]; Networks = Values.int row[6]
              MaxSteps = Values.int row[7]; EvaluateEvery = Values.int row[8]; Steps = Values.int row[9]
              TrainSeconds = Values.float row[10]; Diverged = Values.int row[11]; Performances = numbers row[12]
              Curve = curves.TryFind key |> Option.defaultValue [||]
              Distances = numbers row[13]; Differences = numbers row[14] })

/// The statistics behind the verdicts: the paper's criterion on a resample of networks, the first evaluation
/// reaching a threshold, a paired percentile bootstrap over networks, and a binomial (Wilson) interval.
module Evidence =

    /// The performance level that the claims about training steps count to. The paper counts to its 0.99
    /// criterion, which networks reach only after thousands of steps; 0.9 is reached within a laptop's budget,
    /// so one rule decides at every profile. Table 1 and Figure 1C of the report also give steps to 0.99.
    let threshold = 0.9

    /// Bootstrap resamples per interval, drawn from a fixed seed so that a verdict is reproducible.
    let resamples = 1000
    let private seed = 20231210

    /// The paper's criterion (mean of the 10th–90th percentile) of the networks at `indices`.
    let criterion (performances: float[]) (indices: int[]) =
        SkipRnn.Model.Performance.criterion (indices |> Array.map (fun i -> performances[i]))

    /// The first evaluation of a run at which the criterion of the networks at `indices` reaches `level`: its
    /// step and its training seconds. Not reached: +∞ if the run went to its step limit (censored there); if it
    /// stopped earlier (at the 0.99 criterion of all its networks), its last evaluation one interval on, a
    /// lower bound, so that a resample is not counted as if it had failed.
    let firstReaching (level: float) (run: RunEvidence) (indices: int[]) =
        match run.Curve |> Array.tryFind (fun p -> criterion p.Performances indices >= level) with
        | Some p -> float p.Step, p.Seconds
        | None ->
            match Array.tryLast run.Curve with
            | Some last when last.Step < run.MaxSteps ->
                let perStep = last.Seconds / float (max 1 last.Step)
                float (last.Step + run.EvaluateEvery), last.Seconds + perStep * float run.EvaluateEvery
            | _ -> infinity, infinity

    /// a − b where either may be infinite (never reached): two equal infinities count as no difference.
    let difference (a: float) (b: float) =
        if Double.IsInfinity a && a = b then 0.0 else a - b

    /// Point estimate and 95 % percentile interval of `statistic` over `resamples` resamples of the network
    /// indices 0 … networks − 1, drawn with replacement. The same indices go to every run the statistic reads,
    /// which pairs networks across runs: runs of one seed start from the same weights.
    let bootstrap (networks: int) (statistic: int[] -> float) =
        let rng = Random(seed)
        let point = statistic (Array.init networks id) |> fun v -> if Double.IsNaN v then 0.0 else v
        let values =
            Array.init resamples (fun _ -> statistic (Array.init networks (fun _ -> rng.Next networks)))
            |> Array.map (fun v -> if Double.IsNaN v then 0.0 else v)
            |> Array.sort
        point, values[int (0.025 * float resamples)], values[int (0.975 * float resamples) - 1]

    /// Proportion k / n with its 95 % Wilson score interval.
    let wilson (k: int) (n: int) =
        if n = 0 then nan, 0.0, 1.0
        else
            let z = 1.959964
            let p = float k / float n
            let d = 1.0 + z * z / float n
            let centre = (p + z * z / (2.0 * float n)) / d
            let half = z * sqrt (p * (1.0 - p) / float n + z * z / (4.0 * float n * float n)) / d
            p, max 0.0 (centre - half), min 1.0 (centre + half)

    /// The fewest networks of a set of runs (a paired resample draws indices below it); 0 for none.
    let networks (runs: RunEvidence list) =
        match runs with
        | [] -> 0
        | _ -> runs |> List.map (fun r -> r.Networks) |> List.min
