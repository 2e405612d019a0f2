/// Appendix E: coarsened discretization beyond θ = τ/dt = 20 diverges; the trainer records it and goes on.
module SkipRnn.Experiments.AppendixE

open SkipRnn.Training
open SkipRnn.Experiments

let define (p: Profile) =
    { Name = "appendixE"
      Title = "Appendix E — CD beyond θ = τ/dt"
      Description = "CD with θ0 held for the whole run, below and beyond the time constant: which networks diverge, and how the others perform."
      Scale =
        sprintf "%d networks per run, %s, θ0 ∈ {%s} held, limit %d training steps"
            p.Networks (Runs.describeTasks p.AppendixETasks) (p.AppendixESkips |> List.map string |> String.concat ", ") p.AppendixEMaxSteps
      Jobs =
        [ for task in p.AppendixETasks do
            for theta0 in p.AppendixESkips -> Job.training (Runs.held p task (CD theta0) p.AppendixEMaxSteps) ] }
