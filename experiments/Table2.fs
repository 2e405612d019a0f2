/// Table 2: rule reversal over 5 consecutive trials (paper §4.1) — Control, CD10, SCTT40 and DASC40, each
/// without and with strategic skip connections from the start of every trial to its end; the share of
/// networks trained above 0.99 after a fixed budget.
module SkipRnn.Experiments.Table2

open SkipRnn.Training
open SkipRnn.Experiments

/// The four methods at the settings of the authors' code (SCTT40: step count 10, β0 0.8; DASC40: step count 1,
/// β0 0.5; CD10 and control: step count 5), and the initial ratio β'0 of their strategic skips (β0 where the
/// method has one, else 0.5), annealed in the same stages.
let configurations =
    [ Control, 5, 0.5
      CD 10.0, 5, 0.5
      SCTT(40, 0.8), 10, 0.8
      DASC(40, 0.5), 1, 0.5 ]

let define (p: Profile) =
    let run (method: Method) (stepCount: int) (strategic: float option) =
        { RunConfig.Default with
            Task = "rulereversal"; Method = method; StepCount = stepCount; Networks = p.Table2Networks; Seed = p.Seed
            Trials = 40; EvaluationTrials = p.Table2EvaluationTrials; EvaluateEvery = p.Table2EvaluateEvery
            MaxSteps = p.Table2Steps; AnnealSteps = p.Table2AnnealSteps; StrategicRatio = strategic; StopAtCriterion = false }
        |> Job.training
    { Name = "table2"
      Title = "Table 2 — rule reversal with and without strategic skip connections"
      Description = "Networks trained on 5 consecutive trials of the uncued rule-reversal task; the share trained above 0.99."
      Scale =
        sprintf "%d networks per configuration, %d training steps (θ, β and β' annealed over the first %d), 40 sequences of 5 trials per batch, evaluated on %d sequences"
            p.Table2Networks p.Table2Steps p.Table2AnnealSteps p.Table2EvaluationTrials
      Jobs =
        [ for method, stepCount, strategicRatio in configurations do
            yield run method stepCount None
            yield run method stepCount (Some strategicRatio) ] }
