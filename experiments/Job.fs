namespace SkipRnn.Experiments

open System
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Results

/// One independently runnable unit of an experiment: a run configuration and what to do with it. Its key is
/// stable (the same config always gives the same key) and unique (any change to the config changes it), so
/// a job's folder and its row in the store can be found again from the definition alone.
type Job =
    { Key: string
      Kind: JobKind
      Config: RunConfig }

module Job =

    let private create kind (config: RunConfig) =
        match RunConfig.validate config with
        | Error e -> invalidArg "config" (sprintf "%s: %s" config.Slug e)
        | Ok config -> { Key = JobFolder.key kind config; Kind = kind; Config = config }

    /// Train to the criterion or the step limit.
    let training (config: RunConfig) = create Training config

    /// Train with θ and β held for config.MaxSteps steps, then compare modified and true dynamics (Fig. 3).
    let dynamicsComparison (config: RunConfig) = create DynamicsComparison { config with Hold = true; AnnealSteps = config.MaxSteps }

    /// A rough cost in units of (network × training step × time step), for time estimates.
    let cost (job: Job) =
        let c = job.Config
        let task = (SkipRnn.Tasks.Catalog.tryFind c.Task).Value
        let trial = (task.Generate { Trials = 1; Timing = c.Timing; Jittered = false; Buffers = None } (SkipRnn.Numerics.Rng.Create(0UL))).Steps
        let evaluation =
            match job.Kind with
            | Training -> float c.EvaluationTrials / float (c.Trials * c.EvaluateEvery) / 3.0
            | DynamicsComparison -> 0.0
        float c.Networks * float c.MaxSteps * float trial * (1.0 + evaluation)

/// An experiment: a name to run it by, what it shows, and its jobs.
type Experiment =
    { Name: string
      Title: string
      Description: string
      /// The scale in words (networks, tasks, step limits), printed on every figure made from it.
      Scale: string
      Jobs: Job list }

/// The run configurations experiments are built from.
module Runs =

    /// SPEC's defaults with the profile's networks, seed and evaluation settings.
    let baseConfig (p: Profile) (task: string) =
        { RunConfig.Default with
            Task = task; Networks = p.Networks; Seed = p.Seed
            EvaluationTrials = p.EvaluationTrials; EvaluateEvery = p.EvaluateEvery }

    /// Control training: no annealing, so step count and annealing span are zero (which lets experiments share
    /// their control runs).
    let control (p: Profile) (task: string) (maxSteps: int) =
        { baseConfig p task with Method = Control; StepCount = 0; AnnealSteps = 0; MaxSteps = maxSteps }

    /// Training with a method annealed in `stepCount` steps over `annealSteps` training steps.
    let annealed (p: Profile) (task: string) (method: Method) (stepCount: int) (annealSteps: int) (maxSteps: int) =
        match method with
        | Control -> control p task maxSteps
        | _ -> { baseConfig p task with Method = method; StepCount = stepCount; AnnealSteps = annealSteps; MaxSteps = maxSteps }

    /// θ0 or β0 held constant for the whole run.
    let held (p: Profile) (task: string) (method: Method) (steps: int) =
        { baseConfig p task with Method = method; StepCount = 0; AnnealSteps = steps; MaxSteps = steps; Hold = true }

    /// What happens to a network whose activity grows without bound, for the scale line of a figure.
    let divergenceRule (freeze: bool) =
        if freeze then "a network whose activity passes |r| = 10⁶ or whose loss stops being finite is frozen and counted as diverged"
        else "no network is frozen, whatever its activity (the authors' rule; a non-finite update leaves NaN parameters)"

    let describeTasks (tasks: string list) =
        if tasks.Length = SkipRnn.Tasks.Catalog.standard.Length then "all 16 tasks"
        elif tasks.Length > 4 then sprintf "%d tasks" tasks.Length
        else sprintf "task%s %s" (if tasks.Length = 1 then "" else "s") (String.concat ", " tasks)
