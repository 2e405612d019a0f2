/// `skiprnn train`: one run, resumable, with a live progress line.
module SkipRnn.Cli.TrainCommand

open System
open System.IO
open System.Diagnostics
open System.Threading
open System.Text.Json.Nodes
open Argu
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

/// The run configuration: the defaults, then the --config file, then the options given, each option setting
/// its key of config.json (ConfigSchema), so that both are read and checked by the same code.
let configOf (args: ParseResults<TrainArgs>) : RunConfig =
    let document =
        match args.TryGetResult TrainArgs.Config with
        | None -> JsonObject()
        | Some path ->
            let text =
                try File.ReadAllText path
                with e -> fail "cannot read the configuration %s (%s)" path (e.Message.TrimEnd('.'))
            let o =
                try ConfigJson.parseObject text
                with ConfigError message -> fail "configuration %s: %s" path message
            match ConfigJson.ofObject o with
            | Ok c ->
                // The file's default learning rate (0.1/N, always written) stays a default, so that --units
                // moves it as it does without a file.
                if c.LearningRate.IsNone then o.Remove "learningRate" |> ignore
                o
            | Error message -> fail "configuration %s: %s" path message
    for given in args.GetAllResults() do
        match given with
        | TrainArgs.Config _ | TrainArgs.Workers _ | TrainArgs.Device _ | TrainArgs.Out _ | TrainArgs.Quiet -> ()
        | setting ->
            let _, fields = Microsoft.FSharp.Reflection.FSharpValue.GetUnionFields(setting, typeof<TrainArgs>)
            let value =
                match fields with
                | [| :? int as v |] -> Some(JsonValue.Create v :> JsonNode)
                | [| :? float as v |] -> Some(JsonValue.Create v :> JsonNode)
                | [| :? string as v |] -> Some(JsonValue.Create v :> JsonNode)
                | _ -> None
            ConfigSchema.setOption document (TrainArgs.OptionOf setting) value
    match ConfigJson.ofObject document with
    | Ok c -> c
    | Error message -> fail "%s" message

let private summary (s: TrainingState) =
    let last = if s.Evaluations.Count = 0 then nan else s.Evaluations[s.Evaluations.Count - 1].Criterion
    let outcome = match s.Outcome with Some o -> o.Name | None -> "running"
    sprintf "%s after %d steps: criterion %.4f, %.1f s of training, %.3g FLOP (%.3g per network), %d diverged"
        outcome s.Step last s.TrainSeconds s.Flops (s.Flops / float s.Config.Networks)
        (s.DivergedAt |> Array.filter (fun d -> d >= 0) |> Array.length)

let run (args: ParseResults<TrainArgs>) =
    let config = configOf args
    match args.TryGetResult TrainArgs.Workers with
    | Some w when w < 1 -> fail "the number of workers must be at least 1, got %d" w
    | _ -> ()
    match RunConfig.memoryError config with
    | Some message -> fail "%s" message
    | None -> ()
    let device = device (args.TryGetResult TrainArgs.Device)
    let out =
        match args.TryGetResult TrainArgs.Out with
        | Some o -> o
        | None -> fail "--out is required: the folder that will hold the run"
    let dir =
        match Files.ensureWritableFolder out with
        | Ok d -> d
        | Error message -> fail "%s" message
    // One writer per run folder: a second train into it is refused at once, naming the first.
    use _writer =
        match FolderLock.TryAcquire(dir, sprintf "skiprnn train --task %s --method %s" config.Task config.Method.Name) with
        | Ok held -> held
        | Error message -> fail "%s" message
    let configJson = ConfigJson.toJson config
    let configPath = RunDirectory.configFile dir
    if File.Exists configPath && File.ReadAllText configPath <> configJson then
        fail "%s holds a different run (see its config.json); choose another --out" out
    let quiet = args.Contains Quiet
    if RunDirectory.isFinished dir then
        let record = RunDirectory.readRecord dir
        printfn "%s is already finished: %s after %d steps (criterion %s). Nothing to do."
            out (record["outcome"].GetValue<string>()) (record["steps"].GetValue<int>()) (string record["criterion"])
        0
    else
        let task = (Catalog.tryFind config.Task).Value
        Files.writeAtomically configPath configJson
        let workers = args.TryGetResult TrainArgs.Workers
        let arch = RunConfig.architecture config task
        let resumed = RunDirectory.resume dir config arch (eprintfn "warning: %s")
        match resumed with
        | Some s when not quiet -> eprintfn "resuming %s from step %d" out s.Step
        | _ -> ()
        use trainer = new Trainer(config, task, ?workers = workers, ?state = resumed, device = device)
        if not quiet then eprintfn "training on %s" trainer.Engine.Description
        use cancel = new CancellationTokenSource()
        // Ctrl-C, and SIGTERM from a scheduler, stop at the next step with a checkpoint instead of killing us.
        let stop (context: Runtime.InteropServices.PosixSignalContext) =
            context.Cancel <- true
            cancel.Cancel()
        use _interrupt = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGINT, stop)
        use _terminate = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGTERM, stop)
        let progress = Progress(quiet)
        let wall = Stopwatch.StartNew()
        let startStep = trainer.State.Step
        let mutable lastCheckpoint = Stopwatch.StartNew()
        let label = sprintf "%s %s" config.Task config.Method.Label
        let onEvaluation (e: Evaluation) =
            let perStep = wall.Elapsed.TotalSeconds / float (max 1 (e.Step - startStep))
            let left = float (config.MaxSteps - e.Step) * perStep
            progress.Update(
                sprintf "%s  step %d/%d  criterion %.3f  best %.3f  worst %.3f  diverged %d  θ %g β %.2f  train %s  at most %s left"
                    label e.Step config.MaxSteps e.Criterion (Array.max e.Performances) (Array.min e.Performances)
                    e.Diverged e.Theta e.Beta (duration e.TrainSeconds) (duration left))
            if lastCheckpoint.Elapsed.TotalSeconds > 60.0 then
                RunDirectory.saveCheckpoint dir trainer.State
                lastCheckpoint <- Stopwatch.StartNew()
        let state = trainer.Run(onEvaluation, cancel.Token)
        progress.Finish()
        match state.Outcome with
        | Some Interrupted ->
            RunDirectory.saveCheckpoint dir state
            eprintfn "interrupted at step %d; the same command resumes from there" state.Step
            130
        | _ ->
            RunDirectory.writeFinished dir state
            printfn "%s: %s" label (summary state)
            printfn "written to %s" out
            0
