/// Figure 3 (B, C): how far each method's modified dynamics are from the true dynamics, against θ.
module SkipRnn.Experiments.Figure3

open SkipRnn.Training
open SkipRnn.Experiments

/// The paper's mixing ratio for this figure.
let beta = 0.5

let define (p: Profile) =
    { Name = "figure3"
      Title = "Figure 3 — modified versus true dynamics"
      Description = "For each θ, networks trained with CD (θ held), SCTT and DASC (θ and β = 0.5 held); then the same trials through the modified and the true dynamics."
      Scale =
        sprintf "%d networks per run, %s, θ ∈ {%s}, %d training steps with θ and β held, %d comparison trials; %s"
            p.Networks (Runs.describeTasks p.Figure3Tasks) (p.Figure3Skips |> List.map string |> String.concat ", ")
            p.Figure3TrainingSteps p.EvaluationTrials (Runs.divergenceRule false)
      Jobs =
        [ for task in p.Figure3Tasks do
            for theta in p.Figure3Skips do
                for m in [ CD(float theta); SCTT(theta, beta); DASC(theta, beta) ] ->
                    Job.dynamicsComparison (Runs.held p task m p.Figure3TrainingSteps) ] }
