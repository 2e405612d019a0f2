/// Appendix E: coarsened discretization beyond θ = τ/dt = 20 diverges; the trainer records it and goes on.
module SkipRnn.Experiments.AppendixE

open SkipRnn.Training
open SkipRnn.Experiments

let define (p: Profile) =
    { Name = "appendixE"
      Title = "Appendix E — CD beyond θ = τ/dt"
      Description = "CD with θ0 held for the whole run, below and beyond the time constant: which networks diverge, and how the others perform."
      Scale =
        sprintf "%d networks per run, %s, θ0 ∈ {%s} held, limit %d training steps; %s"
            p.Networks (Runs.describeTasks p.AppendixETasks) (p.AppendixESkips |> List.map string |> String.concat ", ") p.AppendixEMaxSteps
            (Runs.divergenceRule true)
      Jobs =
        [ for task in p.AppendixETasks do
            // Here the point is to count divergence: networks are frozen when they pass the threshold.
            for theta0 in p.AppendixESkips -> Job.training { Runs.held p task (CD theta0) p.AppendixEMaxSteps with FreezeDiverged = true } ] }
