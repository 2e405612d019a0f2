/// Table 1: the tasks that need long-term dependencies × Control, CD10, SCTT10, SCTT40, DASC10, DASC40 —
/// training steps, seconds and FLOPs to the 0.99 criterion.
module SkipRnn.Experiments.Table1

open SkipRnn.Training
open SkipRnn.Experiments

/// The six configurations of the paper's Table 1, at a step count and initial ratio β0.
let methods (beta0: float) =
    [ Control; CD 10.0; SCTT(10, beta0); SCTT(40, beta0); DASC(10, beta0); DASC(40, beta0) ]

let define (p: Profile) =
    let run task method stepCount =
        Job.training { Runs.annealed p task method stepCount p.Table1AnnealSteps p.Table1MaxSteps with StopAtCriterion = p.Table1StopAtCriterion }
    let jobs, setting =
        match p.Table1Setting with
        | Some (stepCount, beta0) ->
            [ for task in p.Table1Tasks do
                for m in methods beta0 -> run task m stepCount ],
            sprintf "every method at step count %d, β0 %g, annealed over %d steps" stepCount beta0 p.Table1AnnealSteps
        | None ->
            // Each method at every grid setting; the report shows the best (fewest steps, then least time).
            [ for task in p.Table1Tasks do
                yield run task Control 0
                for s in p.GridStepCounts do
                    yield run task (CD 10.0) s
                    for beta0 in p.GridInitialRatios do
                        for m in methods beta0 do
                            if m.Row.UsesBeta then yield run task m s ]
            |> List.distinctBy (fun j -> j.Key),
            sprintf "each method at its best step count and β0 of the grid (%A × %A)" p.GridStepCounts p.GridInitialRatios
    { Name = "table1"
      Title = "Table 1 — methods on the long-dependency tasks"
      Description = "Control, CD10, SCTT10, SCTT40, DASC10 and DASC40 on tasks that need long-term memory, trained to the 0.99 criterion or for a fixed budget."
      Scale =
        sprintf "%d networks per run, %s, %s, %s; CD with a fresh Adam state at every change of θ (the authors' scripts); %s"
            p.Networks (Runs.describeTasks p.Table1Tasks)
            (if p.Table1StopAtCriterion then sprintf "limit %d training steps" p.Table1MaxSteps
             else sprintf "every run trained for a fixed %d steps (compared by learning curves and steps to 0.9)" p.Table1MaxSteps)
            setting (Runs.divergenceRule false)
      Jobs = jobs }
