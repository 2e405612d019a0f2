namespace SkipRnn.Results.Report

open Plotly.NET
open SkipRnn.Results

/// Appendix E: coarsened discretization beyond θ = τ/dt diverges (recorded, not crashed on).
module AppendixE =

    let build (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "appendixE"
        let tasks = runs |> List.map (fun r -> r.PaperTask) |> List.distinct
        let label (r: StoredRun) = sprintf "θ0 = %g" r.Theta
        let perTask (value: StoredRun -> float) =
            [ for t in tasks ->
                let rs = runs |> List.filter (fun r -> r.PaperTask = t) |> List.sortBy (fun r -> r.Theta)
                Chart.Column(keysValues = (rs |> List.map (fun r -> label r, value r)), Name = t) ]
        let diverged =
            Values.combine (perTask (fun r -> float r.Diverged / float (max 1 r.Networks)))
            |> Chart.withYAxisStyle ("fraction of networks diverged", MinMax = (0.0, 1.05))
            |> Chart.withXAxisStyle ("CD with θ held (τ/dt = 20)")
            |> Values.styled 540 380
        let performance =
            Values.combine (perTask (fun r -> if System.Double.IsFinite r.Criterion then r.Criterion else 0.0))
            |> Chart.withYAxisStyle ("final performance, 10th–90th percentile mean", MinMax = (0.0, 1.05))
            |> Chart.withXAxisStyle ("CD with θ held (τ/dt = 20)")
            |> Values.styled 540 380
        { Id = "appendix-e"
          Title = "Appendix E — coarsened discretization beyond θ = τ/dt"
          Caption =
            sprintf "Control networks trained with coarsened discretization, θ held at θ0 for the whole run, one bar per task (%s). Left: the share of networks whose activity passed the divergence threshold (|r| > 10⁶) or whose loss stopped being finite; the trainer froze them and carried on. Right: the final performance of all networks on the true dynamics. An Euler step longer than the time constant (θ > 20; the 50 ms auxiliary units already at θ > 10) overshoots: the paper's Appendix E finds that activity then grows with every coarse step until it passes any threshold and performance drops. Whether it does here is read from the bars (and claim C6 at the top of the report); on short trials the growth may stay under the threshold while the dynamics are already far from the true ones (Figure 3B)." (String.concat ", " tasks)
          Scale = Scale.describe store profile "appendixE"
          Charts = [ diverged; performance ]
          Html = ""
          Points = runs.Length }
