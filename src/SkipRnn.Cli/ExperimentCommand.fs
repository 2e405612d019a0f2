/// `skiprnn experiment list|run`: the paper's experiments, run into the results store.
module SkipRnn.Cli.ExperimentCommand

open System
open System.Threading
open Argu
open SkipRnn.Results
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline
open SkipRnn.Cli.ExperimentArguments
open SkipRnn.Cli.Output

let profileOf (name: string option) =
    let name = defaultArg name "quick"
    match Profiles.tryFind name with
    | Some p -> p
    | None -> fail "unknown profile '%s' (choose %s)" name (Profiles.names ())

let experimentOf (name: string) =
    match ExperimentCatalog.tryFind name with
    | Some define -> define
    | None -> fail "unknown experiment '%s' (known experiments: %s, or all)" name (ExperimentCatalog.names ())

let openStore (layout: ResultsLayout) =
    match ResultStore.Open layout.Store with
    | Ok s -> s
    | Error e -> fail "%s" e

let private list (args: ParseResults<ExperimentListArgs>) =
    let profile = profileOf (args.TryGetResult ExperimentListArgs.Profile)
    printfn "profile %s: %s" profile.Name profile.Description
    for name, define in ExperimentCatalog.all do
        let e = define profile
        printfn "%-10s %4d runs  %s\n           %s" name (e.Jobs |> List.distinctBy (fun j -> j.Key) |> List.length) e.Title e.Scale
    0

let private run (args: ParseResults<ExperimentRunArgs>) =
    let profile = profileOf (args.TryGetResult ExperimentRunArgs.Profile)
    let names =
        match args.GetResult Names with
        | [ "all" ] -> ExperimentCatalog.all |> List.map fst
        | names -> names
    let experiments = names |> List.map (fun n -> n, (experimentOf n) profile)
    let pipeline =
        match args.TryGetResult Pipeline with
        | None -> names
        | Some text -> text.Split(',', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) |> List.ofArray
    for n in pipeline do experimentOf n |> ignore
    let workers = args.TryGetResult ExperimentRunArgs.Workers
    if workers |> Option.exists (fun w -> w < 1) then fail "the number of workers must be at least 1"
    let layout = { Root = defaultArg (args.TryGetResult ExperimentRunArgs.Results) (defaultResults ()) }
    use store = openStore layout
    use cancel = new CancellationTokenSource()
    // Ctrl-C and SIGTERM stop at the next training step; the running job keeps its checkpoint.
    let stop (context: Runtime.InteropServices.PosixSignalContext) =
        context.Cancel <- true
        cancel.Cancel()
    use _interrupt = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGINT, stop)
    use _terminate = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGTERM, stop)
    let mutable notDone = 0
    let rec loop (remaining: (string * Experiment) list) =
        match remaining with
        | [] when notDone > 0 ->
            eprintfn "%d run%s not done (see the lines above); the same command does them" notDone (if notDone = 1 then "" else "s")
            1
        | [] -> 0
        | (name, experiment) :: rest ->
            let position = pipeline |> List.tryFindIndex (fun n -> String.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            let stage = (defaultArg position 0) + 1
            // Time left counts the missing runs of the pipeline's later stages too.
            let stored = store.Keys()
            let later =
                match position with
                | Some i ->
                    pipeline |> List.skip (i + 1)
                    |> List.collect (fun n -> ((experimentOf n) profile).Jobs)
                    |> List.distinctBy (fun j -> j.Key)
                    |> List.filter (fun j -> not (stored.Contains j.Key) && not (experiment.Jobs |> List.exists (fun k -> k.Key = j.Key)))
                    |> List.sumBy Job.cost
                | None -> 0.0
            let tracker = PipelineProgress.Tracker(stage, max stage pipeline.Length, later)
            let completed =
                PipelineProgress.run tracker (fun notify -> Pipeline.run store layout profile.Name experiment workers notify cancel.Token)
            notDone <- notDone + tracker.NotDone
            if completed then
                printfn "%s: done at profile %s (%s)" name profile.Name (Output.duration tracker.Elapsed)
                loop rest
            else
                eprintfn "interrupted; the same command resumes where it stopped"
                130
    loop experiments

let dispatch (args: ParseResults<ExperimentArgs>) =
    match args.GetSubCommand() with
    | List a -> list a
    | Run a -> run a
