/// What goes wrong around a run, and what the program does then (issue 18): a folder that does not hold the job
/// its name says, a damaged file, a full disk, two writers at once. Nothing wrong enters the store, every failure
/// names its file, and a bad folder is set aside instead of stopping the stage.
module SkipRnn.Tests.FailureTests

open System
open System.IO
open System.Diagnostics
open System.Threading
open Expecto
open SkipRnn.IO
open SkipRnn.Results
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline
open SkipRnn.Tests.SweepTests

let private finishedJob (layout: ResultsLayout) (job: Job) =
    match JobRunner.run job (layout.JobFolder job) (Some 1) (fun _ _ -> ()) ignore CancellationToken.None with
    | JobRunner.Finished -> layout.JobFolder job
    | other -> failtestf "the job did not finish: %A" other

let private copyFolder (source: string) (target: string) =
    Directory.CreateDirectory target |> ignore
    for file in Directory.GetFiles source do File.Copy(file, Path.Combine(target, Path.GetFileName file))

let private goJob = Job.training (Runs.control Profiles.tiny "go" 10)
let private dm1Job = Job.training (Runs.control Profiles.tiny "dm1" 10)

/// One line on stderr with the exit code expected, no stack trace.
let private oneLine (code: int) (expectedCode: int) (err: string) (expected: string) =
    let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Expect.equal code expectedCode (sprintf "exit code (stderr: %s)" err)
    Expect.equal lines.Length 1 (sprintf "one line on stderr, got: %s" err)
    Expect.stringContains lines[0] expected "says what is wrong"
    Expect.isFalse (err.Contains "   at ") "no stack trace"

[<Tests>]
let mergeTests =
    testList "a merge checks each folder against its job" [
        testCase "a folder holding another job's run is set aside, not stored under the wrong key (case 1)" <| fun () ->
            let sweep = { Root = temporaryFolder "swapped" }
            finishedJob sweep goJob |> ignore
            let dm1 = finishedJob sweep dm1Job
            // The go folder replaced by a copy of dm1's: its name says go, its config says dm1.
            Directory.Delete(sweep.JobFolder goJob, true)
            copyFolder dm1 (sweep.JobFolder goJob)
            let results = temporaryFolder "swapped-results"
            let code, lines, err = runCli [ "sweep"; "merge"; sweep.Root; "--results"; results ]
            Expect.equal code 0 (sprintf "the merge goes on (%s)" err)
            Expect.isTrue (lines |> List.exists (fun l -> l.Contains ": 1 new, 0 already present, 1 unfinished")) (sprintf "dm1 stored, go not: %A" lines)
            Expect.stringContains err (sprintf "warning: %s holds the training job %s (task dm1" (sweep.JobFolder goJob) dm1Job.Key) "the warning names both"
            Expect.stringContains err "set aside as quarantine" "and says where the folder went"
            Expect.isFalse (Directory.Exists(sweep.JobFolder goJob)) "the go folder is out of runs/, so go is trained again"
            Expect.equal (Directory.GetDirectories(sweep.Quarantine).Length) 1 "it is in quarantine/"
            use store = ResultStore.OpenOrFail(Path.Combine(results, "skiprnn.duckdb"))
            Expect.equal (store.Keys()) (Set.ofList [ dm1Job.Key ]) "only dm1, under its own key"
            Expect.equal (store.Scalar<string>("SELECT task FROM runs")) "dm1" "and as dm1"
        testCase "a folder whose config.json was edited is set aside (case 1)" <| fun () ->
            let sweep = { Root = temporaryFolder "edited" }
            let dir = finishedJob sweep goJob
            let config = RunDirectory.configFile dir
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"seed\": 1", "\"seed\": 2"))
            use store = ResultStore.OpenOrFail(Path.Combine(temporaryFolder "edited-results", "skiprnn.duckdb"))
            let summary = Sweep.merge store sweep
            Expect.isEmpty summary.New "nothing stored"
            Expect.equal summary.Unfinished [ goJob.Key ] "the job counts as not done"
            Expect.stringContains (String.concat " " summary.Warnings) "its config.json is not the one its name stands for" "with the reason"
            Expect.isEmpty (store.Keys()) "the store holds nothing"
        testCase "a finished folder whose files do not fit its config is refused by JobFolder.read (cases 1 and 7)" <| fun () ->
            let layout = { Root = temporaryFolder "damaged" }
            let dir = finishedJob layout goJob
            let expectRefused (what: string) (damage: string -> unit) (expected: string) =
                let copy = Path.Combine(temporaryFolder what, goJob.Key)
                copyFolder dir copy
                damage copy
                match JobFolder.read Training copy with
                | Ok _ -> failtestf "%s: read as a finished job" what
                | Error e -> Expect.stringContains e expected what
            Expect.isOk (JobFolder.read Training dir) "the folder as written reads"
            expectRefused "empty weights" (fun d -> File.WriteAllBytes(RunDirectory.weightsFile d, [||])) "weights.npz"
            expectRefused "weights of other networks"
                (fun d -> File.Copy(RunDirectory.weightsFile (finishedJob layout (Job.training { goJob.Config with Networks = 3 })), RunDirectory.weightsFile d, true))
                "the weights are of 3 networks, but the configuration has 2"
            expectRefused "a damaged run.json" (fun d -> File.WriteAllText(RunDirectory.recordFile d, "{ \"outcome\": ")) "run.json"
            expectRefused "run.json of another config"
                (fun d -> File.WriteAllText(RunDirectory.recordFile d, File.ReadAllText(RunDirectory.recordFile d).Replace("\"seed\": 1", "\"seed\": 9")))
                "the record of another configuration"
            expectRefused "a damaged activity.npz" (fun d -> File.WriteAllText(JobFolder.activityFile d, "PK")) "activity.npz"
        testCase "a finished folder that cannot be read now is reported, not set aside" <| fun () ->
            let sweep = { Root = temporaryFolder "unreadable" }
            let dir = finishedJob sweep goJob
            // weights.npz replaced by a folder: opening it fails like a failing disk, not like a damaged file.
            File.Delete(RunDirectory.weightsFile dir)
            Directory.CreateDirectory(RunDirectory.weightsFile dir) |> ignore
            Expect.throwsT<FileFailure> (fun () -> JobFolder.read Training dir |> ignore) "JobFolder.read raises"
            use store = ResultStore.OpenOrFail(Path.Combine(temporaryFolder "unreadable-results", "skiprnn.duckdb"))
            Expect.throwsT<FileFailure> (fun () -> Sweep.merge store sweep |> ignore) "the merge stops, naming the file"
            Expect.isTrue (Directory.Exists dir) "the folder stays where it is"
            Expect.isFalse (Directory.Exists sweep.Quarantine) "nothing is set aside"
    ]

[<Tests>]
let experimentTests =
    testList "experiment run with a bad folder" [
        testCase "a damaged folder is reported and set aside, the stage goes on, and the next run trains its job (case 7)" <| fun () ->
            let layout = { Root = temporaryFolder "bad-folder" }
            let jobs = (Figure1.define Profiles.tiny).Jobs |> List.distinctBy (fun j -> j.Key)
            let bad = jobs.Head
            Directory.CreateDirectory(layout.JobFolder bad) |> ignore
            File.WriteAllText(RunDirectory.configFile (layout.JobFolder bad), ConfigJson.toJson bad.Config)
            File.WriteAllText(RunDirectory.recordFile (layout.JobFolder bad), "{ damaged")
            let args = [ "experiment"; "run"; "figure1"; "--profile"; "tiny"; "--results"; layout.Root; "--workers"; "1" ]
            let code, lines, err = runCli args
            Expect.equal code 1 (sprintf "a run not done makes the exit code 1 (%s)" err)
            Expect.stringContains err (sprintf "not done %s: cannot read the finished job" bad.Key) "the bad folder is named"
            Expect.stringContains err "set aside as quarantine" "and set aside"
            Expect.stringContains err "1 run not done" "and counted at the end"
            Expect.equal (lines |> List.filter (fun l -> l.StartsWith "stored ") |> List.length) (jobs.Length - 1) "every other job is stored"
            let code, lines, err = runCli args
            Expect.equal code 0 (sprintf "the same command finishes the stage (%s)" err)
            Expect.contains lines ("training " + bad.Key) "training the job afresh"
            use store = ResultStore.OpenOrFail layout.Store
            Expect.equal (store.Keys()) (jobs |> List.map (fun j -> j.Key) |> Set.ofList) "every job stored once"
    ]

/// Runs the CLI with `folder` on a tmpfs of `kilobytes`, in a user and mount namespace of its own; None where
/// this machine cannot make one.
let private onSmallDisk (kilobytes: int) (folder: string) (args: string list) =
    let probe = ProcessStartInfo("unshare", "--user --map-root-user --mount true", RedirectStandardError = true, UseShellExecute = false)
    let available =
        try
            use p = Process.Start probe
            p.WaitForExit()
            p.ExitCode = 0
        with _ -> false
    if not available then None
    else
        let quote (s: string) = "'" + s.Replace("'", "'\\''") + "'"
        let script =
            sprintf "mount -t tmpfs -o size=%dk tmpfs %s && exec dotnet %s" kilobytes (quote folder)
                (cli :: args |> List.map quote |> String.concat " ")
        let info = ProcessStartInfo("unshare", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
        for a in [ "--user"; "--map-root-user"; "--mount"; "sh"; "-c"; script ] do info.ArgumentList.Add a
        use p = Process.Start info
        let out = p.StandardOutput.ReadToEndAsync()
        let err = p.StandardError.ReadToEnd()
        p.WaitForExit()
        Some(p.ExitCode, out.Result, err)

[<Tests>]
let fileTests =
    testList "failures of files, named" [
        testCase "a damaged checkpoint is set aside and the run starts over (case 6)" <| fun () ->
            let dir = temporaryFolder "damaged-checkpoint"
            File.WriteAllText(RunDirectory.checkpointFile dir, "PK\u0003\u0004 cut short by a full disk")
            let code, out, err = CliTests.run [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "20"; "--out"; dir; "--quiet" ]
            Expect.equal code 0 (sprintf "the run trains (%s)" err)
            Expect.stringContains err (sprintf "warning: cannot read %s" (RunDirectory.checkpointFile dir)) "the file is named"
            Expect.stringContains err "training starts over" "and what happens"
            Expect.stringContains out "after 20 steps" "from step 0 to the end"
            Expect.equal (Directory.GetFiles(dir, "checkpoint.npz.set-aside-*").Length) 1 "the damaged file is kept aside"
        testCase "a full disk is named with its file, exit code 3, and no partial file is left (case 6)" <| fun () ->
            let disk = temporaryFolder "full-disk"
            let run = Path.Combine(disk, "run")
            // 24 kB: config.json fits, the weights (2 × 2 × 50 × 50 floats) do not.
            match onSmallDisk 24 disk [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "10"; "--out"; run; "--quiet" ] with
            | None -> skiptest "this machine cannot mount a small tmpfs in a user namespace (unshare), so a full disk cannot be made"
            | Some (code, _, err) ->
                oneLine code 3 err (sprintf "cannot write %s" (Path.Combine(run, "weights.npz")))
                Expect.stringContains err "No space left on device" "the system's reason"
                Expect.stringContains err "free some space or choose another folder" "and what to do"
        testCase "the results store on a full disk is named, exit code 3 (case 6)" <| fun () ->
            let sweep = { Root = temporaryFolder "store-full-sweep" }
            finishedJob sweep goJob |> ignore
            // 8 kB: the store cannot be created; 64 kB: it is, and the first write fails.
            for kilobytes in [ 8; 64 ] do
                let disk = temporaryFolder "store-full-disk"
                match onSmallDisk kilobytes disk [ "sweep"; "merge"; sweep.Root; "--results"; disk ] with
                | None -> skiptest "this machine cannot mount a small tmpfs in a user namespace (unshare), so a full disk cannot be made"
                | Some (code, _, err) ->
                    oneLine code 3 err (sprintf "cannot %s the results store %s" (if kilobytes = 8 then "open" else "write") (Path.Combine(disk, "skiprnn.duckdb")))
                    Expect.stringContains err "No space left on device" (sprintf "%d kB: the system's reason" kilobytes)
                    Expect.isFalse (err.Contains "Transaction has already been finished") "not the rollback's error"
        testCase "run.json, weights and checkpoints are flushed to the disk before they are renamed into place" <| fun () ->
            let dir = temporaryFolder "fsync"
            let trace = Path.Combine(dir, "trace")
            let info = ProcessStartInfo("strace", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
            for a in [ "-f"; "-qq"; "-e"; "trace=openat,fsync,fdatasync,rename,renameat,renameat2"; "-o"; trace; "dotnet"; cli
                       "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "10"; "--out"; Path.Combine(dir, "run"); "--quiet" ] do
                info.ArgumentList.Add a
            let started = try Some(Process.Start info) with _ -> None
            match started with
            | None -> skiptest "strace is not installed, so the order of fsync and rename cannot be seen"
            | Some p ->
                use p = p
                p.StandardOutput.ReadToEnd() |> ignore
                p.WaitForExit()
                Expect.equal p.ExitCode 0 (p.StandardError.ReadToEnd())
                let calls = File.ReadAllLines trace
                for name in [ "config.json"; "weights.npz"; "evaluations.csv"; "run.json" ] do
                    let partial = Path.Combine(dir, "run", name + ".partial")
                    // The descriptor opened on the temporary file, then fsync on it, then the rename.
                    let opened = calls |> Array.tryFindIndex (fun l -> l.Contains "openat(" && l.Contains (sprintf "\"%s\"" partial))
                    Expect.isSome opened (sprintf "%s is written to a temporary file" name)
                    let line = calls[opened.Value]
                    let pid = line.Split(' ')[0]
                    let fd = line.Substring(line.LastIndexOf '=' + 1).Trim()
                    let synced =
                        calls |> Array.indexed |> Array.tryFind (fun (i, l) ->
                            i > opened.Value && l.StartsWith(pid + " ") && (l.Contains(sprintf "fsync(%s)" fd) || l.Contains(sprintf "fdatasync(%s)" fd)))
                        |> Option.map fst
                    let renamed = calls |> Array.tryFindIndex (fun l -> l.Contains "rename" && l.Contains (sprintf "\"%s\"" partial))
                    Expect.isSome renamed (sprintf "%s is renamed into place" name)
                    Expect.isSome synced (sprintf "%s is flushed to the disk" name)
                    Expect.isLessThan synced.Value renamed.Value (sprintf "%s: fsync before the rename" name)
    ]

[<Tests>]
let writerTests =
    testList "one writer per folder" [
        testCase "a job folder held by another writer is left alone and reported busy (case 5)" <| fun () ->
            let layout = { Root = temporaryFolder "busy-job" }
            let dir = layout.JobFolder goJob
            Directory.CreateDirectory dir |> ignore
            match FolderLock.TryAcquire(dir, "a test holding the folder") with
            | Error e -> failtest e
            | Ok held ->
                use _ = held
                match JobRunner.run goJob dir (Some 1) (fun _ _ -> ()) ignore CancellationToken.None with
                | JobRunner.Busy reason -> Expect.stringContains reason "a test holding the folder" "the holder is named"
                | other -> failtestf "ran anyway: %A" other
                Expect.isFalse (File.Exists(RunDirectory.configFile dir)) "nothing was written"
        testCase "a second experiment run on one results store is refused at once, naming the store (case 5)" <| fun () ->
            let root = temporaryFolder "busy-store"
            use store = ResultStore.OpenOrFail(Path.Combine(root, "skiprnn.duckdb"))
            let watch = Stopwatch.StartNew()
            let code, _, err = CliTests.run [ "experiment"; "run"; "figure1"; "--profile"; "tiny"; "--results"; root ]
            oneLine code 2 err (sprintf "the results store %s is in use by another process" (Path.Combine(root, "skiprnn.duckdb")))
            Expect.isLessThan watch.Elapsed.TotalSeconds 30.0 "at once"
            Expect.isFalse (Directory.Exists(Path.Combine(root, "runs"))) "and nothing trained"
    ]

[<Tests>]
let inputTests =
    testList "inputs made canonical or refused (case 8)" [
        testCase "a configuration built in code gets the catalogue's task name too" <| fun () ->
            match SkipRnn.Training.RunConfig.validate { SkipRnn.Training.RunConfig.Default with Task = " DGO" } with
            | Ok c -> Expect.equal c.Task "dlygo" "validate names the task as the catalogue does"
            | Error e -> failtest e
            Expect.equal (Job.training { Runs.control Profiles.tiny "GO" 10 with EvaluateEvery = 5 }).Key
                (Job.training { Runs.control Profiles.tiny "go" 10 with EvaluateEvery = 5 }).Key "so one job has one key"
        testCase "a task is stored under its catalogue name, however it was typed" <| fun () ->
            for typed, canonical in [ "GO", "go"; " go", "go"; "dgo", "dlygo"; "DlyGo", "dlygo" ] do
                let dir = temporaryFolder "canonical"
                let code, _, err = CliTests.run [ "train"; "--task"; typed; "--networks"; "2"; "--max-steps"; "10"; "--out"; dir; "--quiet" ]
                Expect.equal code 0 err
                match ConfigJson.parse (File.ReadAllText(RunDirectory.configFile dir)) with
                | Ok c -> Expect.equal c.Task canonical (sprintf "'%s' is stored as %s" typed canonical)
                | Error e -> failtest e
                Expect.stringContains (File.ReadAllText(RunDirectory.configFile dir)) (sprintf "\"task\": \"%s\"" canonical) "in config.json"
        testCase "a configuration without a task is refused, not trained or evaluated as go" <| fun () ->
            let code, _, err = CliTests.run [ "train"; "--networks"; "2"; "--max-steps"; "10"; "--out"; Path.Combine(temporaryFolder "no-task", "run") ]
            oneLine code 2 err "no task is given"
            let dir = temporaryFolder "no-task-eval"
            let code, _, err = CliTests.run [ "train"; "--task"; "go"; "--networks"; "2"; "--max-steps"; "10"; "--out"; dir; "--quiet" ]
            Expect.equal code 0 err
            let config = RunDirectory.configFile dir
            File.WriteAllLines(config, File.ReadAllLines config |> Array.filter (fun l -> not (l.Contains "\"task\"")))
            let code, _, err = CliTests.run [ "eval"; "--weights"; dir ]
            oneLine code 2 err "no task is given"
        testCase "eval refuses weights of more networks than the run's configuration" <| fun () ->
            let two = temporaryFolder "eval-two"
            let four = temporaryFolder "eval-four"
            for dir, networks in [ two, "2"; four, "4" ] do
                let code, _, err = CliTests.run [ "train"; "--task"; "go"; "--networks"; networks; "--max-steps"; "10"; "--out"; dir; "--quiet" ]
                Expect.equal code 0 err
            File.Copy(RunDirectory.weightsFile four, RunDirectory.weightsFile two, true)
            let code, _, err = CliTests.run [ "eval"; "--weights"; two ]
            oneLine code 2 err "the weights are of 4 networks, but the configuration has 2"
    ]
