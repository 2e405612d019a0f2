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
    let layout = { Root = defaultArg (args.TryGetResult ReportArgs.Results) (defaultResults ()) }
    let paperFolder = args.TryGetResult Paper_Values |> Option.defaultValue (Path.Combine(AppContext.BaseDirectory, "paper"))
    if not (Directory.Exists paperFolder) then fail "the folder of the paper's values %s does not exist" paperFolder
    // A report reads a store; it never makes an empty one where a folder name was mistyped.
    if not (File.Exists layout.Store) then
        fail "no results store at %s: run an experiment into it first (skiprnn experiment run …), or give the right --results" layout.Store
    use store = ExperimentCommand.openStore layout
    store.ReplacePaperValues(PaperValues.load paperFolder)
    let path, claims, figures = ReportBuilder.write store profile layout.Report
    store.ExportCsv layout.Csv
    SkipRnn.IO.Files.writeAtomically layout.Claims (SkipRnn.Results.Claims.PaperClaims.csv claims)
    for f in figures do
        printfn "%-14s %s" f.Id (if f.Points = 0 then "no data yet" else sprintf "%d data points" f.Points)
    printfn ""
    for c in claims do
        printfn "%-3s %-26s %s" c.Id c.Verdict.Text c.Source
    printfn "%s (%s)" (SkipRnn.Results.Claims.PaperClaims.summary claims) layout.Claims
    printfn "report written to %s (tables as CSV in %s)" path layout.Csv
    0
