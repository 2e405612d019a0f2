/// `skiprnn activity`: trials run through a trained network, exported for analysis in any language.
module SkipRnn.Cli.ActivityCommand

open System.IO
open Argu
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Analysis
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

let run (args: ParseResults<ActivityArgs>) =
    let out = args.GetResult ActivityArgs.Out
    if Directory.Exists out then
        fail "--out %s is a folder: give the file to write, such as %s" out (Path.Combine(out, "activity.npz"))
    let run = loadRun (args.GetResult ActivityArgs.Weights)
    let config = run.Config
    let parameters = run.Parameters
    let trainedOn = (Catalog.tryFind config.Task).Value
    let task =
        match args.TryGetResult ActivityArgs.Task with
        | None -> trainedOn
        | Some name ->
            match Catalog.tryFind name with
            | None -> fail "unknown task '%s' (known tasks: %s)" name (Catalog.names ())
            | Some t when t.InputSize <> trainedOn.InputSize || t.OutputSize <> trainedOn.OutputSize ->
                fail "task %s has %d inputs and %d outputs, the network %d and %d" t.Name t.InputSize t.OutputSize trainedOn.InputSize trainedOn.OutputSize
            | Some t -> t
    let trials = args.TryGetResult ActivityArgs.Trials |> Option.defaultValue 20
    if trials < 1 then fail "the number of trials must be at least 1"
    let network = args.TryGetResult ActivityArgs.Network |> Option.defaultValue 0
    if network < 0 || network >= parameters.Networks then fail "network %d does not exist (the run has %d networks)" network parameters.Networks
    let seed = args.TryGetResult ActivityArgs.Seed |> Option.defaultValue 1
    if seed < 0 then fail "the seed must not be negative"
    let theta = args.TryGetResult ActivityArgs.Skip |> Option.defaultValue 10.0
    let beta = args.TryGetResult ActivityArgs.Beta |> Option.defaultValue 0.5
    if theta < 1.0 then fail "the skip length θ must be at least 1, got %g" theta
    if not (beta > 0.0 && beta <= 1.0) then fail "β must lie in (0, 1], got %g" beta
    let integrator =
        match Method.tryCreate (args.TryGetResult ActivityArgs.Method |> Option.defaultValue "control") theta beta with
        | Ok m -> Method.integrator m theta beta
        | Error message -> fail "%s" message
    let strategic = args.TryGetResult ActivityArgs.Strategic_Ratio
    let folder = Path.GetDirectoryName(Path.GetFullPath out)
    match Files.ensureWritableFolder folder with
    | Error message -> fail "%s" message
    | Ok _ -> ()
    let activity = ActivityExport.record { config with Task = task.Name } parameters network trials (uint64 seed) integrator strategic
    ActivityExport.write out activity
    printfn "%d trials of %s through network %d (%s dynamics, performance %.3f) written to %s" trials task.Name network activity.Dynamics activity.Recording.Performance out
    printfn "in Python: d = numpy.load(\"%s\"); d[\"states\"] is trials × steps+1 × units" out
    0
