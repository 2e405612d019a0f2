/// Sweeps on a real SLURM: a one-node cluster on localhost (tests/slurm/start-cluster.sh installs Debian's
/// slurm-wlm and munge if they are missing), a tiny experiment as a 3-task job array, then a task that is
/// warned of its time limit and later preempted, checkpointing, requeued and resuming each time. Skipped, with
/// the reason, where SLURM cannot be started (not root, no apt, the daemons refuse).
module SkipRnn.Tests.SlurmTests

open System
open System.IO
open System.Diagnostics
open System.Threading
open Expecto
open SkipRnn.Results
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline
open SkipRnn.Tests.SweepTests

/// The checkout's tests/slurm folder, found upwards from the test binary.
let private scripts =
    let rec up (dir: DirectoryInfo) =
        if isNull dir then None
        else
            let candidate = Path.Combine(dir.FullName, "tests", "slurm")
            if File.Exists(Path.Combine(candidate, "start-cluster.sh")) then Some candidate else up dir.Parent
    up (DirectoryInfo AppContext.BaseDirectory)

/// Runs a command with SLURM_CONF set; exit code (124 on timeout), stdout, stderr.
let private shell (conf: string option) (timeout: TimeSpan) (program: string) (args: string list) =
    let info = ProcessStartInfo(program, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in args do info.ArgumentList.Add a
    conf |> Option.iter (fun c -> info.Environment["SLURM_CONF"] <- c)
    use p = Process.Start info
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEndAsync()
    if p.WaitForExit(int timeout.TotalMilliseconds) then p.ExitCode, out.Result.Trim(), err.Result.Trim()
    else
        p.Kill true
        124, out.Result.Trim(), "timed out after " + string timeout

/// Polls `condition` every half second until it holds or `timeout` passes.
let private waitFor (timeout: TimeSpan) (what: string) (condition: unit -> bool) =
    let clock = Stopwatch.StartNew()
    while not (condition ()) do
        if clock.Elapsed > timeout then failtestf "waited %.0f s for %s" timeout.TotalSeconds what
        Thread.Sleep 500

let private readLog (path: string) = if File.Exists path then File.ReadAllText path else ""

let private lastLine (text: string) =
    text.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> Array.tryLast |> Option.defaultValue "no message"

/// Skips the test with the reason, which goes to stderr too (Expecto's summary lists only the name).
let private skip (reason: string) : 'a =
    eprintfn "real SLURM: skipped: %s" reason
    skiptest reason

// Its own waits (cluster start, array, requeue, preemption) add up to 20 minutes at most.
[<Tests>]
let slurmTests =
    TestGuard.within (TimeSpan.FromMinutes 25.0) <| testList "real SLURM" [
        testCase "a tiny experiment as a 3-task job array, merged once; a task near its time limit or preempted requeues and resumes" <| fun () ->
            let scripts =
                match scripts with
                | Some s -> s
                | None -> skip "tests/slurm/start-cluster.sh is not beside the test binary's checkout"
            // A short name: slurmd puts Unix sockets under cluster/spool, and a socket path has at most 108 bytes.
            let root = Path.Combine(Path.GetTempPath(), "slurm-" + Guid.NewGuid().ToString("N").Substring(0, 8))
            Directory.CreateDirectory root |> ignore
            let cluster = Path.Combine(root, "cluster")
            let started = Stopwatch.StartNew()
            let code, _, err = shell None (TimeSpan.FromMinutes 7.0) "bash" [ Path.Combine(scripts, "start-cluster.sh"); cluster ]
            let conf = Some(Path.Combine(cluster, "slurm.conf"))
            let slurm program args =
                let code, out, err = shell conf (TimeSpan.FromSeconds 30.0) program args
                if code <> 0 then failtestf "%s %s: %s" program (String.concat " " args) err
                out
            let squeueEmpty (job: string) () =
                let code, out, _ = shell conf (TimeSpan.FromSeconds 30.0) "squeue" [ "-h"; "-j"; job ]
                code = 0 && out = ""
            try
                if code <> 0 then skip (sprintf "SLURM could not be started here: %s" (lastLine err))
                eprintfn "real SLURM: one-node cluster up in %.0f s" started.Elapsed.TotalSeconds
                // A tiny experiment as a 3-task array.
                let sweep = Path.Combine(root, "sweep")
                let code, lines, err = runCli [ "sweep"; "plan"; "figure1"; "--profile"; "tiny"; "--shards"; "3"; "--out"; sweep ]
                Expect.equal code 0 (sprintf "sweep plan (%s)" err)
                Expect.exists lines (fun l -> l.StartsWith "submit: sbatch ") "plan prints the sbatch command"
                let job = (slurm "sbatch" [ "--parsable"; Path.Combine(sweep, "sweeps", "figure1-tiny.sbatch") ]).Split(';')[0]
                waitFor (TimeSpan.FromMinutes 3.0) "the array to finish" (squeueEmpty job)
                let logs = [ for i in 0 .. 2 -> readLog (Path.Combine(sweep, "sweeps", "logs", sprintf "skiprnn-figure1-tiny_%s_%d.out" job i)) ]
                logs |> List.iteri (fun i log ->
                    Expect.stringContains log (sprintf "shard %d/3 done" i) (sprintf "array task %d ran its shard: %s" i log))
                let results = Path.Combine(root, "results")
                let code, lines, err = runCli [ "sweep"; "merge"; sweep; "--results"; results; "--fail-if-unfinished" ]
                Expect.equal code 0 (sprintf "merge (%A %s)" lines err)
                Expect.exists lines (fun l -> l.EndsWith ": 3 new, 0 already present, 0 unfinished") (sprintf "merge counts: %A" lines)
                let code, lines, _ = runCli [ "sweep"; "merge"; sweep; "--results"; results ]
                Expect.equal code 0 "a second merge"
                Expect.exists lines (fun l -> l.EndsWith ": 0 new, 3 already present, 0 unfinished") "adds nothing"
                do
                    use store = ResultStore.OpenOrFail(Path.Combine(results, "skiprnn.duckdb"))
                    let jobs = (Figure1.define Profiles.tiny).Jobs
                    Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs")) (int64 jobs.Length) "every run is in the store once"
                    Expect.equal (store.Keys()) (jobs |> List.map (fun j -> j.Key) |> Set.ofList) "exactly the experiment's runs"
                eprintfn "real SLURM: array of 3 submitted, run and merged at %.0f s" started.Elapsed.TotalSeconds

                // A task warned of its time limit (USR1, as --signal=B:USR1@120 sends it) checkpoints and requeues
                // itself; then it is preempted (SLURM's requeue: SIGTERM to every process of the task), and each
                // attempt resumes from the checkpoint. Quick Figure 1's first job (go, 1,000 steps) lasts long enough.
                let long = Path.Combine(root, "long")
                let cpus = string (min 2 Environment.ProcessorCount)
                let code, _, err = runCli [ "sweep"; "plan"; "figure1"; "--profile"; "quick"; "--shards"; "16"; "--cpus-per-task"; cpus; "--out"; long ]
                Expect.equal code 0 (sprintf "sweep plan (%s)" err)
                let job = (slurm "sbatch" [ "--parsable"; "--array=0"; Path.Combine(long, "sweeps", "figure1-quick.sbatch") ]).Split(';')[0]
                let task = job + "_0"
                let log = Path.Combine(long, "sweeps", "logs", sprintf "skiprnn-figure1-quick_%s_0.out" job)
                let occurrences (text: string) = (readLog log).Split(text).Length - 1
                // SLURM holds a requeued job back for two minutes (its begin time); let it start in a few seconds
                // (sooner, slurmd may still refuse the task's revoked credential).
                let release () =
                    waitFor (TimeSpan.FromMinutes 1.0) "the requeued task to be released" (fun () ->
                        let code, _, _ = shell conf (TimeSpan.FromSeconds 30.0) "scontrol" [ "update"; "JobId=" + task; "StartTime=now+5" ]
                        code = 0 || squeueEmpty job ())
                waitFor (TimeSpan.FromMinutes 2.0) "the task to start training" (fun () -> occurrences "\ntraining " = 1)
                Thread.Sleep 1500
                // scancel may complain about the array's other parts; the signal reaches the task all the same.
                shell conf (TimeSpan.FromSeconds 30.0) "scancel" [ "--signal=USR1"; "--batch"; task ] |> ignore
                waitFor (TimeSpan.FromMinutes 1.0) "the task to requeue itself" (fun () -> occurrences "requeueing shard 0/16" = 1)
                release ()
                waitFor (TimeSpan.FromMinutes 2.0) "the second attempt to resume" (fun () -> occurrences "\nresuming " = 1)
                Thread.Sleep 1500
                slurm "scontrol" [ "requeue"; task ] |> ignore
                waitFor (TimeSpan.FromMinutes 1.0) "the preempted task to stop" (fun () -> occurrences "\nstopped " = 2)
                release ()
                waitFor (TimeSpan.FromMinutes 3.0) "the requeued task to finish" (squeueEmpty job)
                let text = readLog log
                for expected in [ "attempt 2"; "attempt 3"; "finished go_control"; "shard 0/16 done" ] do
                    Expect.stringContains text expected (sprintf "the task's log says '%s': %s" expected text)
                Expect.equal (occurrences "\ntraining go_control") 1 "trained from the start once"
                Expect.equal (occurrences "\nresuming go_control") 2 "and resumed from its checkpoint twice"
                Expect.equal (occurrences "requeueing") 1 "requeued by the script once (time limit), by SLURM once (preemption)"
                do
                    use store = ResultStore.OpenOrFail(Path.Combine(root, "long-results", "skiprnn.duckdb"))
                    let summary = Sweep.merge store { Root = long }
                    Expect.equal summary.New.Length 1 "the job is finished and merged"
                eprintfn "real SLURM: time-limit requeue, preemption and resumption checked at %.0f s" started.Elapsed.TotalSeconds
            finally
                shell None (TimeSpan.FromMinutes 1.0) "bash" [ Path.Combine(scripts, "stop-cluster.sh"); cluster ] |> ignore
    ]
