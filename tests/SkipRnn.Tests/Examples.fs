/// The C# examples built against the packed packages, as a user's program is: `dotnet pack` of the packable
/// projects into artifacts/packages (from the outputs this suite's build made), then `dotnet build` of each example, whose
/// nuget.config takes SkipRnn from that folder. Done once per run of the suite, by the first test that needs it.
module SkipRnn.Tests.Examples

open System
open System.IO
open System.Diagnostics
open Expecto

/// The clone's root: the folder above the tests that holds SkipRnn.sln.
let repositoryRoot =
    lazy (
        let rec up (dir: DirectoryInfo) =
            if isNull dir then failwith "SkipRnn.sln not found above the tests"
            elif File.Exists(Path.Combine(dir.FullName, "SkipRnn.sln")) then dir.FullName
            else up dir.Parent
        up (DirectoryInfo AppContext.BaseDirectory))

/// The configuration the suite was built in (bin/<configuration>/net10.0/), used to pack and to build the examples.
let configuration = DirectoryInfo(AppContext.BaseDirectory).Parent.Name

/// Runs dotnet with these arguments; exit code, stdout and stderr.
let dotnet (args: string list) =
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
                                WorkingDirectory = repositoryRoot.Value)
    for a in args do info.ArgumentList.Add a
    use p = Process.Start info
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Result, err

let private succeed (what: string) (args: string list) =
    let clock = Stopwatch.StartNew()
    let code, out, err = dotnet args
    if code <> 0 then failtestf "%s failed (exit code %d):\n%s\n%s" what code out err
    eprintfn "  examples: %s in %.1f s" what clock.Elapsed.TotalSeconds

let names = [ "CSharpActivity"; "CSharpTraining" ]

/// Packs SkipRnn (with SkipRnn.Results and SkipRnn.Experiments) and builds both examples against the package.
let private built =
    lazy (
        let root = repositoryRoot.Value
        let packages = Path.Combine(root, "artifacts", "packages")
        // Project by project: packing the solution would also evaluate projects this suite's build did not
        // restore (the benchmarks).
        for project in [ "src/SkipRnn/SkipRnn.fsproj"; "src/SkipRnn.Results/SkipRnn.Results.fsproj"; "experiments/SkipRnn.Experiments.fsproj" ] do
            succeed ("dotnet pack " + project)
                [ "pack"; project; "-c"; configuration; "--no-build"; "-o"; packages; "--disable-build-servers"; "-v"; "quiet"; "-nologo" ]
        // The examples restore into artifacts/nuget-packages (examples/nuget.config): drop the copy of the package
        // made by an earlier run, or a rebuilt library would be tested from its old package of the same version.
        let cache = Path.Combine(root, "artifacts", "nuget-packages")
        if Directory.Exists cache then
            for d in Directory.GetDirectories(cache, "skiprnn*") do Directory.Delete(d, true)
        for name in names do
            succeed ("dotnet build examples/" + name)
                [ "build"; Path.Combine("examples", name); "-c"; configuration; "--disable-build-servers"; "-v"; "quiet"; "-nologo" ])

/// The folder the packages are packed into (after the examples are built).
let packages () =
    built.Force()
    Path.Combine(repositoryRoot.Value, "artifacts", "packages")

/// The example's program, built against the package.
let program (name: string) =
    built.Force()
    Path.Combine(repositoryRoot.Value, "examples", name, "bin", configuration, "net10.0", name + ".dll")

/// Runs an example (built against the package first); exit code, stdout and stderr.
let run (name: string) (args: string list) =
    let dll = program name
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    info.ArgumentList.Add dll
    for a in args do info.ArgumentList.Add a
    use p = Process.Start info
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Result, err
