/// What the command line prints: one-line errors (never a stack trace) and the live progress line.
module SkipRnn.Cli.Output

open System

/// A user error: one line on stderr, exit code 2.
exception UserError of string

let fail fmt = Printf.kprintf (fun s -> raise (UserError s)) fmt

let error (message: string) =
    eprintfn "skiprnn: %s" message
    2

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

let duration (seconds: float) =
    if Double.IsNaN seconds || Double.IsInfinity seconds then "?"
    elif seconds < 90.0 then sprintf "%.0fs" seconds
    elif seconds < 5400.0 then sprintf "%.0fm" (seconds / 60.0)
    else sprintf "%.1fh" (seconds / 3600.0)
