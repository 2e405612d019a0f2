/// The command line, as Argu unions: the parser, the help text and the error messages all come from these
/// types, so the CLI cannot drift from its documentation.
module SkipRnn.Cli.Arguments

open Argu
open SkipRnn.Cli.ExperimentArguments

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
    | Workers of count: int
    | Config of path: string
    | [<AltCommandLine("-o")>] Out of folder: string
    | Quiet

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Task _ -> "task to train (go, rtgo, dlygo, anti, rtanti, dlyanti, dm1, ctxdm1, multsendm, dlydm1, ctxdlydm1, multsendlydm, dms, dnms, dmc, dnmc; paper names accepted)."
            | Method _ -> "training method: control, cd, sctt or dasc (default control)."
            | Skip _ -> "skip length θ in base steps (SCTT, DASC), or the initial coarsening θ0 (CD). Default 10."
            | Step_Count _ -> "number of annealing steps of θ or β over the first anneal-steps training steps (default 5)."
            | Init_Ratio _ -> "initial mixing ratio β0 in (0, 1] for SCTT and DASC (default 0.5)."
            | Networks _ -> "number of networks trained side by side (default 100)."
            | Seed _ -> "seed of weights, trials and noise (default 1)."
            | Units _ -> "units per network N (default 50)."
            | Activation _ -> "relu, tanh or softplus (default relu)."
            | Dale -> "constrain the recurrent weights by Dale's law."
            | Noise _ -> "scale of the recurrent noise (default 0.1; 0 switches it off)."
            | Trials _ -> "trials per training batch (default 20)."
            | Eval_Trials _ -> "trials per evaluation (default 200)."
            | Eval_Every _ -> "evaluate every this many training steps (default 10)."
            | Max_Steps _ -> "training step limit (default 40000)."
            | Anneal_Steps _ -> "training steps over which θ or β are annealed (default 20000)."
            | Hold -> "keep θ0 or β0 constant over the annealing steps instead of annealing them."
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
            | Workers _ -> "worker threads (default: all cores)."
            | Config _ -> "read the configuration from a JSON file (the keys of config.json); options given here override it."
            | Out _ -> "folder for the run (config, checkpoint, weights, evaluations, record). Required."
            | Quiet -> "no progress line."

type EvalArgs =
    | [<Mandatory; AltCommandLine("-w")>] Weights of folder: string
    | Trials of count: int
    | Seed of seed: int
    | Workers of count: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Weights _ -> "folder of a finished run (config.json and weights.npz)."
            | Trials _ -> "evaluation trials (default: the run's)."
            | Seed _ -> "seed of the fresh trials and noise (default: the run's seed + 1000)."
            | Workers _ -> "worker threads (default: all cores)."

type TasksArgs =
    | [<Hidden>] Dummy
    interface IArgParserTemplate with
        member _.Usage = ""

[<RequireSubcommand>]
type SkipRnnArgs =
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Tasks of ParseResults<TasksArgs>
    | [<CliPrefix(CliPrefix.None)>] Experiment of ParseResults<ExperimentArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Train _ -> "train networks on a task with a method until the criterion or the step limit."
            | Eval _ -> "evaluate the trained networks of a run on fresh trials with the true dynamics."
            | Tasks _ -> "list the tasks."
            | Experiment _ -> "list or run the paper's experiments into the results store."
            | Report _ -> "write the HTML report of the results store."
