namespace SkipRnn.Results.Report

open Plotly.NET
open SkipRnn.Results

/// Appendix E: coarsened discretization beyond θ = τ/dt diverges (recorded, not crashed on).
module AppendixE =

    let build (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "appendixE"
        let byTheta =
            runs |> List.groupBy (fun r -> r.Theta) |> List.sortBy fst
            |> List.map (fun (theta, rs) ->
                let networks = rs |> List.sumBy (fun r -> r.Networks)
                theta,
                float (rs |> List.sumBy (fun r -> r.Diverged)) / float (max 1 networks),
                rs |> List.averageBy (fun r -> if System.Double.IsFinite r.Criterion then r.Criterion else 0.0))
        let x = byTheta |> List.map (fun (t, _, _) -> sprintf "θ0 = %g" t)
        let diverged =
            Chart.Column(keysValues = List.zip x (byTheta |> List.map (fun (_, d, _) -> d)), Name = "fraction of networks diverged",
                         MarkerColor = Color.fromHex "#d62728")
            |> Chart.withYAxisStyle ("fraction diverged", MinMax = (0.0, 1.05))
            |> Chart.withXAxisStyle ("CD with θ held (τ/dt = 20)")
            |> Values.styled 520 380
        let performance =
            Chart.Column(keysValues = List.zip x (byTheta |> List.map (fun (_, _, p) -> p)), Name = "performance (true dynamics)",
                         MarkerColor = Color.fromHex "#555555")
            |> Chart.withYAxisStyle ("final performance, 10th–90th percentile mean", MinMax = (0.0, 1.05))
            |> Chart.withXAxisStyle ("CD with θ held (τ/dt = 20)")
            |> Values.styled 520 380
        let tasks = runs |> List.map (fun r -> r.PaperTask) |> List.distinct |> String.concat ", "
        { Id = "appendix-e"
          Title = "Appendix E — coarsened discretization beyond θ = τ/dt"
          Caption =
            sprintf "Control networks trained with coarsened discretization, θ held at θ0 for the whole run (tasks: %s). Left: the share of networks whose activity exceeded the divergence threshold (or whose loss stopped being finite); the trainer froze them and carried on. Right: the final performance of all networks on the true dynamics. Euler steps longer than the 100 ms time constant (θ > 20) overshoot, so training there diverges, as the paper's Appendix E explains." tasks
          Scale = Scale.describe store profile "appendixE"
          Charts = [ diverged; performance ]
          Html = ""
          Points = runs.Length }
