// The build and the paper's experiments as FAKE targets, run by `dotnet fsi`:
//
//   dotnet fsi build.fsx -t Reproduce                      every experiment at the quick profile (under 45 minutes on
//                                                          2 cores), then the report, which opens with the claims table
//   dotnet fsi build.fsx -t Reproduce -- --profile night   one night (under 8 hours); --profile paper: the paper's scale
//                                                          (or SKIPRNN_PROFILE=night, …)
//   dotnet fsi build.fsx -t Table1                         one stage; it runs only what the results store lacks
//   dotnet fsi build.fsx -t Report                         results/report/index.html from the store
//   dotnet fsi build.fsx -t Test                           the test suite
//   dotnet fsi build.fsx -t Reproduce --slurm --shards 64  on a SLURM cluster: one job array, merged, then the report
//
// Results go to results/ (or SKIPRNN_RESULTS): the store skiprnn.duckdb, one folder per run under runs/,
// the report under report/, the claims' verdicts in claims.csv, the tables as CSV under csv/. Stop with Ctrl-C at any time; the same command
// goes on from where it stopped.

#r "nuget: Fake.Core.Target, 5.20.3"
#r "nuget: Fake.DotNet.Cli, 5.20.3"
#r "nuget: Fake.IO.FileSystem, 5.20.3"
// FAKE 5.20.3's dependencies ask for lower bounds (Microsoft.Build 16.4.0, NuGet.Protocol 5.6.0, ...) that the
// package feed does not carry, so NuGet picks the next version up and prints an NU1603 warning for each, twice,
// on the first restore. Naming those next versions here, exactly, resolves the same packages without the warnings.
#r "nuget: Microsoft.Build, 16.6.0"
#r "nuget: Microsoft.Build.Framework, 16.6.0"
#r "nuget: Microsoft.Build.Tasks.Core, 16.6.0"
#r "nuget: Microsoft.Build.Utilities.Core, 16.6.0"
#r "nuget: NuGet.Frameworks, 5.11.0"
#r "nuget: NuGet.Protocol, 5.7.0"
#r "nuget: System.CodeDom, 4.5.0"
#r "nuget: System.Reactive, 5.0.0"
#r "nuget: System.Resources.Extensions, 7.0.0"
#r "nuget: System.Security.Cryptography.Pkcs, 7.0.0"
#r "nuget: System.Security.Cryptography.ProtectedData, 4.4.0"
#load "scripts/Slurm.fsx"

open System
open System.IO
open Fake.Core
open Fake.Core.TargetOperators
open Fake.DotNet

// `--profile NAME` may come before or after FAKE's `--`; what remains is FAKE's (-t TARGET).
let rec private split (args: string list) (profile: string option) (rest: string list) =
    match args with
    | "--profile" :: name :: tail -> split tail (Some name) rest
    | "--" :: tail -> split tail profile rest
    | a :: tail -> split tail profile (rest @ [ a ])
    | [] -> profile, rest

let private givenProfile, buildArguments = split (fsi.CommandLineArgs |> Array.skip 1 |> List.ofArray) None []
let private slurm, fakeArguments = Slurm.parse buildArguments

let profile =
    givenProfile
    |> Option.orElse (Environment.GetEnvironmentVariable "SKIPRNN_PROFILE" |> Option.ofObj |> Option.filter (String.IsNullOrWhiteSpace >> not))
    |> Option.defaultValue "quick"

if not (List.contains profile [ "quick"; "night"; "paper"; "tiny" ]) then
    eprintfn "build.fsx: unknown profile '%s' (choose quick, night, paper or tiny)" profile
    exit 2

let root = __SOURCE_DIRECTORY__
let results =
    Environment.GetEnvironmentVariable "SKIPRNN_RESULTS" |> Option.ofObj |> Option.defaultValue (Path.Combine(root, "results"))

Context.setExecutionContext (Context.RuntimeContext.Fake(Context.FakeExecutionContext.Create false "build.fsx" fakeArguments))

/// The pipeline's stages: FAKE target → experiment name (skiprnn experiment list).
let stages = [ "Figure1", "figure1"; "Table1", "table1"; "Figure3", "figure3"; "AppendixE", "appendixE"; "Grid", "grid"; "Table2", "table2" ]

let private cli = Path.Combine(root, "src", "SkipRnn.Cli", "bin", "Release", "net10.0", "SkipRnn.Cli.dll")

let private skiprnn (arguments: string list) =
    let code =
        CreateProcess.fromRawCommand "dotnet" (cli :: arguments)
        |> CreateProcess.withWorkingDirectory root
        |> Proc.run
        |> fun r -> r.ExitCode
    // skiprnn has said what went wrong (or, after Ctrl-C or SIGTERM, that the same command resumes): one line
    // more, and its exit code, rather than FAKE's stack trace of a failed target.
    if code <> 0 then
        eprintfn "build.fsx: stopped at %s (skiprnn exited with %d)" (String.concat " " (List.truncate 3 arguments)) code
        exit code

// `dotnet build` directly: FAKE 5's DotNet.build reads MSBuild's binary log, whose newer format it cannot parse.
Target.create "Build" (fun _ ->
    let r = DotNet.exec (fun o -> { o with WorkingDirectory = root }) "build" "SkipRnn.sln -c Release -v quiet -nologo"
    if not r.OK then failwith "the build failed")

Target.create "Test" (fun _ ->
    let r = DotNet.exec (fun o -> { o with WorkingDirectory = root }) "run" "--project tests/SkipRnn.Tests -c Release --no-build"
    if not r.OK then failwith "the test suite failed")

for target, experiment in stages do
    Target.create target (fun _ ->
        Trace.tracefn "%s at profile %s → %s" experiment profile results
        skiprnn [ "experiment"; "run"; experiment; "--profile"; profile; "--results"; results
                  "--pipeline"; stages |> List.map snd |> String.concat "," ])

// With --slurm, Reproduce runs every stage's runs as one SLURM job array (shared runs once) instead of here.
Target.create "Sweep" (fun _ ->
    match slurm with
    | None -> Trace.tracefn "Sweep runs with --slurm only"
    | Some options ->
        let name = "all-" + profile
        skiprnn ([ "sweep"; "plan"; "all"; "--profile"; profile; "--out"; results ] @ options.PlanArguments)
        let jobs = Slurm.submit ("skiprnn-" + name) (Path.Combine(results, "sweeps", name + ".sbatch"))
        Slurm.wait jobs (Path.Combine(results, "runs"))
        skiprnn [ "sweep"; "merge"; results; "--results"; results; "--fail-if-unfinished" ])

Target.create "Report" (fun _ -> skiprnn [ "report"; "--profile"; profile; "--results"; results ])

Target.create "Reproduce" (fun _ ->
    Trace.tracefn "Profile %s: report at %s" profile (Path.Combine(results, "report", "index.html")))

"Build" ==> "Test"
for target, _ in stages do
    "Build" ==> target |> ignore
    if slurm.IsNone then target ==> "Reproduce" |> ignore
if slurm.IsSome then "Build" ==> "Sweep" ==> "Reproduce" |> ignore
"Sweep" ?=> "Report"
"Build" ==> "Report" ==> "Reproduce"
// Stages run in the paper's order and before the report when several are asked for.
"Figure1" ?=> "Table1" ?=> "Figure3" ?=> "AppendixE" ?=> "Grid" ?=> "Table2" ?=> "Report"

Target.runOrDefaultWithArguments "Reproduce"
