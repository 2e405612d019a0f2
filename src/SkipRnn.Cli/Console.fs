/// What the command line prints: one-line errors (never a stack trace) and the live progress line.
module SkipRnn.Cli.Output

open System

/// A user error: one line on stderr, exit code 2.
exception UserError of string

let fail fmt = Printf.kprintf (fun s -> raise (UserError s)) fmt

let error (message: string) =
    eprintfn "skiprnn: %s" message
    2

/// A failure of the environment (a full disk, a damaged file, a missing permission), not of the command: one line
/// on stderr, exit code 3.
let environmentError (message: string) =
    eprintfn "skiprnn: %s" message
    3

/// The --device option: cpu (default), cuda or auto. A CUDA GPU asked for is looked for now, so that a missing
/// one is reported (one line, exit code 2) before anything is written.
let device (given: string option) =
    match given with
    | None -> SkipRnn.Engine.Cpu
    | Some name ->
        match SkipRnn.Engine.Device.TryParse name with
        | None -> fail "unknown device '%s' (choose cpu, cuda or auto)" name
        | Some SkipRnn.Engine.Cuda ->
            try SkipRnn.Engine.Gpu.GpuDevice.Cuda() |> ignore
            with SkipRnn.Engine.Gpu.NoGpuFound message -> fail "%s" message
            SkipRnn.Engine.Cuda
        | Some d -> d

let private interactive = not Console.IsErrorRedirected

/// The progress line: rewritten in place on a terminal, one line per update otherwise.
type Progress(quiet: bool) =
    let mutable lastWidth = 0
    let mutable lastPrinted = DateTime.MinValue
    member _.Update(text: string) =
        if not quiet then
            if interactive then
                let padded = text.PadRight lastWidth
                lastWidth <- text.Length
                eprintf "\r%s" padded
            elif DateTime.UtcNow - lastPrinted > TimeSpan.FromSeconds 10.0 then
                lastPrinted <- DateTime.UtcNow
                eprintfn "%s" text
    member _.Finish() =
        if not quiet && interactive && lastWidth > 0 then eprintfn ""

/// A finished run's folder, or one line saying why it is not one.
/// The results folder when none is given: SKIPRNN_RESULTS, as build.fsx reads it, or results/.
let defaultResults () =
    match Environment.GetEnvironmentVariable "SKIPRNN_RESULTS" with
    | null | "" -> "results"
    | folder -> folder

let loadRun (folder: string) =
    try SkipRnn.Analysis.TrainedRun.Load folder
    with
    | :? ArgumentException as e -> fail "%s" (e.Message.Split(" (Parameter")[0])
    | e -> fail "%s: %s" folder e.Message

let duration (seconds: float) =
    if Double.IsNaN seconds || Double.IsInfinity seconds then "?"
    elif seconds < 90.0 then sprintf "%.0fs" seconds
    elif seconds < 5400.0 then sprintf "%.0fm" (seconds / 60.0)
    else sprintf "%.1fh" (seconds / 3600.0)
