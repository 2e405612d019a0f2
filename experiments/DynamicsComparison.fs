/// Paper Fig. 3: the same evaluation trials, with the same noise, through a method's modified dynamics and
/// through the true dynamics (Euler at dt, no skips).
module SkipRnn.Experiments.DynamicsComparison

open System
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Training
open SkipRnn.Results

/// ‖a − b‖² / ‖b‖² over the listed pairs of rows (each row `width` floats); NaN if not finite.
let private normalizedDistance (a: float32[]) (b: float32[]) (pairs: (int * int) list) (width: int) =
    let mutable num = 0.0
    let mutable den = 0.0
    for ia, ib in pairs do
        for i in 0 .. width - 1 do
            let x = float a[ia * width + i]
            let y = float b[ib * width + i]
            num <- num + (x - y) * (x - y)
            den <- den + y * y
    let d = num / den
    if Double.IsFinite d then d else nan

/// Pairs (coarse row, true row), rows [trained step × trial], of the states at the same time after the start of
/// the same period. Where θ does not divide a period the coarse grid rounds it down (a 0.5 s period at θ = 40
/// becomes 0.4 s), so counting from the trial's start would pair states under different inputs.
let coarsePairs (coarse: TrialBatch) (fine: TrialBatch) (theta: int) =
    [ for p in 1 .. coarse.Periods.Length - 1 do
        let cp, fp = coarse.Periods[p], fine.Periods[p]
        for j in 0 .. cp.Length - 1 do
            // The state after coarse step j of the period and after fine step (j + 1)·θ − 1 of it.
            let offset = (j + 1) * theta - 1
            if offset < fp.Length then
                let k = cp.Start + j - coarse.BurnIn
                let f = fp.Start + offset - fine.BurnIn
                for b in 0 .. fine.Trials - 1 -> k * fine.Trials + b, f * fine.Trials + b ]

/// Compares the trained networks of `trainer` (whose config holds θ and β) on fresh trials.
let measure (trainer: Trainer) (task: TaskDefinition) : DynamicsMeasurement =
    let config = trainer.State.Config
    let arch = trainer.Architecture
    let engine = trainer.Engine
    let parameters = trainer.State.Parameters
    let settings timing = { Trials = config.EvaluationTrials; Timing = timing; Jittered = false; Buffers = None }
    // The same seed gives the same trial conditions at any dt (the task generators promise it).
    let trials timing = task.Generate (settings timing) (Rng.Create(config.Seed, Streams.Analysis, 0UL))
    let noise = NoiseKey.Create(config.Seed, Streams.Analysis, 1UL)
    let fine = trials config.Timing
    let finePrepared = PreparedBatch.prepare arch fine
    let truePlan = SkipPlan.Empty fine.Steps
    let integrator = config.Schedule.IntegratorAt 0
    let trialsCount = fine.Trials
    // Pairs of (modified row, true row) over [trained step × trial], and what they mean.
    let modified, modifiedPlan, pairs, alignment =
        match integrator with
        | CoarseEuler theta ->
            let coarse = trials (config.Timing.Coarsened theta)
            PreparedBatch.prepare arch coarse, SkipPlan.Empty coarse.Steps, coarsePairs coarse fine (int (Math.Round theta)),
            "For CD the modified trajectory lives on a grid θ times coarser: the same trials were generated at θ·dt, and the state after coarse step j of a period is compared with the true state after fine step (j+1)·θ − 1 of the same period, the same time under the same inputs (where θ does not divide a period the coarse grid rounds it down, and the true states past its end go unpaired); its noise is drawn on the coarse grid."
        | Euler ->
            finePrepared, truePlan, [ for r in 0 .. fine.TrainedSteps * trialsCount - 1 -> r, r ], "Control: modified and true dynamics coincide."
        | WithSkips _ ->
            finePrepared, Integrator.plan integrator fine, [ for r in 0 .. fine.TrainedSteps * trialsCount - 1 -> r, r ], ""
    let everyNetwork = Array.init parameters.Networks id
    let performanceTrue = engine.Evaluate(parameters, everyNetwork, finePrepared, truePlan, noise)
    let performanceModified = engine.Evaluate(parameters, everyNetwork, modified, modifiedPlan, noise)
    let distances =
        Array.init parameters.Networks (fun m ->
            let rTrue, _ = engine.Trajectory(parameters, m, finePrepared, truePlan, noise)
            let rMod, _ = engine.Trajectory(parameters, m, modified, modifiedPlan, noise)
            normalizedDistance rMod rTrue pairs arch.Units)
    { Distances = distances
      PerformanceModified = performanceModified
      PerformanceTrue = performanceTrue
      Alignment = alignment
      EvaluationTrials = config.EvaluationTrials
      Steps = trainer.State.Step
      TrainSeconds = trainer.State.TrainSeconds
      Flops = trainer.State.Flops
      DivergedAt = Array.copy trainer.State.DivergedAt }
