/// Figure 1 (B, C): control training on every standard task — learning curves and steps to criterion.
/// Copy this file to script your own: an experiment is just a list of jobs built from run configurations.
module SkipRnn.Experiments.Figure1

open SkipRnn.Experiments

let define (p: Profile) =
    { Name = "figure1"
      Title = "Figure 1 — control networks on the standard tasks"
      Description = "Control training (Euler, dt = 5 ms) on each task until the 0.99 criterion or the step limit: learning curves (1B) and steps to criterion (1C)."
      Scale =
        sprintf "%d networks per run, %s, control, limit %d training steps, %d evaluation trials every %d steps; %s"
            p.Networks (Runs.describeTasks p.Figure1Tasks) p.Figure1MaxSteps p.EvaluationTrials p.EvaluateEvery
            (Runs.divergenceRule false)
      Jobs = [ for task in p.Figure1Tasks -> Job.training (Runs.control p task p.Figure1MaxSteps) ] }
