/// The command line, as Argu unions: the parser, the help text and the error messages all come from these
/// types, so the CLI cannot drift from its documentation.
module SkipRnn.Cli.Arguments

open Argu
open SkipRnn.Cli.ExperimentArguments
open SkipRnn.Cli.SweepArguments

let private deviceUsage = "cpu (default), cuda (an NVIDIA GPU, through ILGPU) or auto (cuda when a GPU is present, else cpu)."

/// The options of `skiprnn train`: every configuration key of ConfigSchema (whose help texts they show), and
/// the few that are not part of a run's configuration.
type TrainArgs =
    | [<AltCommandLine("-t")>] Task of name: string
    | [<AltCommandLine("-m")>] Method of name: string
    | Skip of theta: float
    | Step_Count of count: int
    | Init_Ratio of beta0: float
    | [<AltCommandLine("-n")>] Networks of count: int
    | Seed of seed: int
    | Units of count: int
    | Activation of name: string
    | Dale
    | Noise of sigma: float
    | Trials of count: int
    | Eval_Trials of count: int
    | Eval_Every of steps: int
    | Max_Steps of steps: int
    | Anneal_Steps of steps: int
    | Hold
    | Strategic_Ratio of beta0: float
    | No_Early_Stop
    | Freeze_Diverged
    | Keep_Optimizer
    | Criterion of performance: float
    | Learning_Rate of rate: float
    | Divergence_Threshold of activity: float
    | Dt of seconds: float
    | Burn_In of seconds: float
    | Fixation of seconds: float
    | Stimulus of seconds: float
    | Delay of seconds: float
    | Response of seconds: float
    | Jitter of seconds: float
    | Grace of seconds: float
    | Feedback of seconds: float
    | Wait of seconds: float
    | Choice_Grace of seconds: float
    | Workers of count: int
    | Device of name: string
    | Config of path: string
    | [<AltCommandLine("-o")>] Out of folder: string
    | Quiet

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Workers _ -> "worker threads (default: all cores)."
            | Device _ -> deviceUsage
            | Config _ -> "read the configuration from a JSON file (the keys of config.json); options given here override it."
            | Out _ -> "folder for the run (config, checkpoint, weights, evaluations, record). Required."
            | Quiet -> "no progress line."
            | setting -> SkipRnn.IO.ConfigSchema.help (TrainArgs.OptionOf setting)

    /// The option name of a case (Eval_Trials → eval-trials), as Argu spells it.
    static member OptionOf(a: TrainArgs) =
        let case, _ = Microsoft.FSharp.Reflection.FSharpValue.GetUnionFields(a, typeof<TrainArgs>)
        case.Name.ToLowerInvariant().Replace('_', '-')

type EvalArgs =
    | [<Mandatory; AltCommandLine("-w")>] Weights of folder: string
    | Trials of count: int
    | Seed of seed: int
    | Workers of count: int
    | Device of name: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Weights _ -> "folder of a finished run (config.json and weights.npz)."
            | Trials _ -> "evaluation trials (default: the run's)."
            | Seed _ -> "seed of the fresh trials and noise (default: the run's seed + 1000)."
            | Workers _ -> "worker threads (default: all cores)."
            | Device _ -> deviceUsage

type BenchArgs =
    | [<AltCommandLine("-n")>] Networks of count: int
    | Trials of count: int
    | Task of name: string
    | Repeats of count: int
    | Quick
    | Device of name: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Networks _ -> "networks M (default 100, SPEC's configuration)."
            | Trials _ -> "trials per batch (default 20)."
            | Task _ -> "task (default dmc, a structure-C task: 800 steps with the burn-in)."
            | Repeats _ -> "timed repetitions per measurement; the median is reported (default 5)."
            | Quick -> "only the methods and the evaluation; skip the scaling in T and M."
            | Device _ -> "cpu (default) or cuda: with cuda, seconds per training step at M = --networks, 1000 and 10000, GFLOP/s and the share of the GPU's peak."

type ActivityArgs =
    | [<Mandatory; AltCommandLine("-w")>] Weights of folder: string
    | Network of index: int
    | Task of name: string
    | Trials of count: int
    | Seed of seed: int
    | Method of name: string
    | Skip of theta: float
    | Beta of ratio: float
    | Strategic_Ratio of ratio: float
    | [<Mandatory; AltCommandLine("-o")>] Out of file: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Weights _ -> "folder of a finished run (config.json and weights.npz)."
            | Network _ -> "which of the run's networks (default 0)."
            | Task _ -> "task to run (default: the run's own; it must have the same inputs and outputs)."
            | Trials _ -> "evaluation trials (default 20)."
            | Seed _ -> "seed of the trials and noise (default 1)."
            | Method _ -> sprintf "dynamics: %s (control, the true dynamics, is the default)." (SkipRnn.Training.Method.choices ())
            | Skip _ -> "θ of the modified dynamics (default 10)."
            | Beta _ -> "β of the skip methods (default 0.5)."
            | Strategic_Ratio _ -> "add strategic skips with this β' (multi-trial tasks)."
            | Out _ -> "the .npz file to write; in Python: numpy.load(path)."

type TasksArgs =
    | [<Hidden>] Dummy
    interface IArgParserTemplate with
        member _.Usage = ""

[<RequireSubcommand>]
type SkipRnnArgs =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Tasks of ParseResults<TasksArgs>
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None)>] Activity of ParseResults<ActivityArgs>
    | [<CliPrefix(CliPrefix.None)>] Experiment of ParseResults<ExperimentArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>
    | [<CliPrefix(CliPrefix.None)>] Sweep of ParseResults<SweepArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Train _ -> "train networks on a task with a method until the criterion or the step limit."
            | Eval _ -> "evaluate the trained networks of a run on fresh trials with the true dynamics."
            | Tasks _ -> "list the tasks."
            | Bench _ -> "time training steps against this machine's FMA peak."
            | Activity _ -> "run trials through a trained network and write everything to replay them (.npz)."
            | Experiment _ -> "list or run the paper's experiments into the results store."
            | Report _ -> "write the HTML report of the results store."
            | Sweep _ -> "run an experiment on a SLURM cluster as a job array: plan, run one shard, merge."
