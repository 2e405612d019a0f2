namespace SkipRnn.Results.Report

open SkipRnn.Results

/// One stored run of an experiment, with the columns the report uses.
type StoredRun =
    { Key: string; Task: string; PaperTask: string; LongTermMemory: bool; Method: string; Label: string
      Theta: float; Beta0: float; StepCount: int; Networks: int; MaxSteps: int; AnnealSteps: int
      Outcome: string; Steps: int; TrainSeconds: float; Flops: float; Criterion: float; MeanPerformance: float
      Diverged: int }

    member r.Succeeded = r.Outcome = "succeeded"

module StoredRun =

    let private columns =
        "r.job_key, r.task, r.paper_task, r.long_term_memory, r.method, r.label, r.theta, r.beta0, r.step_count, r.networks, "
        + "r.max_steps, r.anneal_steps, r.outcome, r.steps, r.train_seconds, r.flops, r.criterion, r.mean_performance, r.diverged"

    let private ofRow (row: obj[]) =
        { Key = Values.string row[0]; Task = Values.string row[1]; PaperTask = Values.string row[2]
          LongTermMemory = Values.bool row[3]; Method = Values.string row[4]; Label = Values.string row[5]
          Theta = Values.float row[6]; Beta0 = Values.float row[7]; StepCount = Values.int row[8]
          Networks = Values.int row[9]; MaxSteps = Values.int row[10]; AnnealSteps = Values.int row[11]
          Outcome = Values.string row[12]; Steps = Values.int row[13]; TrainSeconds = Values.float row[14]
          Flops = Values.float row[15]; Criterion = Values.float row[16]; MeanPerformance = Values.float row[17]
          Diverged = Values.int row[18] }

    /// The stored runs of an experiment at a profile, in the experiment's order.
    let ofExperiment (store: ResultStore) (profile: string) (experiment: string) =
        store.Query(
            sprintf "SELECT %s FROM experiment_jobs j JOIN runs r USING (job_key) WHERE j.profile = $p AND j.experiment = $e ORDER BY j.position" columns,
            [ "p", box profile; "e", box experiment ])
        |> List.map ofRow

    /// The learning curve (step, criterion) of a run.
    let curve (store: ResultStore) (key: string) =
        store.Query("SELECT step, criterion FROM evaluations WHERE job_key = $k ORDER BY eval_index", [ "k", box key ])
        |> List.map (fun row -> Values.int row[0], Values.float row[1])
