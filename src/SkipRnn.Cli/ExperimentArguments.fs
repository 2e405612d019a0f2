/// The command-line arguments of `skiprnn experiment` and `skiprnn report` (Argu unions, as in Arguments.fs).
module SkipRnn.Cli.ExperimentArguments

open Argu

type ExperimentListArgs =
    | [<AltCommandLine("-p")>] Profile of name: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Profile _ -> "profile whose sizes to show: " + SkipRnn.Experiments.Profiles.choices () + "."

type ExperimentRunArgs =
    | [<MainCommand; Mandatory>] Names of experiment: string list
    | [<AltCommandLine("-p")>] Profile of name: string
    | [<AltCommandLine("-r")>] Results of folder: string
    | Pipeline of experiments: string
    | Workers of count: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Names _ -> "experiments to run (see skiprnn experiment list), or all."
            | Profile _ -> "scale: " + SkipRnn.Experiments.Profiles.choices () + "."
            | Results _ -> "results folder holding the store (skiprnn.duckdb) and the job folders (default: SKIPRNN_RESULTS, or results)."
            | Pipeline _ -> "comma-separated experiments of the whole pipeline, for progress and time left across stages."
            | Workers _ -> "worker threads (default: all cores)."

type ExperimentArgs =
    | [<CliPrefix(CliPrefix.None)>] List of ParseResults<ExperimentListArgs>
    | [<CliPrefix(CliPrefix.None)>] Run of ParseResults<ExperimentRunArgs>

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | List _ -> "list the experiments of the paper and their sizes at a profile."
            | Run _ -> "run the jobs of experiments that the results store lacks, storing each as it finishes."

type ReportArgs =
    | [<AltCommandLine("-p")>] Profile of name: string
    | [<AltCommandLine("-r")>] Results of folder: string
    | Paper_Values of folder: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Profile _ -> "profile to report on: " + SkipRnn.Experiments.Profiles.choices () + "."
            | Results _ -> "results folder (default: SKIPRNN_RESULTS, or results); the report goes to its report/index.html, the tables to csv/."
            | Paper_Values _ -> "folder of the paper's tables as CSV (default: the copy next to the program)."
