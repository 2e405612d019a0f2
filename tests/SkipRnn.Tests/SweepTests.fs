/// Sweeps: shards that split an experiment's jobs, the SLURM batch script, `skiprnn sweep` at the command
/// line, and a shard that is killed or stopped and run again.
module SkipRnn.Tests.SweepTests

open System
open System.IO
open System.Diagnostics
open System.Runtime.InteropServices
open System.Threading
open Expecto
open SkipRnn.IO
open SkipRnn.Results
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline

let temporaryFolder (name: string) =
    let dir = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-%s-%s" name (Guid.NewGuid().ToString "N"))
    Directory.CreateDirectory dir |> ignore
    dir

let cli = Path.Combine(AppContext.BaseDirectory, "SkipRnn.Cli.dll")

/// Starts the CLI with stdout and stderr piped.
let start (args: string list) =
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    info.ArgumentList.Add cli
    for a in args do info.ArgumentList.Add a
    Process.Start info

/// Runs the CLI to its end: exit code, stdout lines, stderr.
let runCli (args: string list) =
    use p = start args
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray, err.Result

/// Reads stdout lines until one satisfies `wanted`; None if the program ends first.
let rec readUntil (p: Process) (wanted: string -> bool) =
    match p.StandardOutput.ReadLine() with
    | null -> None
    | line when wanted line -> Some line
    | _ -> readUntil p wanted

[<DllImport("libc", SetLastError = true)>]
extern int kill(int pid, int signal)

let private sigterm = 15

let private rejects (args: string list) (expected: string) =
    let code, _, err = CliTests.run args
    Expect.equal code 2 (sprintf "exit code of %A (stderr: %s)" args err)
    let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Expect.equal lines.Length 1 (sprintf "one line on stderr, got: %s" err)
    Expect.stringContains lines[0] expected "says what is wrong"
    Expect.isFalse (err.Contains "   at ") "no stack trace"

let private keysOf (jobs: Job list) = jobs |> List.map (fun j -> j.Key)

[<Tests>]
let shardTests =
    testList "sweep shards" [
        testCase "K shards hold every job of a sweep exactly once, in the sweep's order" <| fun () ->
            for profile in Profiles.all do
                let jobs = Sweep.jobs (Sweep.experiments "all" profile)
                Expect.equal (jobs |> List.distinctBy (fun j -> j.Key)).Length jobs.Length (sprintf "%s: a job shared by experiments is in the sweep once" profile.Name)
                for k in [ 1; 2; 3; 7; jobs.Length; jobs.Length + 5 ] do
                    let shards = [ for i in 0 .. k - 1 -> Shard.select { Index = i; Count = k } jobs ]
                    let all = shards |> List.concat
                    Expect.equal (all |> keysOf |> List.sort) (jobs |> keysOf |> List.sort) (sprintf "%s, K = %d: every job in one shard" profile.Name k)
                    for shard in shards do
                        let positions = shard |> List.map (fun j -> jobs |> List.findIndex (fun x -> x.Key = j.Key))
                        Expect.equal positions (List.sort positions) "a shard keeps the sweep's order"
        testCase "the split is a function of the definition alone" <| fun () ->
            let a = Sweep.jobs (Sweep.experiments "grid" Profiles.paper)
            let b = Sweep.jobs (Sweep.experiments "GRID" Profiles.paper)
            Expect.equal (Sweep.fingerprint a) (Sweep.fingerprint b) "same definition, same fingerprint"
            Expect.equal (keysOf (Shard.select { Index = 5; Count = 64 } a)) (keysOf (Shard.select { Index = 5; Count = 64 } b)) "same shard"
            Expect.notEqual (Sweep.fingerprint a) (Sweep.fingerprint a.Tail) "another job list, another fingerprint"
        testCase "a shard is i/K with 0 ≤ i < K" <| fun () ->
            Expect.equal (Shard.tryParse "2/3") (Ok { Index = 2; Count = 3 }) "2/3"
            Expect.equal (Shard.tryParse "0/1") (Ok { Index = 0; Count = 1 }) "0/1"
            for bad in [ "3/3"; "-1/2"; "1/0"; "1"; "a/b"; "1/2/3"; "" ] do
                Expect.isError (Shard.tryParse bad) (sprintf "'%s' is refused" bad)
    ]

[<Tests>]
let scriptTests =
    testList "SLURM batch script" [
        testCase "a job array of K tasks, requeueable, warned before the time limit, each task running its shard" <| fun () ->
            let options: SlurmScript.Options =
                { JobName = "skiprnn-grid-paper"; Shards = 64; MaxRunning = Some 16; Partition = Some "gpu"; Time = Some "1-00:00:00"
                  CpusPerTask = 4; GpusPerTask = Some 1; Extra = [ "--account=lab" ]; LogFolder = "/shared/sweep/sweeps/logs" }
            let script =
                SlurmScript.render options [ "/usr/bin/dotnet"; "/opt/skip rnn/SkipRnn.Cli.dll" ]
                    [ "grid"; "--profile"; "paper"; "--out"; "/shared/sweep"; "--device"; "cuda" ]
            let lines = script.Split '\n'
            for directive in [ "--array=0-63%16"; "--partition=gpu"; "--time=1-00:00:00"; "--cpus-per-task=4"; "--gres=gpu:1"
                               "--requeue"; "--signal=B:USR1@120"; "--account=lab"; "--open-mode=append"
                               "--output=/shared/sweep/sweeps/logs/skiprnn-grid-paper_%A_%a.out"; "--job-name=skiprnn-grid-paper" ] do
                Expect.contains lines ("#SBATCH " + directive) (sprintf "#SBATCH %s" directive)
            Expect.stringStarts script "#!/bin/bash\n" "a bash script"
            Expect.stringContains script "'/usr/bin/dotnet' '/opt/skip rnn/SkipRnn.Cli.dll' sweep run 'grid' '--profile' 'paper' '--out' '/shared/sweep' '--device' 'cuda' --shard \"$shard\"" "the run line, quoted"
            Expect.stringContains script "shard=\"$SLURM_ARRAY_TASK_ID/64\"" "each task runs shard $SLURM_ARRAY_TASK_ID/K"
            Expect.stringContains script "scontrol requeue \"$SLURM_JOB_ID\"" "the task requeues itself near the time limit"
            let file = Path.GetTempFileName()
            File.WriteAllText(file, script)
            use bash = Process.Start(ProcessStartInfo("bash", [ "-n"; file ], RedirectStandardError = true))
            let err = bash.StandardError.ReadToEnd()
            bash.WaitForExit()
            Expect.equal bash.ExitCode 0 (sprintf "bash -n accepts it: %s" err)
        testCase "without GPUs or a partition, no such lines" <| fun () ->
            let options: SlurmScript.Options =
                { JobName = "x"; Shards = 1; MaxRunning = None; Partition = None; Time = None; CpusPerTask = 1
                  GpusPerTask = None; Extra = []; LogFolder = "/tmp" }
            let script = SlurmScript.render options [ "/bin/skiprnn" ] [ "figure1" ]
            Expect.stringContains script "#SBATCH --array=0-0\n" "one task"
            for absent in [ "--gres"; "--partition"; "--time" ] do
                Expect.isFalse (script.Contains absent) (sprintf "no %s" absent)
        testCase "sweep plan writes the script, its plan, and prints the sbatch command" <| fun () ->
            let dir = temporaryFolder "plan"
            let code, lines, err =
                runCli [ "sweep"; "plan"; "figure1"; "--profile"; "tiny"; "--shards"; "5"; "--out"; dir; "--partition"; "debug"
                         "--time"; "30"; "--cpus-per-task"; "2"; "--skiprnn"; cli ]
            Expect.equal code 0 (sprintf "plan exits 0 (%s)" err)
            let script = Path.Combine(dir, "sweeps", "figure1-tiny.sbatch")
            Expect.contains lines (sprintf "submit: sbatch '%s'" script) "prints the sbatch command"
            let text = File.ReadAllText script
            Expect.stringContains text "#SBATCH --array=0-2\n" "tiny figure1 has 3 runs: 5 shards asked, 3 planned"
            Expect.stringContains text (sprintf "'%s' sweep run 'figure1' '--profile' 'tiny' '--out' '%s'" cli dir) "runs this program by absolute path"
            Expect.isTrue (text.Contains "/dotnet' '") "through dotnet, by absolute path"
            Expect.isTrue (File.Exists(Path.Combine(dir, "sweeps", "figure1-tiny.json"))) "the plan for merge"
            Expect.isTrue (Directory.Exists(Path.Combine(dir, "sweeps", "logs"))) "the log folder exists before sbatch needs it"
    ]

[<Tests>]
let sweepCliTests =
    testList "sweep command line" [
        testCase "unknown experiment" <| fun () ->
            rejects [ "sweep"; "plan"; "figure9"; "--shards"; "3"; "--out"; temporaryFolder "cli" ] "unknown experiment 'figure9'"
        testCase "fewer than one shard" <| fun () ->
            rejects [ "sweep"; "plan"; "figure1"; "--shards"; "0"; "--out"; temporaryFolder "cli" ] "shards must be at least 1"
        testCase "a shard that is not i/K" <| fun () ->
            for shard in [ "3/3"; "-1/3"; "x" ] do
                rejects [ "sweep"; "run"; "figure1"; "--shard"; shard; "--out"; temporaryFolder "cli" ] "the shard must be i/K"
        testCase "an unwritable sweep folder" <| fun () ->
            let blocker = Path.GetTempFileName()
            rejects [ "sweep"; "plan"; "figure1"; "--shards"; "2"; "--out"; Path.Combine(blocker, "sweep") ] "cannot write"
            rejects [ "sweep"; "run"; "figure1"; "--shard"; "0/2"; "--out"; Path.Combine(blocker, "sweep") ] "cannot write"
        testCase "a time limit SLURM would not read" <| fun () ->
            rejects [ "sweep"; "plan"; "figure1"; "--shards"; "2"; "--time"; "two hours"; "--out"; temporaryFolder "cli" ] "SLURM's format"
        testCase "a shard of a changed plan" <| fun () ->
            rejects [ "sweep"; "run"; "figure1"; "--profile"; "tiny"; "--shard"; "0/2"; "--fingerprint"; "000000000000"; "--out"; temporaryFolder "cli" ] "changed since the sweep was planned"
        testCase "merging a folder that holds no sweep" <| fun () ->
            rejects [ "sweep"; "merge"; temporaryFolder "empty"; "--results"; temporaryFolder "results" ] "holds no sweep"
    ]

[<Tests>]
let resumeTests =
    testList "a shard run again" [
        testCase "a shard killed mid-run and run again completes without retraining what it had finished" <| fun () ->
            let dir = temporaryFolder "killed-shard"
            let code, _, err = runCli [ "sweep"; "plan"; "figure1"; "--profile"; "tiny"; "--shards"; "1"; "--out"; dir ]
            Expect.equal code 0 (sprintf "plan (%s)" err)
            let args = [ "sweep"; "run"; "figure1"; "--profile"; "tiny"; "--shard"; "0/1"; "--out"; dir; "--workers"; "1" ]
            // Killed (SIGKILL: no chance to tidy up) as soon as its first job is finished.
            let first =
                use p = start args
                let line = readUntil p (fun l -> l.StartsWith "finished ")
                if not p.HasExited then p.Kill true
                p.WaitForExit()
                match line with
                | Some l -> l.Split(' ')[1]
                | None -> failtestf "no job finished: %s" (p.StandardError.ReadToEnd())
            let record = Path.Combine(dir, "runs", first, "run.json")
            let before = File.ReadAllText record, File.GetLastWriteTimeUtc record
            let results = temporaryFolder "killed-shard-results"
            let code, lines, _ = runCli [ "sweep"; "merge"; dir; "--results"; results ]
            Expect.equal code 0 "a merge of a half-done sweep exits 0"
            Expect.isTrue (lines |> List.exists (fun l -> l.Contains ": 1 new, 0 already present, 2 unfinished")) (sprintf "and counts what is missing: %A" lines)
            let code, lines, err = runCli args
            Expect.equal code 0 (sprintf "the shard run again exits 0 (%s)" err)
            Expect.contains lines (sprintf "skipped %s (finished earlier)" first) "the finished job is skipped"
            Expect.isFalse (lines |> List.exists (fun l -> l = "training " + first)) "and not trained again"
            Expect.equal (File.ReadAllText record, File.GetLastWriteTimeUtc record) before "its run.json is untouched"
            let code, lines, _ = runCli [ "sweep"; "merge"; dir; "--results"; results; "--fail-if-unfinished" ]
            Expect.equal code 0 "nothing unfinished now"
            Expect.isTrue (lines |> List.exists (fun l -> l.Contains ": 2 new, 1 already present, 0 unfinished")) (sprintf "%A" lines)
            use store = ResultStore.OpenOrFail(Path.Combine(results, "skiprnn.duckdb"))
            let jobs = (Figure1.define Profiles.tiny).Jobs
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs")) (int64 jobs.Length) "each job stored once"
            Expect.equal (store.Keys()) (jobs |> keysOf |> Set.ofList) "exactly the experiment's jobs"
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM experiment_jobs WHERE experiment = 'figure1' AND profile = 'tiny'")) (int64 jobs.Length)
                "the experiment is recorded, so the report finds its runs"
        testCase "SIGTERM (SLURM's preemption) stops a shard at the next step with a checkpoint" <| fun () ->
            let dir = temporaryFolder "sigterm-shard"
            // The first job of quick Figure 1 (go, 1,000 steps of 10 networks) runs for many seconds.
            use p = start [ "sweep"; "run"; "figure1"; "--profile"; "quick"; "--shard"; "0/16"; "--out"; dir; "--workers"; "1" ]
            let training = readUntil p (fun l -> l.StartsWith "training ")
            Expect.isSome training "a job started"
            Thread.Sleep 1500
            kill (p.Id, sigterm) |> ignore
            let rest = p.StandardOutput.ReadToEnd()
            Expect.isTrue (p.WaitForExit 60000) "it stops"
            Expect.equal p.ExitCode 130 "with the code of an interrupted run"
            Expect.stringContains rest "stopped go_control" "and says so"
            let folder = Path.Combine(dir, "runs", training.Value.Split(' ')[1])
            Expect.isTrue (File.Exists(RunDirectory.checkpointFile folder)) "the job's checkpoint is written"
            Expect.isFalse (RunDirectory.isFinished folder) "and the job is not marked finished"
        testCase "a stopped shard resumes its interrupted job from the checkpoint" <| fun () ->
            let layout = { Root = temporaryFolder "resume-shard" }
            let quickJob = Job.training (Runs.control Profiles.tiny "go" 10)
            let longJob = Job.training { Runs.control Profiles.tiny "dm1" 60 with EvaluateEvery = 5 }
            let jobs = [ quickJob; longJob ]
            use cancel = new CancellationTokenSource()
            let events = ResizeArray<Sweep.ShardEvent>()
            let notify e =
                events.Add e
                match e with
                | Sweep.Progress (job, step, _) when job.Key = longJob.Key && step >= 20 -> cancel.Cancel()
                | _ -> ()
            Expect.isFalse (Sweep.runShard layout jobs SkipRnn.Engine.Cpu (Some 2) notify cancel.Token) "stopped"
            Expect.isTrue (File.Exists(RunDirectory.checkpointFile (layout.JobFolder longJob))) "with a checkpoint"
            events.Clear()
            Expect.isTrue (Sweep.runShard layout jobs SkipRnn.Engine.Cpu (Some 2) events.Add CancellationToken.None) "done"
            Expect.equal events[0] (Sweep.Skipped quickJob) "the finished job is skipped"
            Expect.equal events[1] (Sweep.Starting(longJob, true)) "the other resumes from its checkpoint"
            let steps = events |> Seq.choose (function Sweep.Progress (_, s, _) -> Some s | _ -> None) |> List.ofSeq
            Expect.isTrue (steps.Head > 20) (sprintf "from where it stopped, not from 0: %A" steps)
            Expect.isTrue (RunDirectory.isFinished (layout.JobFolder longJob)) "and finishes"
            let evaluations = File.ReadAllLines(RunDirectory.evaluationsFile (layout.JobFolder longJob)) |> Array.skip 1
            Expect.equal (evaluations |> Array.map (fun l -> int (l.Split(',')[0]))) [| 5 .. 5 .. 60 |] "its evaluations are complete, none twice"
            use store = ResultStore.OpenOrFail layout.Store
            let summary = Sweep.merge store layout
            Expect.equal (List.sort summary.New) (List.sort (keysOf jobs)) "merge ingests both"
            Expect.equal (Sweep.merge store layout).Present 2 "a second merge finds both present"
    ]
