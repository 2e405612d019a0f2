module SkipRnn.Tests.TaskTests

open System
open Expecto
open FsCheck
open SkipRnn.Numerics
open SkipRnn.Tasks

// ---- Helpers. The expected values below are computed here, independently of Ring and StandardTasks where
// that is cheap, so that a test can fail when the generator and its helpers agree on a mistake.

let private pi = Math.PI
let private unitSpacing = 2.0 * pi / float Ring.Units

let private settings trials jittered timing = { Trials = trials; Timing = timing; Jittered = jittered; Buffers = None }
let private nominal trials = settings trials false Timing.Default
let private draw task batchSettings (seed: int) = StandardTasks.generate task batchSettings (Rng.Create(uint64 seed))
let private taskNamed name = (StandardTasks.tryFind name).Value

/// Fails with a lazily built message (the checks below run in tight loops).
let private check condition (message: unit -> string) = if not condition then failtest (message ())

let private period (b: TrialBatch) name = b.Periods |> Array.find (fun p -> p.Name = name)
let private periodAt (b: TrialBatch) t = b.Periods |> Array.find (fun p -> p.Start <= t && t < p.Start + p.Length)
let private inputRing (b: TrialBatch) t trial modality =
    Array.sub b.Inputs (b.InputIndex(t, trial) + StandardTasks.ringOffset modality) Ring.Units
let private targetRing (b: TrialBatch) t trial = Array.sub b.Targets (b.OutputIndex(t, trial) + 1) Ring.Units
let private fixationTarget (b: TrialBatch) t trial = b.Targets[b.OutputIndex(t, trial)]

let private circularDistance (a: float) (b: float) =
    let d = abs (a - b) % (2.0 * pi)
    min d (2.0 * pi - d)

/// 0.8 exp(-½ (8 d / π)²) for ring unit k (SPEC §2).
let private tuningAt direction (k: int) =
    let d = circularDistance direction (float k * unitSpacing)
    0.8 * exp (-0.5 * (8.0 * d / pi) ** 2.0)

let private nearestUnit direction = int (Math.Round(direction / unitSpacing)) % Ring.Units
let private argmax (xs: float32[]) = Array.IndexOf(xs, Array.max xs)

let private sameAnswer a b =
    match a, b with
    | Respond x, Respond y -> circularDistance x y < 1e-9
    | Fixate, Fixate -> true
    | _ -> false

let private reactionTime (task: TaskInfo) = task.Name = "rtgo" || task.Name = "rtanti"

/// The answer a trial asks for, read from its conditions as SPEC §3 describes each task.
let private expectedAnswer (task: TaskInfo) (c: TrialCondition) =
    let direction periodName = (c.Stimuli |> Array.find (fun s -> s.Period = periodName)).Direction
    let largestSummedStrength stimuli =
        stimuli
        |> Array.groupBy (fun s -> s.Direction)
        |> Array.maxBy (fun (_, group) -> group |> Array.sumBy (fun s -> s.Strength))
        |> fst
    let onMatch respondOnMatch isMatch =
        if isMatch = respondOnMatch then Respond(direction "stimulus2") else Fixate
    let category a = int (a / pi)
    match task.Name with
    | "go" | "rtgo" | "dlygo" -> Respond (Array.exactlyOne c.Stimuli).Direction
    | "anti" | "rtanti" | "dlyanti" -> Respond(Ring.wrap ((Array.exactlyOne c.Stimuli).Direction + pi))
    | "dm1" | "ctxdm1" | "dlydm1" | "ctxdlydm1" ->
        Respond(c.Stimuli |> Array.filter (fun s -> s.Modality = 1) |> largestSummedStrength)
    | "multsendm" | "multsendlydm" -> Respond(largestSummedStrength c.Stimuli)
    | "dms" | "dnms" ->
        onMatch (task.Name = "dms") (circularDistance (direction "stimulus1") (direction "stimulus2") <= pi / 18.0)
    | "dmc" | "dnmc" ->
        onMatch (task.Name = "dmc") (category (direction "stimulus1") = category (direction "stimulus2"))
    | other -> failtestf "no oracle for %s" other

/// The whole input vector at step t of a trial, built from the trial's conditions (SPEC §2–3).
let private expectedInput (task: TaskInfo) (b: TrialBatch) t trial =
    let x = Array.zeroCreate<float> StandardTasks.InputSize
    let p = periodAt b t
    x[65 + task.RuleIndex] <- 1.0
    if p.Name <> "burnin" && (p.Name <> "response" || reactionTime task) then x[0] <- 1.0
    for s in b.Conditions[trial].Stimuli do
        if s.Period = p.Name then
            for k in 0 .. Ring.Units - 1 do
                let i = 1 + 32 * (s.Modality - 1) + k
                x[i] <- x[i] + s.Strength * tuningAt s.Direction k
    x

/// (period name, steps) at dt = 5 ms, nominal.
let private nominalLayout =
    function
    | A -> [ "burnin", 200; "fixation", 100; "stimulus", 100; "response", 100 ]
    | B -> [ "burnin", 200; "fixation", 100; "stimulus", 100; "delay", 200; "response", 100 ]
    | C -> [ "burnin", 200; "fixation", 100; "stimulus1", 100; "delay", 200; "stimulus2", 100; "response", 100 ]

let private taskCases name (test: TaskInfo -> unit) =
    testList name [ for task in StandardTasks.all -> testCase task.Name (fun () -> test task) ]

// ---- Tests

[<Tests>]
let ringTests =
    testList "ring" [
        testCase "decoding a response target gives its direction" <| fun () ->
            let ring = Array.zeroCreate<float32> Ring.Units
            Ring.writeResponseTarget 1.0 (System.Span ring)
            Expect.floatClose Accuracy.medium (Ring.decode (System.ReadOnlySpan ring)) 1.0 "direction"

        testProperty "decode (writeResponseTarget psi) = psi for any psi" <| fun (NormalFloat x) ->
            let psi = Ring.wrap (x % 1000.0)
            let ring = Array.zeroCreate<float32> Ring.Units
            Ring.writeResponseTarget psi (Span ring)
            circularDistance (Ring.decode (ReadOnlySpan ring)) psi < 1e-4

        testProperty "distance is symmetric, in [0, π] and matches the plain formula" <| fun (NormalFloat x) (NormalFloat y) ->
            let a, b = x % 1000.0, y % 1000.0
            let d = Ring.distance a b
            abs (d - Ring.distance b a) < 1e-12 && d >= 0.0 && d <= pi && abs (d - circularDistance a b) < 1e-9

        testProperty "wrap lands in [0, 2π) on the same direction" <| fun (NormalFloat x) ->
            let a = x % 1000.0
            let w = Ring.wrap a
            w >= 0.0 && w < 2.0 * pi && abs (sin w - sin a) < 1e-9 && abs (cos w - cos a) < 1e-9
    ]

[<Tests>]
let tableTests =
    testList "task table" [
        testCase "16 tasks in the paper's order, with their rule indices and structures" <| fun () ->
            let expected =
                [ "go", "go", A, 0; "rtgo", "rtgo", A, 1; "dlygo", "dgo", B, 2; "anti", "anti", A, 3
                  "rtanti", "rtanti", A, 4; "dlyanti", "danti", B, 5; "dm1", "dm", A, 6; "ctxdm1", "dmd", A, 8
                  "multsendm", "msdm", A, 10; "dlydm1", "ddm", C, 11; "ctxdlydm1", "ddmd", C, 13
                  "multsendlydm", "msddm", C, 15; "dms", "dms", C, 16; "dnms", "dnms", C, 17
                  "dmc", "dmc", C, 18; "dnmc", "dnmc", C, 19 ]
            let actual = StandardTasks.all |> List.map (fun t -> t.Name, t.PaperName, t.Structure, t.RuleIndex)
            Expect.equal actual expected "table"

        testCase "9 long-term-memory tasks" <| fun () ->
            let longTerm = StandardTasks.all |> List.filter (fun t -> t.LongTermMemory) |> List.map (fun t -> t.Name)
            Expect.equal longTerm [ "dlygo"; "dlyanti"; "dlydm1"; "ctxdlydm1"; "multsendlydm"; "dms"; "dnms"; "dmc"; "dnmc" ] "long-term"

        testCase "sizes and layout constants" <| fun () ->
            Expect.equal StandardTasks.InputSize 85 "input size"
            Expect.equal StandardTasks.OutputSize 33 "output size"
            Expect.equal (StandardTasks.ringOffset 1, StandardTasks.ringOffset 2) (1, 33) "ring offsets"
            Expect.equal (StandardTasks.RuleOffset + StandardTasks.RuleCount) 85 "rules fill the input"

        testCase "tryFind accepts both names in any case" <| fun () ->
            for t in StandardTasks.all do
                Expect.equal (StandardTasks.tryFind t.Name) (Some t) t.Name
                Expect.equal (StandardTasks.tryFind t.PaperName) (Some t) t.PaperName
                Expect.equal (StandardTasks.tryFind (t.PaperName.ToUpperInvariant())) (Some t) "upper case"
            Expect.equal (StandardTasks.tryFind "MsDdm" |> Option.map (fun t -> t.Name)) (Some "multsendlydm") "msddm"
            Expect.equal (StandardTasks.tryFind "dgo" |> Option.map (fun t -> t.Name)) (Some "dlygo") "dgo"
            Expect.isNone (StandardTasks.tryFind "dm2") "dm2 is not one of the 16"
            Expect.isNone (StandardTasks.tryFind "nonsense") "unknown"

        testCase "FixationShare is 2/3, 4/5, 5/6 with the default timing" <| fun () ->
            for structure, share in [ A, 2.0 / 3.0; B, 4.0 / 5.0; C, 5.0 / 6.0 ] do
                Expect.floatClose Accuracy.veryHigh (StandardTasks.fixationShare structure Timing.Default) share (string structure)
            for t in StandardTasks.all do
                let expected = match t.Structure with A -> 2.0 / 3.0 | B -> 4.0 / 5.0 | C -> 5.0 / 6.0
                Expect.floatClose Accuracy.veryHigh (draw t (nominal 1) 0).FixationShare expected t.Name

        testCase "FixationShare follows changed durations" <| fun () ->
            let timing = { Timing.Default with Delay = 2.0 }
            Expect.floatClose Accuracy.veryHigh (StandardTasks.fixationShare A timing) (2.0 / 3.0) "A has no delay"
            Expect.floatClose Accuracy.veryHigh (StandardTasks.fixationShare B timing) (6.0 / 7.0) "B"
            Expect.floatClose Accuracy.veryHigh (StandardTasks.fixationShare C timing) (7.0 / 8.0) "C"
    ]

[<Tests>]
let targetTests =
    taskCases "targets encode the intended answer" <| fun task ->
        let b = draw task (nominal 48) (100 + task.RuleIndex)
        let response = period b "response"
        for trial in 0 .. b.Trials - 1 do
            let answer = b.Answers[trial]
            check (sameAnswer answer (expectedAnswer task b.Conditions[trial])) (fun () ->
                sprintf "trial %d: answer %A, conditions %A" trial answer b.Conditions[trial])
            for t in 0 .. b.Steps - 1 do
                let fixation = fixationTarget b t trial
                let ring = targetRing b t trial
                if t < response.Start then
                    check (fixation = 0.85f && ring |> Array.forall ((=) 0.05f)) (fun () -> sprintf "fixating target at step %d" t)
                else
                    match answer with
                    | Respond psi ->
                        check (fixation = 0.05f) (fun () -> sprintf "fixation target %g at response step %d" fixation t)
                        let decoded = Ring.decode (ReadOnlySpan ring)
                        check (circularDistance decoded psi < 1e-3) (fun () -> sprintf "decoded %g, answer %g" decoded psi)
                        for k in 0 .. Ring.Units - 1 do
                            check (abs (float ring[k] - (tuningAt psi k + 0.05)) < 1e-6) (fun () -> sprintf "ring unit %d" k)
                    | Fixate ->
                        check (fixation = 0.85f && ring |> Array.forall ((=) 0.0f)) (fun () -> sprintf "non-match target at step %d" t)
                    | Choose _ -> failtest "no discrete choices in standard tasks"

[<Tests>]
let inputTests =
    testList "inputs" [
        taskCases "every input equals rule + fixation + the stimuli of the conditions" <| fun task ->
            let b = draw task (settings 8 true Timing.Default) (200 + task.RuleIndex)
            for t in 0 .. b.Steps - 1 do
                for trial in 0 .. b.Trials - 1 do
                    let expected = expectedInput task b t trial
                    let i0 = b.InputIndex(t, trial)
                    for i in 0 .. b.InputSize - 1 do
                        check (abs (float b.Inputs[i0 + i] - expected[i]) < 1e-5) (fun () ->
                            sprintf "step %d (%s) trial %d input %d: %g, expected %g" t (periodAt b t).Name trial i
                                b.Inputs[i0 + i] expected[i])

        taskCases "input rings peak at the stimulus directions" <| fun task ->
            let b = draw task (nominal 48) (300 + task.RuleIndex)
            for trial in 0 .. b.Trials - 1 do
                let stimuli = b.Conditions[trial].Stimuli
                for s in stimuli do
                    let p = period b s.Period
                    let ring = inputRing b (p.Start + p.Length / 2) trial s.Modality
                    let sharing = stimuli |> Array.filter (fun o -> o.Modality = s.Modality && o.Period = s.Period)
                    if sharing.Length = 1 then
                        check (argmax ring = nearestUnit s.Direction) (fun () ->
                            sprintf "trial %d: peak at unit %d, stimulus at %g" trial (argmax ring) s.Direction)
                    else
                        // Two stimuli at least π/2 apart share the ring: look for a local peak next to each.
                        let window = [| for dk in -2 .. 2 -> (nearestUnit s.Direction + dk + Ring.Units) % Ring.Units |]
                        let peak = window |> Array.maxBy (fun k -> ring[k])
                        check (circularDistance (Ring.preferred peak) s.Direction <= 0.5 * unitSpacing + 1e-3) (fun () ->
                            sprintf "trial %d: local peak at unit %d, stimulus at %g" trial peak s.Direction)
                    let floor = s.Strength * 0.8 * exp (-0.5 * (8.0 * (pi / 32.0) / pi) ** 2.0) - 1e-5
                    check (float ring[nearestUnit s.Direction] >= floor) (fun () ->
                        sprintf "trial %d: unit nearest %g only %g" trial s.Direction ring[nearestUnit s.Direction])
    ]

[<Tests>]
let conditionTests =
    let trials = 400
    // Conditions do not depend on dt (see "reproducibility"), so a coarse grid keeps these batches small.
    let conditions name = (draw (taskNamed name) (settings trials false (Timing.Default.Coarsened 10.0)) 7).Conditions
    let fractionOf predicate (xs: 'a[]) = float (xs |> Array.filter predicate |> Array.length) / float xs.Length
    let about half = half > 0.4 && half < 0.6
    let inRange lo hi x = x >= lo - 1e-12 && x < hi + 1e-12
    let strengthsOf (pair: Stimulus[]) = pair |> Array.map (fun s -> s.Strength)
    let checkPair (pair: Stimulus[]) =
        match strengthsOf pair with
        | [| g1; g2 |] ->
            Expect.isTrue (inRange 0.8 1.2 ((g1 + g2) / 2.0)) "c in [0.8, 1.2)"
            Expect.isTrue (inRange 0.1 0.2 (abs (g1 - g2) / 2.0)) "δ in [0.1, 0.2)"
        | other -> failtestf "expected a pair, got %A" other
    let directionsApart (c: TrialCondition) =
        let ds = c.Stimuli |> Array.map (fun s -> s.Direction) |> Array.distinct
        ds.Length = 2 && circularDistance ds[0] ds[1] >= pi / 2.0 - 1e-9
    let stimulusPeriods (task: TaskInfo) =
        if reactionTime task then set [ "response" ]
        elif task.Structure = C then set [ "stimulus1"; "stimulus2" ]
        else set [ "stimulus" ]
    testList "trial conditions follow SPEC §3" [
        taskCases "stimuli appear in the task's stimulus periods" <| fun task ->
            for c in (draw task (nominal 64) 3).Conditions do
                Expect.equal (c.Stimuli |> Array.map (fun s -> s.Period) |> set) (stimulusPeriods task) "periods"
                for s in c.Stimuli do
                    Expect.isTrue (s.Modality = 1 || s.Modality = 2) "modality"
                    Expect.isTrue (inRange 0.0 (2.0 * pi) s.Direction && s.Direction < 2.0 * pi) "direction wrapped"

        testCase "go family: one stimulus of strength 1 in either modality" <| fun () ->
            for name in [ "go"; "rtgo"; "dlygo"; "anti"; "rtanti"; "dlyanti" ] do
                let cs = conditions name
                Expect.isTrue (cs |> Array.forall (fun c -> c.Stimuli.Length = 1 && c.Stimuli[0].Strength = 1.0 && c.Match = ValueNone)) name
                Expect.isTrue (about (cs |> fractionOf (fun c -> c.Stimuli[0].Modality = 1))) "modality 1 half the time"

        testCase "dm1 and dlydm1: a pair in modality 1, the stronger at random" <| fun () ->
            for name in [ "dm1"; "dlydm1" ] do
                let cs = conditions name
                for c in cs do
                    Expect.equal (c.Stimuli |> Array.map (fun s -> s.Modality)) [| 1; 1 |] "modality 1 only"
                    Expect.isTrue (directionsApart c) "a2 − a1 in [π/2, 3π/2]"
                    checkPair c.Stimuli
                Expect.isTrue (about (cs |> fractionOf (fun c -> c.Stimuli[0].Strength > c.Stimuli[1].Strength))) "coin"

        testCase "ctxdm1 and ctxdlydm1: the same directions in modality 2 with their own strengths" <| fun () ->
            for name in [ "ctxdm1"; "ctxdlydm1" ] do
                let cs = conditions name
                for c in cs do
                    let byModality m = c.Stimuli |> Array.filter (fun s -> s.Modality = m)
                    let attended, distractor = byModality 1, byModality 2
                    Expect.equal (distractor |> Array.map (fun s -> s.Direction, s.Period)) (attended |> Array.map (fun s -> s.Direction, s.Period)) "same directions"
                    Expect.isTrue (directionsApart c) "apart"
                    checkPair attended
                    checkPair distractor
                let disagree (c: TrialCondition) =
                    let stronger m = c.Stimuli |> Array.filter (fun s -> s.Modality = m) |> Array.maxBy (fun s -> s.Strength)
                    (stronger 1).Direction <> (stronger 2).Direction
                Expect.isTrue (about (cs |> fractionOf disagree)) "the distractor disagrees half the time"

        testCase "multsendm and multsendlydm: both modalities weighted k and 2 − k" <| fun () ->
            for name in [ "multsendm"; "multsendlydm" ] do
                let cs = conditions name
                for c in cs do
                    Expect.isTrue (directionsApart c) "apart"
                    for _, group in c.Stimuli |> Array.groupBy (fun s -> s.Direction) do
                        let g = group |> Array.sortBy (fun s -> s.Modality) |> Array.map (fun s -> s.Strength)
                        let k = 2.0 * Array.max g / (g[0] + g[1])
                        Expect.isTrue (inRange 1.2 1.4 k) (sprintf "k = %g" k)
                        Expect.equal (group |> Array.map (fun s -> s.Period) |> Array.distinct |> Array.length) 1 "one period per direction"
                    checkPair (c.Stimuli |> Array.groupBy (fun s -> s.Direction) |> Array.map (fun (_, g) -> { g[0] with Strength = (g |> Array.sumBy (fun s -> s.Strength)) / 2.0 }))
                let heavier = cs |> fractionOf (fun c -> c.Stimuli[0].Strength > c.Stimuli[2].Strength)
                Expect.isTrue (about heavier) "the weighted modality is 1 or 2 at random"
            let firstIsA1 = conditions "multsendlydm" |> fractionOf (fun c ->
                (c.Stimuli |> Array.maxBy (fun s -> s.Strength)).Period = "stimulus1")
            Expect.isTrue (about firstIsA1) "multsendlydm: order of the pair at random"

        testCase "dms and dnms: match within π/18, non-match π/2 to 3π/2 away, half each" <| fun () ->
            for name in [ "dms"; "dnms" ] do
                let cs = conditions name
                for c in cs do
                    let a1, a2 = c.Stimuli[0].Direction, c.Stimuli[1].Direction
                    Expect.isTrue (c.Stimuli |> Array.forall (fun s -> s.Strength = 1.0)) "strength 1"
                    match c.Match with
                    | ValueSome true -> Expect.isTrue (circularDistance a1 a2 <= pi / 18.0 + 1e-9) "match"
                    | ValueSome false -> Expect.isTrue (circularDistance a1 a2 >= pi / 2.0 - 1e-9) "non-match"
                    | ValueNone -> failtest "Match must be set"
                Expect.isTrue (about (cs |> fractionOf (fun c -> c.Match = ValueSome true))) "match half the time"
                let modalities = cs |> Array.map (fun c -> c.Stimuli[0].Modality, c.Stimuli[1].Modality) |> Array.distinct
                Expect.equal modalities.Length 4 "independent modalities"

        testCase "dmc and dnmc: quarter arcs, same category on match, both non-match orders" <| fun () ->
            for name in [ "dmc"; "dnmc" ] do
                let cs = conditions name
                let category a = int (a / pi)
                for c in cs do
                    for s in c.Stimuli do
                        Expect.isTrue (s.Direction % pi < pi / 2.0) (sprintf "%g in a first quarter arc" s.Direction)
                    let same = category c.Stimuli[0].Direction = category c.Stimuli[1].Direction
                    Expect.equal c.Match (ValueSome same) "Match is same category"
                Expect.isTrue (about (cs |> fractionOf (fun c -> c.Match = ValueSome true))) "match half the time"
                let combos = cs |> Array.countBy (fun c -> category c.Stimuli[0].Direction, category c.Stimuli[1].Direction)
                Expect.equal (combos |> Array.map fst |> Array.sort) [| 0, 0; 0, 1; 1, 0; 1, 1 |] "all four category pairs"
                for _, count in combos do
                    Expect.isGreaterThan count (trials / 8) "each pair reasonably often"

        testCase "the authors' variants: dmc and dnmc non-matches always category 1 first; dnms and dnmc answer like dms and dmc" <| fun () ->
            let category a = int (a / pi)
            for name in [ "dmc-authors"; "dnmc-authors" ] do
                let cs = conditions name
                for c in cs do
                    if c.Match = ValueSome false then
                        Expect.equal (category c.Stimuli[0].Direction, category c.Stimuli[1].Direction) (0, 1) (name + ": category 1 then 2")
                Expect.isTrue (about (cs |> fractionOf (fun c -> c.Match = ValueSome true))) (name + ": match half the time")
                let matches = cs |> Array.filter (fun c -> c.Match = ValueSome true) |> Array.map (fun c -> category c.Stimuli[0].Direction)
                Expect.isTrue (about (matches |> fractionOf ((=) 0))) (name + ": match trials in either category")
            for variant, original in [ "dnms-authors", "dms"; "dnmc-authors", "dmc-authors" ] do
                let b = draw (taskNamed variant) (nominal 64) 21
                for c, a in Array.zip b.Conditions b.Answers do
                    match c.Match, a with
                    | ValueSome true, Respond _ | ValueSome false, Fixate -> ()
                    | _ -> failtestf "%s answers %A on match %A, as %s would not" variant a c.Match original
            Expect.isTrue ((Catalog.tryFind "dmc-authors").IsSome && not (Catalog.standard |> List.exists (fun t -> t.Name.EndsWith "-authors")))
                "the variants are tasks of their own, outside the 16 standard ones"
    ]

[<Tests>]
let timingTests =
    let representative structure = StandardTasks.all |> List.find (fun t -> t.Structure = structure)
    testList "timing" [
        taskCases "nominal periods, windows, loss weights, rule and fixation inputs" <| fun task ->
            let b = draw task (nominal 3) 11
            let layout = nominalLayout task.Structure
            Expect.equal (b.Periods |> Array.map (fun p -> p.Name, p.Length) |> List.ofArray) layout "periods"
            Expect.equal b.Steps (List.sumBy snd layout) "steps"
            Expect.equal b.BurnIn 200 "burn-in"
            Expect.equal b.TrainedSteps (b.Steps - 200) "trained steps"
            for a, c in Array.pairwise b.Periods do
                Expect.equal c.Start (a.Start + a.Length) "periods tile the trial"
            let response = period b "response"
            Expect.equal response.Start (b.Steps - 100) "response last"
            Expect.equal b.FixationWindow { Start = 240; Length = response.Start - 240 } "fixation window"
            Expect.equal b.ResponseWindow { Start = response.Start + 40; Length = 60 } "response window"
            Expect.equal (b.Inputs.Length, b.Targets.Length, b.LossWeights.Length) (b.Steps * 3 * 85, b.Steps * 3 * 33, b.Steps * 3) "sizes"
            for t in 0 .. b.Steps - 1 do
                let expectedWeight =
                    if b.FixationWindow.Contains t then 1.0f / float32 (b.FixationWindow.Length * 3 * 33)
                    elif b.ResponseWindow.Contains t then 1.0f / float32 (60 * 3 * 33)
                    else 0.0f
                let p = periodAt b t
                for trial in 0 .. 2 do
                    check (abs (b.LossWeights[t * 3 + trial] - expectedWeight) <= 1e-6f * expectedWeight) (fun () ->
                        sprintf "loss weight at step %d" t)
                    let x = Array.sub b.Inputs (b.InputIndex(t, trial)) 85
                    let rules = x[65..]
                    check (rules[task.RuleIndex] = 1.0f && Array.sum rules = 1.0f) (fun () -> sprintf "rule at step %d" t)
                    let fixating = p.Name <> "burnin" && (p.Name <> "response" || reactionTime task)
                    check (x[0] = (if fixating then 1.0f else 0.0f)) (fun () -> sprintf "fixation input in %s" p.Name)
            // Each window's weights add up to 1/33: the loss is the sum of two means over (step, trial, output).
            Expect.floatClose Accuracy.medium (float (Array.sum b.LossWeights) * 33.0) 2.0 "two means"

        testCase "coarsened dt (θ = 10) counts steps of 50 ms" <| fun () ->
            let b = draw (representative C) (settings 2 false (Timing.Default.Coarsened 10.0)) 1
            Expect.equal (b.Periods |> Array.map (fun p -> p.Length)) [| 20; 10; 10; 20; 10; 10 |] "periods"
            Expect.equal (b.FixationWindow, b.ResponseWindow) ({ Start = 24; Length = 46 }, { Start = 74; Length = 6 }) "windows"
            Expect.floatClose Accuracy.veryHigh b.Dt 0.05 "dt"

        testList "jitter: each period but burn-in and response in [T − J, T + J), drawn once per batch" [
            for structure in [ A; B; C ] ->
                testCase (string structure) <| fun () ->
                    let task = representative structure
                    let batches = [| for seed in 0 .. 599 -> draw task (settings 1 true Timing.Default) seed |]
                    for name, nominalLength in nominalLayout structure do
                        let lengths = batches |> Array.map (fun b -> (period b name).Length)
                        if name = "burnin" || name = "response" then
                            Expect.isTrue (lengths |> Array.forall ((=) nominalLength)) (name + " never jittered")
                        else
                            Expect.equal (Array.min lengths, Array.max lengths) (nominalLength - 20, nominalLength + 19) name
                    for b in batches do
                        let response = period b "response"
                        Expect.equal b.Steps (b.Periods |> Array.sumBy (fun p -> p.Length)) "steps"
                        Expect.equal b.FixationWindow.End response.Start "fixation window ends at the response"
                        Expect.equal b.ResponseWindow { Start = response.Start + 40; Length = 60 } "response window"
                    let distinctSteps = batches |> Array.map (fun b -> b.Steps) |> Array.distinct
                    Expect.isGreaterThan distinctSteps.Length 10 "durations vary between batches"
        ]

        testCase "too short a period is refused" <| fun () ->
            let timing = { Timing.Default with Fixation = 0.05 } // 10 steps, jitter 20
            Expect.throws (fun () -> draw (representative A) (settings 1 true timing) 0 |> ignore) "jittered below 1 step"
            Expect.throws (fun () -> draw (representative A) (settings 1 false { Timing.Default with Response = 0.2 }) 0 |> ignore) "empty response window"
    ]

[<Tests>]
let reproducibilityTests =
    let sameTrials (a: TrialBatch) (b: TrialBatch) =
        Expect.equal a.Conditions b.Conditions "conditions"
        Expect.equal a.Answers b.Answers "answers"
    testList "reproducibility" [
        taskCases "same seed, coarsened dt (θ = 10) or jitter: same conditions and answers" <| fun task ->
            let coarse = Timing.Default.Coarsened 10.0
            let reference = draw task (nominal 32) 5
            sameTrials reference (draw task (settings 32 true Timing.Default) 5)
            sameTrials reference (draw task (settings 32 false coarse) 5)
            sameTrials reference (draw task (settings 32 true coarse) 5)
            sameTrials reference (draw task (settings 32 false { Timing.Default with Jitter = 0.0 }) 5)
            Expect.notEqual (draw task (nominal 32) 6).Conditions reference.Conditions "another seed differs"

        testCase "the same seed gives the same jittered durations" <| fun () ->
            let lengths (b: TrialBatch) = b.Periods |> Array.map (fun p -> p.Length)
            let task = taskNamed "dms"
            Expect.equal (lengths (draw task (settings 4 true Timing.Default) 9)) (lengths (draw task (settings 4 true Timing.Default) 9)) "durations"

        testList "dnms/dnmc answer where dms/dmc fixate, and vice versa" [
            for matchTask, nonMatchTask in [ "dms", "dnms"; "dmc", "dnmc" ] ->
                testCase nonMatchTask <| fun () ->
                    let a = draw (taskNamed matchTask) (nominal 64) 21
                    let b = draw (taskNamed nonMatchTask) (nominal 64) 21
                    Expect.equal a.Conditions b.Conditions "same conditions"
                    for c, (x, y) in Array.zip a.Conditions (Array.zip a.Answers b.Answers) do
                        let second = c.Stimuli[1].Direction
                        match c.Match, x, y with
                        | ValueSome true, Respond d, Fixate
                        | ValueSome false, Fixate, Respond d -> Expect.floatClose Accuracy.veryHigh d second "respond at stimulus 2"
                        | _ -> failtestf "match %A: %s %A, %s %A" c.Match matchTask x nonMatchTask y
                    Expect.isTrue (a.Answers |> Array.contains Fixate && b.Answers |> Array.contains Fixate) "both kinds occur"
        ]

        testProperty "for any seed, answers follow from the conditions and dt does not change them" <| fun (seed: uint64) (pick: byte) ->
            let task = StandardTasks.all[int pick % StandardTasks.all.Length]
            let fine = StandardTasks.generate task (settings 4 true Timing.Default) (Rng.Create seed)
            let coarse = StandardTasks.generate task (settings 4 true (Timing.Default.Coarsened 10.0)) (Rng.Create seed)
            fine.Conditions = coarse.Conditions
            && fine.Answers = coarse.Answers
            && Array.forall2 (fun c a -> sameAnswer a (expectedAnswer task c)) fine.Conditions fine.Answers
    ]

[<Tests>]
let bufferTests =
    testList "batch buffers" [
        testCase "a batch laid out in reused buffers is the fresh batch, after a longer one and after a shorter one" <| fun () ->
            let buffers = BatchBuffers()
            for name, delays in [ "dmc", [ 2.0; 0.5; 1.0 ]; "rulereversal", [ 1.0; 1.0 ] ] do
                let task = (Catalog.tryFind name).Value
                for k, delay in List.indexed delays do
                    let timing = { Timing.Default with Delay = delay }
                    let generate b = task.Generate { Trials = 7; Timing = timing; Jittered = true; Buffers = b } (Rng.Create(9UL, uint64 k))
                    let fresh = generate None
                    let reused = generate (Some buffers)
                    let same (a: float32[]) (b: float32[]) (length: int) what =
                        Expect.isGreaterThanOrEqual b.Length length (sprintf "%s %s holds the batch" name what)
                        Expect.sequenceEqual (Array.sub b 0 length) (Array.sub a 0 length) (sprintf "%s, delay %g: %s" name delay what)
                    same fresh.Inputs reused.Inputs (fresh.Steps * fresh.Trials * fresh.InputSize) "inputs"
                    same fresh.Targets reused.Targets (fresh.Steps * fresh.Trials * fresh.OutputSize) "targets"
                    same fresh.LossWeights reused.LossWeights (fresh.Steps * fresh.Trials) "loss weights"
                    Expect.equal { reused with Inputs = fresh.Inputs; Targets = fresh.Targets; LossWeights = fresh.LossWeights } fresh
                        (sprintf "%s, delay %g: the description (periods, conditions, answers, boundaries, feedback)" name delay)
    ]
