module SkipRnn.Tests.Main

open System
open Expecto

[<EntryPoint>]
let main argv =
    // Plain output when piped (CI logs); the summary line at the end carries the counts .ci/run reports.
    let defaults =
        [ CLIArguments.Summary
          if Console.IsOutputRedirected then
              CLIArguments.Colours 0
              CLIArguments.No_Spinner ]
    Tests.runTestsInAssemblyWithCLIArgs defaults argv
