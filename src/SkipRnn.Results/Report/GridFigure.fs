namespace SkipRnn.Results.Report

open System
open Plotly.NET
open Plotly.NET.LayoutObjects
open SkipRnn.Results

/// The hyperparameter grid: steps to criterion by skip length × initial ratio, per method and step count.
module GridFigure =

    let build (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "grid" |> List.filter (fun r -> r.Method = "sctt" || r.Method = "dasc")
        let maxSteps = runs |> List.map (fun r -> r.MaxSteps) |> List.fold max 1
        let thetas = runs |> List.map (fun r -> r.Theta) |> List.distinct |> List.sort
        let betas = runs |> List.map (fun r -> r.Beta0) |> List.distinct |> List.sort
        let panels =
            runs
            |> List.groupBy (fun r -> r.Method, r.StepCount, r.PaperTask)
            |> List.sortBy (fun ((m, s, t), _) -> t, m, s)
            |> List.map (fun ((m, s, t), rs) ->
                let cell theta beta = rs |> List.tryFind (fun r -> r.Theta = theta && r.Beta0 = beta)
                let z = [ for b in betas -> [ for th in thetas -> match cell th b with Some r -> float r.Steps | None -> nan ] ]
                let labels =
                    [ for b in betas do
                        for th in thetas do
                            match cell th b with
                            | Some r ->
                                let text = if r.Succeeded then string r.Steps else sprintf "failed<br>%.2f" r.Criterion
                                yield Annotation.init (X = sprintf "θ %g" th, Y = sprintf "β0 %g" b, Text = text, ShowArrow = false,
                                                       Font = Font.init (Color = Color.fromHex "#000000", Size = 12))
                            | None -> () ]
                Chart.Heatmap(zData = z, X = (thetas |> List.map (sprintf "θ %g")), Y = (betas |> List.map (sprintf "β0 %g")),
                              ColorScale = StyleParam.Colorscale.Viridis, ReverseScale = true, ShowScale = false)
                // one colour scale for every panel: 0 to the step limit
                |> GenericChart.mapTrace (fun t -> t.SetProperty("zmin", box 0.0); t.SetProperty("zmax", box (float maxSteps)); t)
                |> Chart.withAnnotations labels
                |> Chart.withTitle (sprintf "%s on %s, step count %d" (Values.methodLabel m) t s)
                |> Chart.withXAxisStyle ("skip length")
                |> Chart.withYAxisStyle ("initial ratio")
                |> Values.styled 360 320)
        { Id = "grid"
          Title = "Hyperparameter grid — SCTT and DASC"
          Caption =
            sprintf "Training steps to the 0.99 criterion for every combination of skip length θ (x), initial mixing ratio β0 (y) and step count (panels), as in the paper's supplementary analysis. Darker is fewer steps; \"failed\" cells reached the step limit (%d) first and give the criterion reached. β rises from β0 to 1 in step count + 1 stages over the annealing span; after it the base model trains on." maxSteps
          Scale = Scale.describe store profile "grid"
          Charts = panels
          Html = ""
          Points = runs.Length }
