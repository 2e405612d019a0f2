/// The command-line arguments of `skiprnn sweep plan|run|merge` (Argu unions, as in Arguments.fs).
module SkipRnn.Cli.SweepArguments

open Argu

type SweepPlanArgs =
    | [<MainCommand; Mandatory>] Experiment of name: string
    | [<Mandatory; AltCommandLine("-k")>] Shards of count: int
    | [<AltCommandLine("-p")>] Profile of name: string
    | [<AltCommandLine("-o")>] Out of folder: string
    | Partition of name: string
    | Time of limit: string
    | Cpus_Per_Task of count: int
    | Gpus_Per_Task of count: int
    | Max_Running of count: int
    | [<EqualsAssignment>] Sbatch of option: string
    | Skiprnn of program: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Experiment _ -> "experiment to run (see skiprnn experiment list), or all (one array for every experiment; shared runs once)."
            | Shards _ -> "number of shards K: the array's tasks, 0 to K-1 (at most one per run)."
            | Profile _ -> "scale: " + SkipRnn.Experiments.Profiles.choices () + "."
            | Out _ -> "folder on a file system the nodes share, where each run gets its folder under runs/ and the script, plan and logs go under sweeps/ (default: results, the results folder)."
            | Partition _ -> "SLURM partition (default: the cluster's)."
            | Time _ -> "time limit per array task, in SLURM's format (120, 2:00:00, 1-12). A task near it checkpoints and requeues itself."
            | Cpus_Per_Task _ -> "CPUs per array task, also its worker threads (default 1)."
            | Gpus_Per_Task _ -> "GPUs per array task (--gres=gpu:N); the runs then train on the GPU."
            | Max_Running _ -> "at most this many array tasks at once."
            | Sbatch _ -> "a further sbatch option, written as an #SBATCH line (repeatable): --sbatch=--account=lab --sbatch=--mem=8G."
            | Skiprnn _ -> "the skiprnn program the nodes run (default: this one, by absolute path): SkipRnn.Cli.dll, a published SkipRnn.Cli or the ./skiprnn wrapper."

type SweepRunArgs =
    | [<MainCommand; Mandatory>] Experiment of name: string
    | [<Mandatory>] Shard of shard: string
    | [<Mandatory; AltCommandLine("-o")>] Out of folder: string
    | [<AltCommandLine("-p")>] Profile of name: string
    | Workers of count: int
    | Device of name: string
    | Fingerprint of hash: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Experiment _ -> "experiment of the sweep, or all."
            | Shard _ -> "which shard to run, i/K with 0 ≤ i < K: job n of the sweep belongs to shard n mod K."
            | Out _ -> "the sweep's folder: each job runs in runs/<job key>/ under it."
            | Profile _ -> "scale: " + SkipRnn.Experiments.Profiles.choices () + "."
            | Workers _ -> "worker threads (default: all cores)."
            | Device _ -> "cpu (default), cuda or auto."
            | Fingerprint _ -> "the plan's fingerprint of its jobs: refuse to run if the experiments' definitions have changed since."

type SweepMergeArgs =
    | [<MainCommand; Mandatory>] Folder of folder: string
    | [<AltCommandLine("-r")>] Results of folder: string
    | Fail_If_Unfinished

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Folder _ -> "the sweep's folder (sweep plan --out)."
            | Results _ -> "results folder whose store (skiprnn.duckdb) receives the runs (default: SKIPRNN_RESULTS, or results)."
            | Fail_If_Unfinished -> "exit with code 1 if any planned run is unfinished."

type SweepArgs =
    | [<CliPrefix(CliPrefix.None)>] Plan of ParseResults<SweepPlanArgs>
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<SweepRunArgs>
    | [<CliPrefix(CliPrefix.None)>] Merge of ParseResults<SweepMergeArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Plan _ -> "split an experiment's runs into K shards and write a SLURM job-array script that runs them."
            | Run _ -> "run one shard's jobs (what each array task does); finished jobs are skipped, an interrupted one resumes."
            | Merge _ -> "ingest the finished runs of a sweep's folder into the results store."
