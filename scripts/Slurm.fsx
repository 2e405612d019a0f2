// `dotnet fsi build.fsx -t Reproduce --slurm`: the pipeline's runs as one SLURM job array. build.fsx plans it
// with `skiprnn sweep plan all`; this file takes the options out of the build's arguments, submits the array,
// waits for it with progress lines, and build.fsx merges the results and writes the report.
module Slurm

open System
open System.ComponentModel
open System.Diagnostics
open System.IO
open System.Threading

/// The `skiprnn sweep plan` options that --slurm brings along.
type Options = { PlanArguments: string list }

let private valued = [ "--shards"; "--partition"; "--time"; "--cpus-per-task"; "--gpus-per-task"; "--max-running"; "--skiprnn" ]

/// Takes --slurm and its options (--shards N, --partition P, --time T, --cpus-per-task N, --gpus-per-task N,
/// --max-running N, --skiprnn PATH, --sbatch=OPTION) out of the arguments: Some options if --slurm was given.
let parse (args: string list) : Options option * string list =
    let rec go args slurm plan rest =
        match args with
        | "--slurm" :: tail -> go tail true plan rest
        | flag :: value :: tail when List.contains flag valued -> go tail slurm (plan @ [ flag; value ]) rest
        | (a: string) :: tail when a.StartsWith "--sbatch=" -> go tail slurm (plan @ [ a ]) rest
        | a :: tail -> go tail slurm plan (rest @ [ a ])
        | [] -> slurm, plan, rest
    match go args false [] [] with
    | true, plan, rest ->
        let plan = if List.contains "--shards" plan then plan else plan @ [ "--shards"; "100" ]
        Some { PlanArguments = plan }, rest
    | false, [], rest -> None, rest
    | false, plan, _ ->
        eprintfn "build.fsx: %s go with --slurm" (String.concat " " plan)
        exit 2

/// Exit code, stdout and stderr of a SLURM command.
let private capture (program: string) (args: string list) =
    let info = ProcessStartInfo(program, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in args do info.ArgumentList.Add a
    try
        use p = Process.Start info
        let err = p.StandardError.ReadToEndAsync()
        let out = p.StandardOutput.ReadToEnd()
        p.WaitForExit()
        p.ExitCode, out.Trim(), err.Result.Trim()
    with :? Win32Exception ->
        failwithf "%s is not on this machine's PATH: run --slurm on a SLURM cluster's login node" program

let private lines (text: string) = text.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> Array.map (fun l -> l.Trim())

/// Submits the script, unless a job of the same name is queued already (a Reproduce stopped while it waited):
/// two arrays of one sweep would train the same runs in the same folders. The job ids to wait for.
let submit (jobName: string) (script: string) =
    let code, out, err = capture "squeue" [ "-h"; "--name=" + jobName; "-u"; Environment.UserName; "-o"; "%A" ]
    if code <> 0 then failwithf "squeue: %s" err
    match lines out |> Array.distinct |> List.ofArray with
    | [] ->
        let code, out, err = capture "sbatch" [ "--parsable"; script ]
        if code <> 0 then failwithf "sbatch %s: %s" script err
        let job = out.Split(';')[0]
        printfn "submitted %s as SLURM job %s" script job
        [ job ]
    | queued ->
        printfn "%s is queued already (job %s): waiting for it instead of submitting it again" jobName (String.concat ", " queued)
        queued

let private finishedRuns (runs: string) =
    if not (Directory.Exists runs) then 0
    else
        Directory.EnumerateDirectories runs
        |> Seq.filter (fun d -> File.Exists(Path.Combine(d, "run.json")) || File.Exists(Path.Combine(d, "dynamics.json")))
        |> Seq.length

/// Waits until none of the jobs is pending or running; a line whenever the counts change (and every 10 minutes).
/// Polls every 30 s (SKIPRNN_SLURM_POLL seconds).
let wait (jobs: string list) (runs: string) =
    let poll =
        match Int32.TryParse(Environment.GetEnvironmentVariable "SKIPRNN_SLURM_POLL") with
        | true, s when s > 0 -> TimeSpan.FromSeconds(float s)
        | _ -> TimeSpan.FromSeconds 30.0
    let clock = Stopwatch.StartNew()
    let rec loop (last: string) (lastPrinted: TimeSpan) (failures: int) =
        let code, out, err = capture "squeue" [ "-h"; "-r"; "-j"; String.concat "," jobs; "-o"; "%T" ]
        if code <> 0 && err.Contains "Invalid job id" then ()   // gone from the queue: done
        elif code <> 0 then
            // The controller can be briefly unreachable; give up only if it stays so.
            if failures >= 20 then failwithf "squeue keeps failing: %s" err
            Thread.Sleep poll
            loop last lastPrinted (failures + 1)
        else
            let states = lines out
            if states.Length = 0 then ()
            else
                let count state = states |> Array.filter ((=) state) |> Array.length
                let pending = count "PENDING"
                let running = count "RUNNING"
                let line =
                    sprintf "SLURM job %s: %d array tasks pending, %d running%s · %d finished runs in %s"
                        (String.concat "," jobs) pending running
                        (match states.Length - pending - running with 0 -> "" | n -> sprintf ", %d other" n)
                        (finishedRuns runs) runs
                let now = clock.Elapsed
                let printed =
                    if line <> last || now - lastPrinted > TimeSpan.FromMinutes 10.0 then
                        printfn "%s  %s" (DateTime.Now.ToString "HH:mm:ss") line
                        now
                    else lastPrinted
                Thread.Sleep poll
                loop line printed 0
    loop "" TimeSpan.Zero 0
    printfn "SLURM job %s is done after %.0f min" (String.concat "," jobs) clock.Elapsed.TotalMinutes
