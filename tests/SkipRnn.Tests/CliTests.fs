/// The command line as a user meets it: bad input gets one clear line on stderr and exit code 2.
module SkipRnn.Tests.CliTests

open System
open System.IO
open System.Diagnostics
open Expecto

/// Runs the skiprnn program (built next to the tests) with these environment variables set, and returns exit code,
/// stdout and stderr.
let runWith (environment: (string * string) list) (args: string list) =
    let dll = Path.Combine(AppContext.BaseDirectory, "SkipRnn.Cli.dll")
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    info.ArgumentList.Add dll
    for a in args do info.ArgumentList.Add a
    for name, value in environment do info.Environment[name] <- value
    use p = Process.Start info
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Result, err

/// Runs the skiprnn program and returns exit code, stdout and stderr.
let run (args: string list) = runWith [] args

let private rejects (args: string list) (expected: string) =
    let code, _, err = run args
    Expect.equal code 2 (sprintf "exit code of %A (stderr: %s)" args err)
    let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Expect.equal lines.Length 1 (sprintf "one line on stderr, got: %s" err)
    Expect.stringStarts lines[0] "skiprnn: " "prefixed"
    Expect.stringContains lines[0] expected "says what is wrong"
    Expect.isFalse (err.Contains "   at ") "no stack trace"

[<Tests>]
let cliTests =
    let out = Path.Combine(Path.GetTempPath(), "skiprnn-cli-test-" + string (Guid.NewGuid()))
    testList "command line" [
        testCase "unknown task" <| fun () -> rejects [ "train"; "--task"; "flying"; "--out"; out ] "unknown task 'flying'"
        testCase "unknown method" <| fun () -> rejects [ "train"; "--task"; "go"; "--method"; "lstm"; "--out"; out ] "unknown method 'lstm'"
        testCase "θ < 1" <| fun () -> rejects [ "train"; "--task"; "go"; "--method"; "sctt"; "--skip"; "0"; "--out"; out ] "skip length θ must be a number of steps from 1"
        testCase "β above 1" <| fun () -> rejects [ "train"; "--task"; "go"; "--method"; "dasc"; "--init-ratio"; "1.5"; "--out"; out ] "(0, 1]"
        testCase "β of 0" <| fun () -> rejects [ "train"; "--task"; "go"; "--method"; "dasc"; "--init-ratio"; "0"; "--out"; out ] "(0, 1]"
        testCase "zero networks" <| fun () -> rejects [ "train"; "--task"; "go"; "--networks"; "0"; "--out"; out ] "number of networks must be at least 1"
        testCase "an unwritable output folder" <| fun () ->
            let blocker = Path.GetTempFileName()   // a file where a folder is wanted
            rejects [ "train"; "--task"; "go"; "--out"; Path.Combine(blocker, "run") ] "cannot write to the output folder"
        testCase "a malformed configuration file" <| fun () ->
            let config = Path.GetTempFileName()
            File.WriteAllText(config, """{ "task": "go", "networks": "many" }""")
            rejects [ "train"; "--config"; config; "--out"; out ] "'networks' has the wrong type"
        testCase "a configuration that is not JSON" <| fun () ->
            let config = Path.GetTempFileName()
            File.WriteAllText(config, "task = go")
            rejects [ "train"; "--config"; config; "--out"; out ] "not valid JSON"
        testCase "an unknown option" <| fun () -> rejects [ "train"; "--frobnicate" ] "unrecognized argument"
        // Values that used to crash with "internal error" or be changed silently (issue 18, cases 3 and 4): each is
        // refused with one line before the run folder exists, so the corrected command can use it.
        for args, expected in
            [ [ "--noise"; "NaN" ], "noise scale must be a finite"
              [ "--learning-rate"; "Infinity" ], "learning rate must be a finite"
              [ "--stimulus"; "NaN" ], "stimulus must be a finite"
              [ "--burn-in"; "Infinity" ], "burn-in must be a finite"
              [ "--fixation"; "-0.3" ], "fixation must be a finite, non-negative"
              [ "--response"; "-0.2" ], "response must be a finite, non-negative"
              [ "--jitter"; "5" ], "less the jitter of 5 s"
              [ "--dt"; "10" ], "would last 0 steps at dt = 10 s"
              [ "--grace"; "-1" ], "grace must be a finite, non-negative"
              [ "--task"; "dlygo"; "--delay"; "0" ], "period delay would last"
              [ "--task"; "rulereversal"; "--wait"; "-1" ], "wait must be a finite, non-negative"
              [ "--method"; "cd"; "--skip"; "150" ], "on CD's grid at θ0 = 150"
              [ "--networks"; "2000000000" ], "GB of memory"
              [ "--trials"; "100000" ], "GB of memory"
              [ "--trials"; "2000000000" ], "GB of memory"
              [ "--units"; "100000" ], "GB of memory"
              [ "--method"; "sctt"; "--skip"; "Infinity" ], "must be a finite number of steps"
              [ "--workers"; "0" ], "workers must be at least 1"
              [ "--strategic-ratio"; "0.5" ], "multi-trial task" ] do
            testCase (sprintf "train %s" (String.concat " " args)) <| fun () ->
                let folder = Path.Combine(Path.GetTempPath(), "skiprnn-refused-" + string (Guid.NewGuid()))
                let task = if List.contains "--task" args then [] else [ "--task"; "go" ]
                let networks = if List.contains "--networks" args then [] else [ "--networks"; "2" ]
                rejects ([ "train" ] @ task @ networks @ [ "--max-steps"; "20" ] @ args @ [ "--out"; folder ]) expected
                Expect.isFalse (Directory.Exists folder) "no run folder is created"
        testCase "two trains into one folder: the second is refused at once, naming the first" <| fun () ->
            let folder = Path.Combine(Path.GetTempPath(), "skiprnn-lock-" + string (Guid.NewGuid()))
            let args = [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "100000"; "--quiet"; "--out"; folder ]
            let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SkipRnn.Cli.dll"))
            for a in args do info.ArgumentList.Add a
            use first = Process.Start info
            try
                let owner = Path.Combine(folder, ".lock.owner")
                let clock = Stopwatch.StartNew()
                while not (File.Exists owner) && clock.Elapsed.TotalSeconds < 60.0 && not first.HasExited do
                    Threading.Thread.Sleep 100
                Expect.isTrue (File.Exists owner) "the first train holds the folder"
                let started = Stopwatch.StartNew()
                rejects args (sprintf "is in use by process %d" first.Id)
                Expect.isLessThan started.Elapsed.TotalSeconds 20.0 "refused at once, not after waiting"
            finally
                if not first.HasExited then first.Kill()
                first.WaitForExit()
                try Directory.Delete(folder, true) with _ -> ()
        testCase "SKIPRNN_RESULTS is the results folder when --results is not given" <| fun () ->
            let folder = Path.Combine(Path.GetTempPath(), "skiprnn-env-results-" + string (Guid.NewGuid()))
            let code, _, err = runWith [ "SKIPRNN_RESULTS", folder ] [ "report" ]
            Expect.equal code 2 "no store there"
            Expect.stringContains err (Path.Combine(folder, "skiprnn.duckdb")) "the folder of SKIPRNN_RESULTS"
        testCase "activity --out a folder" <| fun () ->
            rejects [ "activity"; "--weights"; Path.GetTempPath(); "--out"; Path.GetTempPath() ] "is a folder: give the file to write"
        testCase "eval --seed -1" <| fun () -> rejects [ "eval"; "--weights"; Path.GetTempPath(); "--seed"; "-1" ] "seed must not be negative"
        testCase "eval of a folder that is no run" <| fun () -> rejects [ "eval"; "--weights"; Path.GetTempPath() ] "not a run folder"
        testCase "train, then eval, end to end" <| fun () ->
            let code, stdout, err = run [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "10"; "--quiet"; "--out"; out ]
            Expect.equal code 0 (sprintf "train exits 0 (stderr: %s)" err)
            Expect.stringContains stdout "failed after 10 steps" "the step limit is reported"
            for f in [ "config.json"; "run.json"; "weights.npz"; "evaluations.csv" ] do
                Expect.isTrue (File.Exists(Path.Combine(out, f))) (sprintf "%s written" f)
            let code, stdout, _ = run [ "eval"; "--weights"; out; "--trials"; "20" ]
            Expect.equal code 0 "eval exits 0"
            Expect.stringContains stdout "criterion" "eval prints the criterion"
            let code, stdout, _ = run [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "10"; "--quiet"; "--out"; out ]
            Expect.equal code 0 "a finished run is not trained again"
            Expect.stringContains stdout "already finished" "and says so"
            let code, _, err = run [ "train"; "--task"; "dms"; "--networks"; "2"; "--out"; out ]
            Expect.equal code 2 "a folder holds one run"
            Expect.stringContains err "holds a different run" "and says so"
    ]
