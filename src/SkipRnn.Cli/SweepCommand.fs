/// `skiprnn sweep plan|run|merge`: an experiment's runs as a SLURM job array, one shard per array task.
module SkipRnn.Cli.SweepCommand

open System
open System.IO
open System.Diagnostics
open System.Text.RegularExpressions
open System.Threading
open Argu
open SkipRnn.IO
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline
open SkipRnn.Cli.SweepArguments
open SkipRnn.Cli.Output

let private selectionOf (given: string) =
    match Sweep.canonical given with
    | Some s -> s
    | None -> fail "unknown experiment '%s' (known experiments: %s, or all)" given (ExperimentCatalog.names ())

let private writableFolder (folder: string) =
    match Files.ensureWritableFolder folder with
    | Ok full -> full
    | Error message -> fail "%s" message

let private atLeastOne (what: string) (value: int option) =
    match value with
    | Some v when v < 1 -> fail "%s must be at least 1, got %d" what v
    | _ -> value

let private onPath (program: string) =
    (Environment.GetEnvironmentVariable "PATH" |> Option.ofObj |> Option.defaultValue "").Split(Path.PathSeparator)
    |> Array.map (fun dir -> Path.Combine(dir, program))
    |> Array.tryFind File.Exists

/// The command that starts skiprnn on the nodes, by absolute paths.
let private programOf (given: string option) =
    let host = Environment.ProcessPath
    let dotnet () =
        if Path.GetFileNameWithoutExtension host = "dotnet" then host
        else match onPath "dotnet" with Some d -> d | None -> fail "dotnet is not on the PATH, and --skiprnn names a .dll"
    match given with
    | Some path ->
        let full = Path.GetFullPath path
        if not (File.Exists full) then fail "the skiprnn program %s does not exist" path
        if full.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) then [ dotnet (); full ] else [ full ]
    | None ->
        // This very program: `dotnet SkipRnn.Cli.dll`, or a published SkipRnn.Cli. Not the ./skiprnn wrapper by
        // default: it rebuilds when a source is newer, and many array tasks must not build one checkout at once.
        if Path.GetFileNameWithoutExtension host = "dotnet" then [ host; Reflection.Assembly.GetEntryAssembly().Location ]
        else [ host ]

let private plan (args: ParseResults<SweepPlanArgs>) =
    let profile = ExperimentCommand.profileOf (args.TryGetResult SweepPlanArgs.Profile)
    let selection = selectionOf (args.GetResult SweepPlanArgs.Experiment)
    let shards = args.GetResult Shards
    if shards < 1 then fail "the number of shards must be at least 1, got %d" shards
    let cpus = atLeastOne "the CPUs per task" (args.TryGetResult Cpus_Per_Task) |> Option.defaultValue 1
    let gpus = atLeastOne "the GPUs per task" (args.TryGetResult Gpus_Per_Task)
    let maxRunning = atLeastOne "the number of tasks at once" (args.TryGetResult Max_Running)
    let partition = args.TryGetResult Partition
    if partition |> Option.exists (fun p -> not (Regex.IsMatch(p, @"^[A-Za-z0-9_.,-]+$"))) then
        fail "the partition must be a SLURM partition name, got '%s'" partition.Value
    let time = args.TryGetResult Time
    if time |> Option.exists (fun t -> not (Regex.IsMatch(t, @"^(\d+-)?\d+(:\d+){0,2}$"))) then
        fail "the time limit must be in SLURM's format (minutes, HH:MM:SS, D-HH:MM:SS), got '%s'" time.Value
    let extra = args.GetResults Sbatch
    for option in extra do
        if not (option.StartsWith "-") || option.Contains '\n' then fail "--sbatch takes an sbatch option such as --account=lab, got '%s'" option
    let program = programOf (args.TryGetResult Skiprnn)
    let layout = { Root = writableFolder (defaultArg (args.TryGetResult SweepPlanArgs.Out) "results") }
    let jobs = Sweep.jobs (Sweep.experiments selection profile)
    let shards = min shards jobs.Length
    let name = Sweep.name selection profile
    let fingerprint = Sweep.fingerprint jobs
    Directory.CreateDirectory(Sweep.logFolder layout) |> ignore
    Sweep.writeManifest layout
        { Name = name; Selection = selection; Profile = profile.Name; Shards = shards; Runs = jobs.Length; Fingerprint = fingerprint }
    let options: SlurmScript.Options =
        { JobName = "skiprnn-" + name; Shards = shards; MaxRunning = maxRunning; Partition = partition; Time = time
          CpusPerTask = cpus; GpusPerTask = gpus; Extra = extra; LogFolder = Sweep.logFolder layout }
    let runArguments =
        [ selection; "--profile"; profile.Name; "--out"; layout.Root; "--fingerprint"; fingerprint ]
        @ (if gpus.IsSome then [ "--device"; "cuda" ] else [])
    let script = Sweep.scriptFile layout name
    Files.writeAtomically script (SlurmScript.render options program runArguments)
    let perShard = (jobs.Length + shards - 1) / shards
    printfn "sweep %s: %d runs in %d shards (at most %d each) → %s" name jobs.Length shards perShard (Path.Combine(layout.Root, "runs"))
    if shards > 1000 then printfn "note: many clusters allow at most 1,001 array tasks (MaxArraySize); fewer shards may be needed"
    printfn "script: %s" script
    printfn "submit: sbatch %s" (SlurmScript.quote script)
    printfn "then:   skiprnn sweep merge %s" (SlurmScript.quote layout.Root)
    0

let private run (args: ParseResults<SweepRunArgs>) =
    let profile = ExperimentCommand.profileOf (args.TryGetResult SweepRunArgs.Profile)
    let selection = selectionOf (args.GetResult SweepRunArgs.Experiment)
    let shard =
        match Shard.tryParse (args.GetResult SweepRunArgs.Shard) with
        | Ok s -> s
        | Error message -> fail "%s" message
    let workers = atLeastOne "the number of workers" (args.TryGetResult SweepRunArgs.Workers)
    let device = device (args.TryGetResult SweepRunArgs.Device)
    let layout = { Root = writableFolder (args.GetResult SweepRunArgs.Out) }
    let jobs = Sweep.jobs (Sweep.experiments selection profile)
    match args.TryGetResult Fingerprint with
    | Some planned when planned <> Sweep.fingerprint jobs ->
        fail "the experiments of %s at profile %s have changed since the sweep was planned; plan it again" selection profile.Name
    | _ -> ()
    let mine = Shard.select shard jobs
    printfn "shard %s of sweep %s: %d of its %d runs" shard.Label (Sweep.name selection profile) mine.Length jobs.Length
    use cancel = new CancellationTokenSource()
    // SLURM's preemption and the batch script's time-limit warning both end in SIGTERM: stop at the next
    // training step with a checkpoint.
    let stop (context: Runtime.InteropServices.PosixSignalContext) =
        context.Cancel <- true
        cancel.Cancel()
    use _interrupt = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGINT, stop)
    use _terminate = Runtime.InteropServices.PosixSignalRegistration.Create(Runtime.InteropServices.PosixSignal.SIGTERM, stop)
    let mutable failed = 0
    let lastLine = Stopwatch.StartNew()
    let notify event =
        match event with
        | Sweep.Skipped job -> printfn "skipped %s (finished earlier)" job.Key
        | Sweep.Starting (job, fromCheckpoint) ->
            lastLine.Restart()
            printfn "%s %s" (if fromCheckpoint then "resuming" else "training") job.Key
        | Sweep.Progress (job, step, criterion) when lastLine.Elapsed.TotalSeconds > 60.0 ->
            lastLine.Restart()
            printfn "  %s step %d/%d%s" job.Key step job.Config.MaxSteps
                (if Double.IsNaN criterion then "" else sprintf ", criterion %.3f" criterion)
        | Sweep.Progress _ -> ()
        | Sweep.Finished (job, seconds) -> printfn "finished %s in %s" job.Key (duration seconds)
        | Sweep.Failed (job, reason) ->
            failed <- failed + 1
            eprintfn "failed %s: %s" job.Key reason
        | Sweep.Stopped job -> printfn "stopped %s; it resumes from its checkpoint when the shard runs again" job.Key
        | Sweep.Warning (job, message) -> eprintfn "warning: %s: %s" job.Key message
    if not (Sweep.runShard layout mine device workers notify cancel.Token) then
        eprintfn "shard %s interrupted; running it again resumes where it stopped" shard.Label
        130
    elif failed > 0 then
        eprintfn "shard %s: %d of its %d runs failed" shard.Label failed mine.Length
        1
    else
        printfn "shard %s done" shard.Label
        0

let private merge (args: ParseResults<SweepMergeArgs>) =
    let folder = args.GetResult Folder
    let sweep = { Root = folder }
    if not (Directory.Exists sweep.Runs || Directory.Exists(Sweep.sweepsFolder sweep)) then
        fail "%s holds no sweep (neither runs/ nor sweeps/)" folder
    let results = { Root = defaultArg (args.TryGetResult SweepMergeArgs.Results) (defaultResults ()) }
    use store = ExperimentCommand.openStore results
    let summary = Sweep.merge store sweep
    for w in summary.Warnings do eprintfn "warning: %s" w
    printfn "merged %s into %s: %d new, %d already present, %d unfinished"
        folder store.Path summary.New.Length summary.Present summary.Unfinished.Length
    match summary.Unfinished with
    | [] -> ()
    | keys ->
        let shown = keys |> List.truncate 10
        printfn "unfinished: %s%s" (String.concat ", " shown)
            (if keys.Length > shown.Length then sprintf " and %d more" (keys.Length - shown.Length) else "")
    if args.Contains Fail_If_Unfinished && not summary.Unfinished.IsEmpty then 1 else 0

let dispatch (args: ParseResults<SweepArgs>) =
    match args.GetSubCommand() with
    | Plan a -> plan a
    | Run a -> run a
    | Merge a -> merge a
