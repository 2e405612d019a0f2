/// `skiprnn report`: results/report/index.html and the CSV tables, from the results store alone.
module SkipRnn.Cli.ReportCommand

open System
open System.IO
open Argu
open SkipRnn.Results
open SkipRnn.Results.Report
open SkipRnn.Experiments.Pipeline
open SkipRnn.Cli.ExperimentArguments
open SkipRnn.Cli.Output

let run (args: ParseResults<ReportArgs>) =
    let profile = (ExperimentCommand.profileOf (args.TryGetResult ReportArgs.Profile)).Name
    let layout = { Root = defaultArg (args.TryGetResult ReportArgs.Results) "results" }
    let paperFolder = args.TryGetResult Paper_Values |> Option.defaultValue (Path.Combine(AppContext.BaseDirectory, "paper"))
    if not (Directory.Exists paperFolder) then fail "the folder of the paper's values %s does not exist" paperFolder
    use store = ExperimentCommand.openStore layout
    store.ReplacePaperValues(PaperValues.load paperFolder)
    let path, figures = ReportBuilder.write store profile layout.Report
    store.ExportCsv layout.Csv
    for f in figures do
        printfn "%-14s %s" f.Id (if f.Points = 0 then "no data yet" else sprintf "%d data points" f.Points)
    printfn "report written to %s (tables as CSV in %s)" path layout.Csv
    0
