/// The claims' verdict rules on synthetic stores: for every claim, a store where it holds, one where the
/// opposite holds, and one without its experiment.
module SkipRnn.Tests.ClaimsTests

open System
open System.IO
open Expecto
open SkipRnn.Training
open SkipRnn.Results
open SkipRnn.Results.Claims

let private networks = 10
let private profile = "synthetic"

/// A training run's record. `reaches i` is the step at which network i first performs at 0.95 (None: it stays
/// at 0.5); `secondsPerStep` sets the training clock.
let private training (config: RunConfig) (reaches: int -> int option) (secondsPerStep: float) (final: float[] option) =
    let every = 20
    let steps = config.MaxSteps
    let performance i step = match reaches i with Some s when step >= s -> 0.95 | _ -> 0.5
    let evaluations =
        [ for k in 1 .. steps / every ->
            let step = k * every
            let ps = Array.init networks (fun i -> performance i step)
            { Index = k - 1; Step = step; TrainSeconds = float step * secondsPerStep
              Criterion = SkipRnn.Model.Performance.criterion ps; MeanPerformance = Array.average ps
              MeanLoss = 0.1; Theta = nan; Beta = nan; Diverged = 0; Performances = ps } ]
    let performances = final |> Option.defaultValue (Array.init networks (fun i -> performance i steps))
    { Key = sprintf "%s-%s-%s-%d" config.Task config.Label (match config.StrategicRatio with Some _ -> "s" | None -> "n") steps
      Kind = Training; Config = config; ConfigJson = SkipRnn.IO.ConfigJson.toJson config
      Outcome = "failed"; Steps = steps; TrainSeconds = float steps * secondsPerStep; Flops = 1.0
      Criterion = SkipRnn.Model.Performance.criterion performances; Performances = performances
      DivergedAt = Array.create networks -1; Evaluations = evaluations; Dynamics = None; Activity = None
      FinishedAt = DateTime.UtcNow }

let private config task method maxSteps =
    { RunConfig.Default with Task = task; Method = method; Networks = networks; MaxSteps = maxSteps; EvaluateEvery = 20 }

/// Stores the records under their experiments at the synthetic profile and returns the claims' verdicts.
let private verdicts (experiments: (string * JobRecord list) list) =
    let folder = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-claims-%s" (Guid.NewGuid().ToString "N"))
    Directory.CreateDirectory folder |> ignore
    use store = ResultStore.OpenOrFail(Path.Combine(folder, "skiprnn.duckdb"))
    for name, records in experiments do
        store.Plan
            { Profile = profile; Experiment = name; Title = name; Description = ""; Scale = ""; Machine = "test"
              Jobs = records |> List.mapi (fun i r -> { Key = r.Key; Position = i }) }
        for r in records do store.Ingest r |> ignore
    let claims = PaperClaims.evaluate store profile
    PaperClaims.save store profile claims
    Expect.equal (store.Scalar<int64>("SELECT count(*) FROM claims WHERE profile = $p", [ "p", box profile ])) 8L "eight verdicts stored"
    claims |> List.map (fun c -> c.Id, c) |> Map.ofList

let private expectVerdict (experiments: (string * JobRecord list) list) (id: string) (expected: Verdict) =
    let c = (verdicts experiments)[id]
    Expect.equal c.Verdict expected (sprintf "%s: %s" id c.Evidence)

// C1: control on three short and three long-dependency tasks.
let private figure1 (shortAt: int option) (longAt: int option) =
    [ for task in [ "go"; "anti"; "dm1" ] -> training (config task Control 2000) (fun i -> shortAt |> Option.map (fun s -> s + 20 * (i % 3))) 0.02 None
      for task in [ "dlygo"; "dmc"; "dms" ] -> training (config task Control 2000) (fun i -> longAt |> Option.map (fun s -> s + 20 * (i % 3))) 0.02 None ]

// C2, C3: the six methods of Table 1 on dgo; `skipAt`/`baselineAt` as above, CD's seconds per step given.
let private table1 (skipAt: int option) (baselineAt: int option) (cdSecondsPerStep: float) =
    let reach at i = at |> Option.map (fun s -> s + 40 * (i % 4))
    [ yield training (config "dlygo" Control 3000) (reach baselineAt) 0.02 None
      yield training (config "dlygo" (CD 10.0) 3000) (reach baselineAt) cdSecondsPerStep None
      for m in [ SCTT(10, 0.5); SCTT(40, 0.5); DASC(10, 0.5); DASC(40, 0.5) ] -> training (config "dlygo" m 3000) (reach skipAt) 0.02 None ]

/// A dynamics comparison of `method` at θ with the given per-network distance and performance difference.
let private dynamics (method: Method) (distance: int -> float) (difference: float) =
    let c = { config "go" method 100 with Hold = true; AnnealSteps = 100 }
    let m =
        { Distances = Array.init networks distance
          PerformanceModified = Array.create networks (0.8 + difference); PerformanceTrue = Array.create networks 0.8
          Alignment = "test"; EvaluationTrials = 10; Steps = 100; TrainSeconds = 1.0; Flops = 1.0; DivergedAt = Array.create networks -1 }
    { training c (fun _ -> None) 0.01 None with
        Key = sprintf "go-%s-dynamics" c.Label; Kind = DynamicsComparison; Outcome = "compared"; Evaluations = []; Dynamics = Some m }

let private figure3 (dasc: float) (sctt: float) (cd: float) (dascGap: float) (otherGap: float) =
    [ for theta in [ 10; 30 ] do
        let spread v i = v * (1.0 + 0.05 * float (i % 5))
        yield dynamics (DASC(theta, 0.5)) (spread dasc) dascGap
        yield dynamics (SCTT(theta, 0.5)) (spread sctt) otherGap
        // CD beyond τ/dt: a thousand times farther.
        yield dynamics (CD(float theta)) (if theta > 20 then (fun _ -> cd * 1000.0) else spread cd) otherGap ]

let private appendixE (divergedBeyond: int) =
    [ for theta in [ 10.0; 20.0; 30.0; 40.0 ] ->
        let c = { config "go" (CD theta) 100 with Hold = true; FreezeDiverged = true }
        let diverged = if theta > 20.0 then divergedBeyond else 0
        { training c (fun _ -> None) 0.01 None with DivergedAt = Array.init networks (fun i -> if i < diverged then 50 else -1) } ]

let private table2 (without: float) (withStrategic: float) =
    [ for m in [ Control; CD 10.0; SCTT(40, 0.8); DASC(40, 0.5) ] do
        for strategic in [ None; Some 0.5 ] ->
            let c = { config "rulereversal" m 200 with Trials = 40; StrategicRatio = strategic; StopAtCriterion = false }
            let p = if strategic.IsSome then withStrategic else without
            training c (fun _ -> None) 0.1 (Some(Array.init networks (fun i -> if i = 0 then p - 0.001 else p))) ]

let private close = { absolute = 1e-4; relative = 1e-4 }

[<Tests>]
let tests =
    testList "claims" [
        testList "evidence" [
            testCase "Wilson's interval matches the textbook values" <| fun () ->
                let p, lo, hi = Evidence.wilson 0 10
                Expect.equal p 0.0 "0 of 10"
                Expect.equal lo 0.0 "lower bound 0"
                Expect.floatClose close hi 0.2775 "upper bound of 0/10 is 0.2775"
                let _, lo, hi = Evidence.wilson 5 10
                Expect.floatClose close lo 0.2366 "5 of 10: lower 0.2366"
                Expect.floatClose close hi 0.7634 "5 of 10: upper 0.7634"
            testCase "the bootstrap interval brackets the estimate and is reproducible" <| fun () ->
                let values = Array.init 10 float
                let mean (idx: int[]) = idx |> Array.averageBy (fun i -> values[i])
                let (p, lo, hi) as first = Evidence.bootstrap 10 mean
                Expect.equal p 4.5 "the point estimate uses every network"
                Expect.isTrue (lo < p && p < hi && lo > 1.0 && hi < 8.0) (sprintf "a sensible interval: [%g, %g]" lo hi)
                Expect.equal (Evidence.bootstrap 10 mean) first "the same interval again (fixed seed)"
            testCase "never reaching the threshold is +∞, and ∞ − ∞ is no difference" <| fun () ->
                let run maxSteps =
                    { Key = "k"; Task = "go"; LongTermMemory = false; Method = "control"; Label = "Control"; Theta = nan
                      Networks = 10; MaxSteps = maxSteps; EvaluateEvery = 20; Steps = 40; TrainSeconds = 2.0; Diverged = 0
                      Performances = Array.create 10 0.5; Distances = [||]; Differences = [||]
                      Curve = [| for step in [ 20; 40 ] -> { Step = step; Seconds = float step / 20.0; Performances = Array.create 10 0.5 } |] }
                Expect.equal (Evidence.firstReaching 0.9 (run 40) (Array.init 10 id)) (infinity, infinity) "not reached within the step limit"
                Expect.equal (Evidence.firstReaching 0.9 (run 1000) (Array.init 10 id)) (60.0, 3.0)
                    "a run stopped before its limit: not before its last evaluation plus one interval (a lower bound)"
                Expect.equal (Evidence.difference -infinity -infinity) 0.0 "equal infinities of either sign"
                Expect.equal (Evidence.difference infinity infinity) 0.0 "both censored"
                Expect.equal (Evidence.difference infinity 100.0) infinity "only one reached"
        ]
        testList "C1 steps span an order of magnitude, long dependencies slower" [
            testCase "holds" <| fun () -> expectVerdict [ "figure1", figure1 (Some 100) None ] "C1" Shown
            testCase "fails" <| fun () -> expectVerdict [ "figure1", figure1 (Some 240) (Some 100) ] "C1" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "table1", table1 (Some 500) None 0.01 ] "C1" NotTested
        ]
        testList "C2 SCTT and DASC need fewer steps" [
            testCase "holds" <| fun () -> expectVerdict [ "table1", table1 (Some 500) (Some 2000) 0.01 ] "C2" Shown
            testCase "fails" <| fun () -> expectVerdict [ "table1", table1 (Some 2000) (Some 500) 0.01 ] "C2" Contradicted
            testCase "undecided" <| fun () -> expectVerdict [ "table1", table1 None None 0.01 ] "C2" NotShown
            testCase "missing" <| fun () -> expectVerdict [ "figure1", figure1 (Some 100) None ] "C2" NotTested
        ]
        testList "C3 CD cheapest per step, SCTT and DASC faster in time" [
            testCase "holds" <| fun () -> expectVerdict [ "table1", table1 (Some 500) None 0.01 ] "C3" Shown
            testCase "fails" <| fun () -> expectVerdict [ "table1", table1 (Some 500) None 0.03 ] "C3" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "figure1", figure1 (Some 100) None ] "C3" NotTested
        ]
        testList "C4 DASC's dynamics closest to the true ones" [
            testCase "holds" <| fun () -> expectVerdict [ "figure3", figure3 0.01 0.1 0.05 0.0 -0.3 ] "C4" Shown
            testCase "fails" <| fun () -> expectVerdict [ "figure3", figure3 1.0 0.01 0.02 0.0 -0.3 ] "C4" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "appendixE", appendixE 10 ] "C4" NotTested
        ]
        testList "C5 DASC's performance gap the smallest" [
            testCase "holds" <| fun () -> expectVerdict [ "figure3", figure3 0.01 0.1 0.05 0.0 -0.3 ] "C5" Shown
            testCase "fails" <| fun () -> expectVerdict [ "figure3", figure3 0.01 0.1 0.05 -0.4 0.0 ] "C5" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "appendixE", appendixE 10 ] "C5" NotTested
        ]
        testList "C6 CD beyond τ/dt diverges" [
            testCase "holds" <| fun () -> expectVerdict [ "appendixE", appendixE 10 ] "C6" Shown
            testCase "fails" <| fun () -> expectVerdict [ "appendixE", appendixE 0 ] "C6" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "figure3", figure3 0.01 0.1 0.05 0.0 -0.3 ] "C6" NotTested
        ]
        testList "C7 strategic skips raise the share trained" [
            testCase "holds" <| fun () -> expectVerdict [ "table2", table2 0.6 1.0 ] "C7" Shown
            testCase "fails" <| fun () -> expectVerdict [ "table2", table2 1.0 0.6 ] "C7" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "appendixE", appendixE 10 ] "C7" NotTested
        ]
        testList "C8 trained networks switch within one trial" [
            testCase "holds" <| fun () -> expectVerdict [ "table2", table2 1.0 1.0 ] "C8" Shown
            testCase "fails" <| fun () -> expectVerdict [ "table2", table2 0.95 0.95 ] "C8" Contradicted
            testCase "missing" <| fun () -> expectVerdict [ "appendixE", appendixE 10 ] "C8" NotTested
        ]
        testCase "a store from before per-network results gains the columns, and its runs get them from their folders" <| fun () ->
            let folder = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-claims-old-%s" (Guid.NewGuid().ToString "N"))
            Directory.CreateDirectory folder |> ignore
            let path = Path.Combine(folder, "skiprnn.duckdb")
            let records = table1 (Some 500) (Some 2000) 0.01
            do
                use store = ResultStore.OpenOrFail path
                store.Execute("ALTER TABLE evaluations DROP COLUMN performances", [])
                store.Execute("ALTER TABLE dynamics DROP COLUMN distances", [])
            use store = ResultStore.OpenOrFail path
            store.Plan { Profile = profile; Experiment = "table1"; Title = ""; Description = ""; Scale = ""; Machine = "test"
                         Jobs = records |> List.mapi (fun i r -> { Key = r.Key; Position = i }) }
            for r in records do store.Ingest r |> ignore
            // What a store written before this change holds: no per-network performances.
            store.Execute("UPDATE evaluations SET performances = NULL", [])
            let c2 () = (PaperClaims.evaluate store profile |> List.find (fun c -> c.Id = "C2")).Verdict
            Expect.equal (c2 ()) NotTested "without per-network curves the rule cannot resample"
            Expect.equal (store.KeysWithoutNetworkResults(profile, "table1") |> List.length) records.Length "every run lacks them"
            for r in records do store.FillNetworkResults r
            Expect.isEmpty (store.KeysWithoutNetworkResults(profile, "table1")) "filled in"
            Expect.equal (c2 ()) Shown "and the rule decides again"
        testCase "the summary counts every verdict" <| fun () ->
            let claims = verdicts [ "appendixE", appendixE 10 ] |> Map.toList |> List.map snd
            Expect.equal (PaperClaims.summary claims) "1 of 8 claims shown, 7 not tested at this profile" "one line"
            let csv = PaperClaims.csv claims
            Expect.equal (csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length) 9 "a header and a row per claim"
            Expect.stringContains csv "C6,\"App. E\",shown," "C6's row"
    ]
