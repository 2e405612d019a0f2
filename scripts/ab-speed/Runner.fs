/// Two builds of SkipRnn in one process, each in a load context of its own, timed in alternation: round by round,
/// a few calls of A then B (or B then A), so that the shared machine's slow drifts fall on both alike. Per round
/// the best call of each is kept; prints, per workload, the median over the rounds of the ratio B/A of those, and
/// the medians of A's and B's times (ms).
///   Runner PROBE_DIR_A PROBE_DIR_B ROUNDS
open System
open System.Diagnostics
open System.Reflection
open System.Runtime.Loader

type ProbeContext(dir: string) =
    inherit AssemblyLoadContext(dir, false)
    let resolver = AssemblyDependencyResolver(IO.Path.Combine(dir, "Probe.dll"))
    override this.Load(name) =
        match resolver.ResolveAssemblyToPath name with
        | null -> null
        | path -> this.LoadFromAssemblyPath path

let workloads = [| "Control", 10; "Dasc40", 10; "Evaluation", 2 |]

[<EntryPoint>]
let main argv =
    if argv.Length <> 3 then
        eprintfn "usage: Runner PROBE_DIR_A PROBE_DIR_B ROUNDS"
        2
    else
    let rounds = int argv[2]
    let probes =
        [| argv[0]; argv[1] |] |> Array.map (fun dir ->
            let probe = ProbeContext(dir).LoadFromAssemblyPath(IO.Path.Combine(dir, "Probe.dll")).GetType("AbSpeed.Probe", true)
            workloads |> Array.map (fun (name, _) -> probe.GetMethod(name, BindingFlags.Public ||| BindingFlags.Static)))
    let call (m: MethodInfo) =
        let started = Stopwatch.GetTimestamp()
        m.Invoke(null, [||]) |> ignore
        Stopwatch.GetElapsedTime(started).TotalMilliseconds
    // Warm-up: the runtime recompiles hot code, optimized, after its first calls.
    for build in probes do
        for w in 0 .. workloads.Length - 1 do
            for _ in 1 .. 4 * snd workloads[w] do call build.[w] |> ignore
    for w in 0 .. workloads.Length - 1 do
        let name, calls = workloads[w]
        let best = Array.init 2 (fun _ -> Array.zeroCreate<float> rounds)
        for r in 0 .. rounds - 1 do
            for build in (if r % 2 = 0 then [ 0; 1 ] else [ 1; 0 ]) do
                best[build][r] <- Seq.min [ for _ in 1 .. calls -> call probes.[build].[w] ]
        let ratios = Array.init rounds (fun r -> best[1][r] / best[0][r]) |> Array.sort
        let median (xs: float[]) = (Array.sort xs)[xs.Length / 2]
        printfn "%s %.4f %.3f %.3f" name ratios[rounds / 2] (median best[0]) (median best[1])
    0
