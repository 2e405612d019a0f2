module SkipRnn.Tests.Main

open System
open System.IO
open Expecto

[<EntryPoint>]
let main argv =
    // Plain output when piped (CI logs); the summary line at the end carries the counts .ci/run reports.
    let defaults =
        [ CLIArguments.Summary
          if Console.IsOutputRedirected then
              CLIArguments.Colours 0
              CLIArguments.No_Spinner ]
    // Every test writes under one scratch folder (Path.GetTempPath() follows TMPDIR, and the CLI processes and
    // SLURM jobs the tests start inherit it), removed at the end. The name stays short: the SLURM test puts
    // munge's and slurmd's sockets under it, and a socket path has at most 108 bytes.
    let scratch = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-tests-%d" Environment.ProcessId)
    Directory.CreateDirectory scratch |> ignore
    Environment.SetEnvironmentVariable("TMPDIR", scratch)
    let suite = Impl.testFromThisAssembly () |> Option.defaultValue (TestList([], Normal))
    try Tests.runTestsWithCLIArgs defaults argv (TestGuard.everyTest suite)
    finally
        try Directory.Delete(scratch, true)
        with e -> eprintfn "could not remove the tests' scratch folder %s: %s" scratch e.Message
