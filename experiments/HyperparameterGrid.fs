/// The hyperparameter grid of paper §4: step count × skip length × initial ratio for SCTT and DASC, and CD10
/// at each step count.
module SkipRnn.Experiments.HyperparameterGrid

open SkipRnn.Training
open SkipRnn.Experiments

let define (p: Profile) =
    let run task method stepCount = Job.training (Runs.annealed p task method stepCount p.GridAnnealSteps p.GridMaxSteps)
    let list (xs: 'a list) = xs |> List.map string |> String.concat ", "
    { Name = "grid"
      Title = "Hyperparameter grid — SCTT and DASC"
      Description = "Every combination of step count, skip length θ and initial ratio β0 for SCTT and DASC (CD10 at each step count)."
      Scale =
        if p.GridTasks.IsEmpty then "not run at this profile: the grid is coverage, not evidence for a claim (the paper profile runs it)"
        else
            sprintf "%d networks per run, %s, step count ∈ {%s}, θ ∈ {%s}, β0 ∈ {%s}, limit %d training steps, annealing over %d; CD with a fresh Adam state at every change of θ (the authors' scripts); %s"
                p.Networks (Runs.describeTasks p.GridTasks) (list p.GridStepCounts) (list p.GridSkipLengths)
                (list p.GridInitialRatios) p.GridMaxSteps p.GridAnnealSteps (Runs.divergenceRule false)
      Jobs =
        [ for task in p.GridTasks do
            for s in p.GridStepCounts do
                yield run task (CD 10.0) s
                for theta in p.GridSkipLengths do
                    for beta0 in p.GridInitialRatios do
                        yield run task (SCTT(theta, beta0)) s
                        yield run task (DASC(theta, beta0)) s ] }
