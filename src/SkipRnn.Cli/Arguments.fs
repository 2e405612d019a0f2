/// The command line, as Argu unions: the parser, the help text and the error messages all come from these
/// types, so the CLI cannot drift from its documentation.
module SkipRnn.Cli.Arguments

open Argu
open SkipRnn.Cli.ExperimentArguments
open SkipRnn.Cli.SweepArguments

let private deviceUsage = "cpu (default), cuda (an NVIDIA GPU, through ILGPU) or auto (cuda when a GPU is present, else cpu)."

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
            | Task _ -> "task to train (go, rtgo, dlygo, anti, rtanti, dlyanti, dm1, ctxdm1, multsendm, dlydm1, ctxdlydm1, multsendlydm, dms, dnms, dmc, dnmc, rulereversal; the authors' versions dnms-authors, dmc-authors, dnmc-authors; paper names accepted)."
            | Method _ -> sprintf "training method: %s (default control)." (SkipRnn.Training.Method.choices ())
            | Skip _ -> "skip length θ in base steps (the skip methods), or the initial coarsening θ0 (CD). Default 10."
            | Step_Count _ -> "number of annealing steps of θ or β over the first anneal-steps training steps (default 5)."
            | Init_Ratio _ -> "initial mixing ratio β0 in (0, 1] for SCTT and DASC (default 0.5)."
            | Networks _ -> "number of networks trained side by side (default 100)."
            | Seed _ -> "seed of weights, trials and noise (default 1)."
            | Units _ -> "units per network N (default 50)."
            | Activation _ -> "relu, tanh or softplus (default relu)."
            | Dale -> "constrain the recurrent weights by Dale's law."
            | Noise _ -> "scale of the recurrent noise (default 0.1; 0 switches it off)."
            | Trials _ -> "trials per training batch (default 20; 40 sequences for rulereversal)."
            | Eval_Trials _ -> "trials per evaluation (default 200)."
            | Eval_Every _ -> "evaluate every this many training steps (default 10)."
            | Max_Steps _ -> "training step limit (default 40000)."
            | Anneal_Steps _ -> "training steps over which θ or β are annealed (default 20000)."
            | Hold -> "keep θ0 or β0 constant over the annealing steps instead of annealing them."
            | Strategic_Ratio _ -> "add strategic skip connections from the start to the end of each trial of a multi-trial task (rulereversal), initial ratio β'0 in (0, 1], annealed like β."
            | No_Early_Stop -> "train for --max-steps even after the criterion is reached."
            | Freeze_Diverged -> "freeze a network whose activity passes the divergence threshold (|r| > 10^6) or whose loss or gradient is not finite; by default, as the authors, Adam goes on and a non-finite update makes the network's parameters NaN."
            | Keep_Optimizer -> "CD: keep one Adam state for the whole run; by default, as the authors, a fresh one at every change of θ."
            | Criterion _ -> "target of the 10th-90th percentile mean performance (default 0.99)."
            | Learning_Rate _ -> "Adam learning rate (default 0.1/N)."
            | Dt _ -> "base time step in seconds (default 0.005)."
            | Burn_In _ -> "burn-in in seconds (default 1.0)."
            | Fixation _ -> "fixation period in seconds (default 0.5)."
            | Stimulus _ -> "stimulus period(s) in seconds (default 0.5)."
            | Delay _ -> "delay period in seconds (default 1.0)."
            | Response _ -> "response period in seconds (default 0.5)."
            | Jitter _ -> "training jitter half-width in seconds (default 0.1)."
            | Grace _ -> "time after burn-in and into the response before the loss applies, seconds (default 0.2)."
            | Feedback _ -> "rule reversal: feedback period in seconds (default 0.5)."
            | Wait _ -> "rule reversal: wait period in seconds (default 0.5)."
            | Choice_Grace _ -> "rule reversal: time into each response period before the loss applies, seconds (default 0.1)."
            | Workers _ -> "worker threads (default: all cores)."
            | Device _ -> deviceUsage
            | Config _ -> "read the configuration from a JSON file (the keys of config.json); options given here override it."
            | Out _ -> "folder for the run (config, checkpoint, weights, evaluations, record). Required."
            | Quiet -> "no progress line."

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
            | Beta _ -> "β of SCTT or DASC (default 0.5)."
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
