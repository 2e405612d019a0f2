module SkipRnn.Cli.Program

open System
open Argu
open SkipRnn.Tasks
open SkipRnn.Cli.Arguments
open SkipRnn.Cli.Output

let private listTasks () =
    for t in Catalog.all do
        printfn "%-14s paper name %-7s %s" t.Name t.PaperName (if t.LongTermMemory then "long-term memory" else "")
    0

[<EntryPoint>]
let main argv =
    let parser = ArgumentParser.Create<SkipRnnArgs>(programName = "skiprnn")
    try
        match SkipRnn.Numerics.Simd.settingError with
        | Some message -> fail "%s" message
        | None -> ()
        let results = parser.ParseCommandLine(argv, raiseOnUsage = true)
        match results.GetSubCommand() with
        | Train args -> TrainCommand.run args
        | Eval args -> EvalCommand.run args
        | Tasks _ -> listTasks ()
        | Bench args -> BenchCommand.run args
        | Activity args -> ActivityCommand.run args
        | Experiment args -> ExperimentCommand.dispatch args
        | Report args -> ReportCommand.run args
        | Sweep args -> SweepCommand.dispatch args
    with
    | :? ArguParseException as e when e.ErrorCode = ErrorCode.HelpText ->
        printfn "%s" e.Message
        0
    | :? ArguParseException as e ->
        // Argu's message is the error, then the whole usage text: keep the one line that says what is wrong.
        let line = e.Message.Split('\n') |> Array.head
        error (line.Replace("ERROR: ", "").TrimEnd() + " (see skiprnn --help)")
    | UserError message -> error message
    | :? SkipRnn.IO.FileFailure as e -> environmentError e.Message
    | :? IO.IOException | :? UnauthorizedAccessException as e -> environmentError (e.Message.TrimEnd('.'))
    | SkipRnn.Engine.Gpu.NoGpuFound message -> error message
    | e when Environment.GetEnvironmentVariable "SKIPRNN_DEBUG" <> "1" ->
        eprintfn "skiprnn: internal error: %s (set SKIPRNN_DEBUG=1 for details)" e.Message
        1
