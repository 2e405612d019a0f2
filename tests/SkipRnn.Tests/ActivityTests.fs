/// Activity export: the file holds everything needed to replay the trials elsewhere.
module SkipRnn.Tests.ActivityTests

open System
open System.IO
open Expecto
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Analysis

/// Recomputes every state from the file alone — parameters, inputs as applied, noise, skip plan — in double
/// precision, as a user would in Python, and returns the largest deviation from the stored states.
let replay (d: Map<string, NdArray>) =
    let shape name = d[name].Shape
    let f64 name = d[name].AsFloat64
    let i32 name = d[name].AsInt32
    let text name = match d[name] with TextArray (_, t) -> t[0] | _ -> failwith name
    let states = f64 "states"
    let k, stepsPlusOne, n = (shape "states")[0], (shape "states")[1], (shape "states")[2]
    let steps = stepsPlusOne - 1
    let inputs = f64 "inputs"
    let i = (shape "inputs")[2]
    let noise = f64 "noise"
    let wIn, wRec, b, alpha = f64 "W_in", f64 "W_rec", f64 "b", f64 "alpha"
    let nIn = (i32 "input_units")[0]
    let sigma = (f64 "noise_scale")[0]
    let f x =
        match text "activation" with
        | "relu" -> max x 0.0
        | "tanh" -> tanh x
        | _ -> if x > 30.0 then x else log (1.0 + exp x)
    let skipStart, skipEnd, skipLevel = i32 "skip_start", i32 "skip_end", i32 "skip_level"
    let skipBeta = f64 "skip_beta"
    let anchorStep, anchorAfterMixes, anchorIncrement = i32 "skip_anchor_step", i32 "skip_anchor_after_mixes", f64 "skip_anchor_increment"
    let mutable worst = 0.0
    for trial in 0 .. k - 1 do
        let state t = Array.init n (fun u -> states[(trial * stepsPlusOne + t) * n + u])
        let mutable r = state 0
        let anchors = Collections.Generic.Dictionary<int, float[]>()
        for t in 0 .. steps - 1 do
            let x = Array.init i (fun q -> inputs[(trial * steps + t) * i + q])
            let eta u = noise[(trial * steps + t) * n + u]
            let delta =
                Array.init n (fun u ->
                    let mutable p = b[u] + sigma * eta u
                    for v in 0 .. n - 1 do p <- p + wRec[u * n + v] * r[v]
                    if u < nIn then
                        for q in 0 .. i - 1 do p <- p + wIn[u * i + q] * x[q]
                    alpha[u] * (-r[u] + f p))
            let anchorsAt afterMixes (from: float[]) =
                for s in 0 .. skipStart.Length - 1 do
                    if anchorStep[s] = t && (anchorAfterMixes[s] = 1) = afterMixes then
                        anchors[skipLevel[s]] <- Array.init n (fun u -> from[u] + anchorIncrement[s] * delta[u])
            anchorsAt false r
            let mutable next = Array.init n (fun u -> r[u] + delta[u])
            for s in [ 0 .. skipStart.Length - 1 ] |> List.filter (fun s -> skipEnd[s] = t) |> List.sortBy (fun s -> skipLevel[s]) do
                let a = anchors[skipLevel[s]]
                next <- Array.init n (fun u -> skipBeta[s] * next[u] + (1.0 - skipBeta[s]) * a[u])
            anchorsAt true next
            let stored = state (t + 1)
            for u in 0 .. n - 1 do worst <- max worst (abs (next[u] - stored[u]) / (1.0 + abs stored[u]))
            // continue from the stored state, so that one step's rounding does not compound
            r <- stored
    worst

let private export (taskName: string) (integrator: Integrator) (strategic: float option) =
    let task = (Catalog.tryFind taskName).Value
    let config = { RunConfig.Default with Task = taskName; Networks = 2 }
    let arch = RunConfig.architecture config task
    let parameters = Parameters.initialize arch 2 3UL
    let activity = ActivityExport.record config parameters 1 4 11UL integrator strategic
    let path = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-activity-%s.npz" (Guid.NewGuid().ToString("N")))
    ActivityExport.write path activity
    let d = Npz.read path
    File.Delete path
    activity, d

[<Tests>]
let activityTests =
    testList "activity export" [
        for taskName, integrator, strategic in
            [ "go", Euler, None                                    // structure A
              "dlygo", WithSkips(Aligned, 10, 0.5), None              // structure B, modified dynamics
              "dmc", WithSkips(Plain, 40, 0.5), None                // structure C
              "dmc", WithSkips(AlignedLast, 40, 0.5), None          // anchors after the previous window's mix
              "rulereversal", WithSkips(Aligned, 40, 0.5), Some 0.5 ] do // closed-loop feedback, strategic skips
            testCase (sprintf "%s with %A: shapes, metadata, and a replay from the file alone" taskName integrator) <| fun () ->
                let activity, d = export taskName integrator strategic
                let b = activity.Batch
                let n = activity.Architecture.Units
                Expect.equal d["states"].Shape [| 4; b.Steps + 1; n |] "states: trials × steps+1 × units"
                Expect.equal d["noise"].Shape [| 4; b.Steps; n |] "noise: trials × steps × units"
                Expect.equal d["inputs"].Shape [| 4; b.Steps; b.InputSize |] "inputs"
                Expect.equal d["readouts"].Shape [| 4; b.TrainedSteps; b.OutputSize |] "readouts"
                Expect.equal d["targets"].Shape [| 4; b.Steps; b.OutputSize |] "targets"
                Expect.equal d["W_rec"].Shape [| n; n |] "one network's weights"
                Expect.equal (d["period_names"] |> function TextArray (_, t) -> t | _ -> [||]) (b.Periods |> Array.map (fun p -> p.Name)) "periods"
                Expect.equal (d["task"] |> function TextArray (_, t) -> t[0] | _ -> "") taskName "task"
                Expect.equal d["network"].AsInt32 [| 1 |] "network"
                Expect.equal d["seed"].AsInt32 [| 11 |] "seed"
                Expect.isTrue ((d["config"] |> function TextArray (_, t) -> t[0] | _ -> "").Contains "\"task\"") "config as JSON"
                let worst = replay d
                Expect.isLessThan worst 1e-4 "states recomputed from parameters, inputs and noise match the stored ones"
                if taskName = "rulereversal" then
                    Expect.equal d["choices"].Shape [| 4; 5 |] "5 choices per sequence"
                    let inputs = d["inputs"].AsFloat32
                    let f = b.Feedback.Value
                    let fb = f.Windows[0].Start
                    let shown = [ for s in 0 .. 3 -> inputs[(s * b.Steps + fb) * b.InputSize + 2] + inputs[(s * b.Steps + fb) * b.InputSize + 3] ]
                    Expect.all shown ((=) 1.0f) "the feedback actually shown is in the file"

        testCase "a replay notices a wrong state" <| fun () ->
            let _, d = export "go" Euler None
            let states = d["states"].AsFloat32 |> Array.copy
            states[states.Length / 2] <- states[states.Length / 2] + 0.5f
            let tampered = d |> Map.add "states" (Float32Array(d["states"].Shape, states))
            Expect.isGreaterThan (replay tampered) 1e-2 "the check can fail"
    ]

[<Tests>]
let csharpTests =
    testList "C# example" [
        testCase "examples/CSharpActivity, built against the SkipRnn package, loads a trained run, evaluates it and writes activity" <| fun () ->
            // a tiny finished run to load
            let task = (Catalog.tryFind "go").Value
            let config = { RunConfig.Default with Task = "go"; Networks = 2; MaxSteps = 3; EvaluateEvery = 3; EvaluationTrials = 10 }
            use trainer = new Trainer(config, task, 1)
            let state = trainer.Run(ignore, Threading.CancellationToken.None)
            let folder = Path.Combine(Path.GetTempPath(), "skiprnn-csharp-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory folder |> ignore
            Files.writeAtomically (RunDirectory.configFile folder) (ConfigJson.toJson config)
            RunDirectory.writeFinished folder state
            let out = Path.Combine(folder, "activity.npz")
            let code, stdout, stderr = Examples.run "CSharpActivity" [ folder; out; "1"; "5" ]
            Expect.equal code 0 (sprintf "the C# program runs (stderr: %s)" stderr)
            Expect.stringContains stdout "go: 2 networks of 50 units" "it loaded the run"
            let d = Npz.read out
            Expect.equal d["states"].Shape[0] 5 "5 trials written"
            Expect.equal d["network"].AsInt32 [| 1 |] "of network 1"
            Expect.isLessThan (replay d) 1e-4 "and they replay"
    ]
