namespace SkipRnn.Results.Report

open System
open Plotly.NET
open Plotly.NET.LayoutObjects
open SkipRnn.Results
open SkipRnn.Training

/// The hyperparameter grid: steps to criterion by skip length × initial ratio, per method and step count.
module GridFigure =

    let build (store: ResultStore) (profile: string) =
        let runs = StoredRun.ofExperiment store profile "grid" |> List.filter (fun r -> Method.tryFindRow r.Method |> Option.exists (fun m -> m.UsesBeta))
        let maxSteps = runs |> List.map (fun r -> r.MaxSteps) |> List.fold max 1
        let thetas = runs |> List.map (fun r -> r.Theta) |> List.distinct |> List.sort
        let betas = runs |> List.map (fun r -> r.Beta0) |> List.distinct |> List.sort
        // Steps to criterion when most runs got there; otherwise (small profiles) the criterion they reached.
        let bySteps = (runs |> List.filter (fun r -> r.Succeeded) |> List.length) * 2 >= runs.Length
        let value (r: StoredRun) = if bySteps then (if r.Succeeded then float r.Steps else float maxSteps) else r.Criterion
        let zMin, zMax =
            if bySteps then 0.0, float maxSteps
            else
                let cs = runs |> List.map (fun r -> r.Criterion) |> List.filter Double.IsFinite
                (if cs.IsEmpty then 0.0 else List.min cs), 1.0
        let panels =
            runs
            |> List.groupBy (fun r -> r.Method, r.StepCount, r.PaperTask)
            |> List.sortBy (fun ((m, s, t), _) -> t, m, s)
            |> List.map (fun ((m, s, t), rs) ->
                let cell theta beta = rs |> List.tryFind (fun r -> r.Theta = theta && r.Beta0 = beta)
                let z = [ for b in betas -> [ for th in thetas -> match cell th b with Some r -> value r | None -> nan ] ]
                let labels =
                    [ for b in betas do
                        for th in thetas do
                            match cell th b with
                            | Some r ->
                                let text = if r.Succeeded then sprintf "%d steps" r.Steps else sprintf "failed, %.3f" r.Criterion
                                yield Annotation.init (X = sprintf "θ %g" th, Y = sprintf "β0 %g" b, Text = text, ShowArrow = false,
                                                       BGColor = Color.fromHex "#ffffff", Font = Font.init (Color = Color.fromHex "#000000", Size = 12))
                            | None -> () ]
                Chart.Heatmap(zData = z, X = (thetas |> List.map (sprintf "θ %g")), Y = (betas |> List.map (sprintf "β0 %g")),
                              ColorScale = StyleParam.Colorscale.Viridis, ReverseScale = bySteps, ShowScale = false)
                // one colour scale for every panel
                |> GenericChart.mapTrace (fun t -> t.SetProperty("zmin", box zMin); t.SetProperty("zmax", box zMax); t)
                |> Chart.withAnnotations labels
                |> Chart.withTitle (sprintf "%s on %s, step count %d" (Values.methodLabel m) t s)
                |> Chart.withXAxisStyle ("skip length")
                |> Chart.withYAxisStyle ("initial ratio")
                |> Values.styled 360 320)
        let colour =
            if bySteps then sprintf "Colour: training steps to the 0.99 criterion, yellow = fewest, dark = the step limit (%d) reached without success." maxSteps
            else sprintf "Colour: the criterion reached (yellow = highest, %.2f–1 across the panels), because most runs stopped at the step limit (%d) before 0.99 at this profile." zMin maxSteps
        { Id = "grid"
          Title = "Hyperparameter grid — SCTT and DASC"
          Caption =
            sprintf "Every combination of skip length θ (x), initial mixing ratio β0 (y) and step count (panels), as in the paper's supplementary analysis. %s Each cell says how its run ended. β rises from β0 to 1 in step count + 1 stages over the annealing span; after it the base model trains on." colour
          Scale = Scale.describe store profile "grid"
          Charts = panels
          Html = ""
          Points = runs.Length }
