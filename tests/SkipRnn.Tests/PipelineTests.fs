/// The experiment pipeline: stable job keys, an idempotent store, resumption after a kill, the report.
module SkipRnn.Tests.PipelineTests

open System
open System.IO
open System.Diagnostics
open System.Text.Json
open System.Text.RegularExpressions
open System.Threading
open Expecto
open SkipRnn.Tasks
open SkipRnn.Training
open SkipRnn.Results
open SkipRnn.Results.Report
open SkipRnn.Experiments
open SkipRnn.Experiments.Pipeline

let private temporaryFolder (name: string) =
    let dir = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-%s-%s" name (Guid.NewGuid().ToString "N"))
    Directory.CreateDirectory dir |> ignore
    dir

let private cli = Path.Combine(AppContext.BaseDirectory, "SkipRnn.Cli.dll")

let private start (args: string list) =
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    info.ArgumentList.Add cli
    for a in args do info.ArgumentList.Add a
    Process.Start info

/// Runs the CLI to the end: exit code, stdout lines, stderr.
let private runCli (args: string list) =
    use p = start args
    let err = p.StandardError.ReadToEndAsync()
    let out = p.StandardOutput.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> List.ofArray, err.Result

let private storedKey (line: string) =
    let m = Regex.Match(line, @"^stored (\S+):")
    if m.Success then Some m.Groups[1].Value else None

[<Tests>]
let jobTests =
    testList "experiment definitions" [
        testCase "a job's key is stable and changes with any part of its configuration" <| fun () ->
            let config = Runs.control Profiles.quick "go" 600
            Expect.equal (Job.training config).Key (Job.training config).Key "same config, same key"
            Expect.notEqual (Job.training config).Key (Job.training { config with Trials = 21 }).Key "a field the slug omits still changes the key"
            Expect.notEqual (Job.training config).Key (Job.dynamicsComparison config).Key "the kind is part of the key"
        testCase "every profile defines every experiment, with one key per distinct configuration" <| fun () ->
            for profile in Profiles.all do
                for name, define in ExperimentCatalog.all do
                    let e = define profile
                    if e.Jobs.IsEmpty then
                        Expect.stringStarts e.Scale "not run at this profile" (sprintf "%s at %s: no jobs, and its scale says so" name profile.Name)
                    let keys = e.Jobs |> List.map (fun j -> j.Key) |> List.distinct
                    let configs = e.Jobs |> List.map (fun j -> j.Kind.Name + SkipRnn.IO.ConfigJson.toJson j.Config) |> List.distinct
                    Expect.equal keys.Length configs.Length (sprintf "%s at %s: keys and configurations match one to one" name profile.Name)
        testCase "quick is sized to decide claims C2–C6, and runs nothing that decides none" <| fun () ->
            let p = Profiles.quick
            let table1 = (Table1.define p).Jobs
            Expect.equal table1.Length 12 "Table 1: 6 methods on 2 tasks"
            Expect.isTrue (table1 |> List.forall (fun j -> (SkipRnn.Tasks.Catalog.tryFind j.Config.Task).Value.LongTermMemory)) "all long-dependency tasks"
            Expect.isTrue (table1 |> List.forall (fun j -> not j.Config.StopAtCriterion && j.Config.MaxSteps >= 3000)) "fixed budgets of at least 3,000 steps"
            let thetas (jobs: Job list) m = jobs |> List.filter (fun j -> j.Config.Method.Name = m) |> List.map (fun j -> j.Config.Method) |> List.distinct
            let figure3 = (Figure3.define p).Jobs
            for m in [ "cd"; "sctt"; "dasc" ] do Expect.equal (thetas figure3 m).Length 5 (sprintf "Figure 3: %s at 5 θ" m)
            let appendixE = (AppendixE.define p).Jobs |> List.map (fun j -> match j.Config.Method with CD t -> t | _ -> nan)
            Expect.isTrue (List.exists (fun t -> t > 20.0) appendixE && List.exists (fun t -> t <= 20.0) appendixE) "Appendix E: θ0 on both sides of τ/dt"
            Expect.equal (Figure1.define p).Jobs.Length 16 "Figure 1 on all 16 tasks"
            Expect.isEmpty (Table2.define p).Jobs "no Table 2 at quick"
            Expect.isEmpty (HyperparameterGrid.define p).Jobs "no grid at quick"
        testCase "night trains to the criterion and runs Table 2; the profiles grow in cost" <| fun () ->
            let p = Profiles.night
            let table1 = (Table1.define p).Jobs
            Expect.isTrue (table1 |> List.forall (fun j -> j.Config.StopAtCriterion && j.Config.Networks >= 10)) "Table 1 to the 0.99 criterion, at least 10 networks"
            let figure1 = (Figure1.define p).Jobs |> List.map (fun j -> j.Key) |> Set.ofList
            Expect.isTrue (table1 |> List.filter (fun j -> j.Config.Method = Control) |> List.forall (fun j -> figure1.Contains j.Key)) "Table 1's control runs are Figure 1's"
            let table2 = (Table2.define p).Jobs
            Expect.equal table2.Length 8 "Table 2: 8 configurations"
            Expect.isTrue (table2 |> List.forall (fun j -> j.Config.Networks >= 10 && j.Config.MaxSteps >= 3000)) "at least 10 networks and 3,000 steps each"
            let cost (p: Profile) = ExperimentCatalog.all |> List.collect (fun (_, define) -> (define p).Jobs) |> List.distinctBy (fun j -> j.Key) |> List.sumBy Job.cost
            let costs = [ Profiles.tiny; Profiles.quick; Profiles.night; Profiles.paper ] |> List.map cost
            Expect.equal costs (List.sort costs) (sprintf "tiny < quick < night < paper in cost: %A" costs)
            Expect.isGreaterThan (cost Profiles.night / cost Profiles.quick) 5.0 "night is several quick runs"
        testCase "the paper profile has the paper's sizes" <| fun () ->
            let p = Profiles.paper
            Expect.equal ((Figure1.define p).Jobs.Length) 16 "Figure 1: control on 16 tasks"
            Expect.equal ((Figure3.define p).Jobs.Length) (16 * 5 * 3) "Figure 3: 16 tasks × 5 θ × 3 methods"
            let grid = (HyperparameterGrid.define p).Jobs
            let count m = grid |> List.filter (fun j -> j.Config.Method.Name = m) |> List.sumBy (fun j -> j.Config.Networks)
            Expect.equal (count "sctt") 43200 "43,200 SCTT networks (paper §4)"
            Expect.equal (count "dasc") 43200 "43,200 DASC networks"
            Expect.equal (count "cd") 4800 "4,800 CD networks"
            let table1 = (Table1.define p).Jobs
            let variant (j: Job) = j.Config.Task.EndsWith "-authors"
            Expect.isTrue (table1 |> List.forall (fun j -> grid |> List.exists (fun g -> g.Key = j.Key) || j.Config.Method = Control || variant j))
                "Table 1's runs of the standard tasks at the paper's scale are runs of the grid (so they are trained once)"
            Expect.equal (table1 |> List.filter variant |> List.map (fun j -> j.Config.Task) |> List.distinct |> List.sort)
                [ "dmc-authors"; "dnmc-authors"; "dnms-authors" ] "and the authors' dnms, dmc and dnmc, whose numbers the paper reports"
        testCase "Table 2 runs the authors' settings (main_rulereversaltask*.py), ours only where their code has none" <| fun () ->
            // label, method's β0, step count, β'0, ours only. Theirs: typeno 0 control (step 1, no annealing);
            // _cd.py CD10 (step 2: θ = 10, then 1); typeno 1/3 SCTT40 (step 11, β0 0.8); typeno 2/4 DASC40 (step 2,
            // β0 0.5); strategic skips reuse the method's ratio. Their "control + strategic" (typeno 7) keeps β' = 1
            // and they have no CD + strategic: those two are ours.
            let expected =
                [ "Control", nan, 0, None, false
                  "CD10", nan, 1, None, false
                  "SCTT40", 0.8, 10, None, false
                  "DASC40", 0.5, 1, None, false
                  "Control + strategic SC", nan, 5, Some 0.5, true
                  "CD10 + strategic SC", nan, 1, Some 0.5, true
                  "SCTT40 + strategic SC", 0.8, 10, Some 0.8, false
                  "DASC40 + strategic SC", 0.5, 1, Some 0.5, false ]
            let jobs = (Table2.define Profiles.paper).Jobs
            Expect.equal (jobs |> List.map (fun j -> j.Config.Label)) (expected |> List.map (fun (l, _, _, _, _) -> l)) "the eight cells"
            for (label, beta0, stepCount, strategic, ours), job, row in List.zip3 expected jobs Table2.configurations do
                let c = job.Config
                Expect.equal c.StepCount stepCount (label + ": step count")
                Expect.equal c.StrategicRatio strategic (label + ": β'0")
                Expect.equal row.OursOnly ours (label + ": ours or theirs")
                match c.Method with
                | SCTT (40, b) | DASC (40, b) -> Expect.equal b beta0 (label + ": β0")
                | CD theta0 -> Expect.equal theta0 10.0 (label + ": θ0")
                | Control -> ()
                | other -> failtestf "%s: %A" label other
                Expect.equal (c.MaxSteps, c.AnnealSteps, c.Trials, c.EvaluationTrials, c.EvaluateEvery) (10000, 5000, 40, 40, 10)
                    (label + ": 10,000 steps, annealing over 5,000, 40 sequences per batch, 40 per evaluation every 10 steps")
                Expect.isFalse c.StopAtCriterion (label + ": a fixed budget")
                Expect.isFalse c.FreezeDiverged (label + ": no network frozen, as the authors")
                Expect.isTrue c.FreshOptimizerPerStage (label + ": CD's fresh Adam at the change of θ")
            // CD10 at step count 1 over 5,000 annealing steps: θ = 10 for 2,500 steps, then the base model.
            let cd = (jobs |> List.find (fun j -> j.Config.Label = "CD10")).Config.Schedule
            Expect.equal (cd.IntegratorAt 2499, cd.IntegratorAt 2500) (SkipRnn.Model.CoarseEuler 10.0, SkipRnn.Model.Euler) "θ = 10 until step 2,500"

        testCase "the paper's tables are copied in full" <| fun () ->
            let values = PaperValues.load (Path.Combine(AppContext.BaseDirectory, "paper"))
            let table1 = values |> List.filter (fun v -> v.Source = "table1")
            Expect.equal table1.Length (9 * 6 * 3) "9 tasks × 6 methods × 3 quantities"
            Expect.equal (table1 |> List.filter (fun v -> v.Failed) |> List.length) 18 "dgo and danti failed for control, CD10 and DASC10, in all 3 quantities"
            Expect.equal (values |> List.filter (fun v -> v.Source = "table2") |> List.length) 8 "Table 2: 2 rows × 4 methods"
            let dmcControl = table1 |> List.find (fun v -> v.Quantity = "steps_1e4" && v.Row = "dmc" && v.Method = "Control")
            Expect.equal dmcControl.Value (Some 0.196) "dmc, control: 0.196 × 10⁴ steps"
    ]

[<Tests>]
let dynamicsTests =
    testList "dynamics comparison (Figure 3)" [
        testCase "CD's coarse states are paired with the true states at the same time of the same period" <| fun () ->
            // θ = 40 (0.2 s steps): the 0.5 s periods round down to 0.4 s, and the 1 s burn-in does not.
            let task = (Catalog.tryFind "dmc").Value
            let settings timing = { Trials = 2; Timing = timing; Jittered = false; Buffers = None }
            let fine = task.Generate (settings Timing.Default) (SkipRnn.Numerics.Rng.Create 3UL)
            let coarse = task.Generate (settings (Timing.Default.Coarsened 40.0)) (SkipRnn.Numerics.Rng.Create 3UL)
            let pairs = DynamicsComparison.coarsePairs coarse fine 40
            Expect.isNonEmpty pairs "some pairs"
            let periodOf (b: TrialBatch) (step: int) = b.Periods |> Array.findIndex (fun p -> step >= p.Start && step < p.Start + p.Length)
            for c, f in pairs do
                let cs, fs = c / 2 + coarse.BurnIn, f / 2 + fine.BurnIn
                let pc, pf = periodOf coarse cs, periodOf fine fs
                Expect.equal pc pf (sprintf "coarse step %d and fine step %d in the same period" cs fs)
                Expect.equal ((fs - fine.Periods[pf].Start + 1) * 5) ((cs - coarse.Periods[pc].Start + 1) * 200)
                    (sprintf "the same time after the period's start (ms), steps %d and %d" cs fs)
                Expect.equal (c % 2) (f % 2) "the same trial"
            let counted = pairs |> List.map fst |> List.distinct |> List.length
            Expect.equal counted (coarse.TrainedSteps * 2) "every coarse state after the burn-in is paired"

        testCase "with β = 1 the skips change nothing: distance 0 and no performance difference" <| fun () ->
            let config = Runs.held Profiles.tiny "go" (SCTT(10, 1.0)) 2
            let task = (Catalog.tryFind "go").Value
            use trainer = new Trainer(config, task, 2)
            for _ in 1 .. 2 do trainer.TrainStep() |> ignore
            let m = DynamicsComparison.measure trainer task
            for d in m.Distances do Expect.floatClose Accuracy.veryHigh d 0.0 "same trials, same noise, same trajectory"
            Expect.sequenceEqual m.PerformanceModified m.PerformanceTrue "same performance"
        testCase "SCTT with β = 0.5 moves the trajectory; CD's coarse states are paired and finite below τ/dt" <| fun () ->
            let task = (Catalog.tryFind "go").Value
            let measure method =
                use trainer = new Trainer(Runs.held Profiles.tiny "go" method 1, task, 2)
                trainer.TrainStep() |> ignore
                DynamicsComparison.measure trainer task
            let sctt = measure (SCTT(10, 0.5))
            Expect.all sctt.Distances (fun d -> d > 1e-4 && Double.IsFinite d) "SCTT's skips are felt"
            let cd = measure (CD 5.0)
            Expect.all cd.Distances (fun d -> Double.IsFinite d && d < 1.0) "CD5 stays near the true dynamics"
            Expect.stringContains cd.Alignment "(j+1)·θ − 1" "the figure is told how states were paired"
    ]

[<Tests>]
let storeTests =
    testList "results store" [
        testCase "ingesting a job twice stores it once" <| fun () ->
            let root = temporaryFolder "store"
            let layout = { Root = root }
            let job = Job.training { Runs.control Profiles.tiny "go" 5 with EvaluateEvery = 5 }
            match JobRunner.run job (layout.JobFolder job) (Some 2) (fun _ _ -> ()) ignore CancellationToken.None with
            | JobRunner.Finished -> ()
            | other -> failtestf "the job did not finish: %A" other
            use store = ResultStore.OpenOrFail layout.Store
            let record =
                match JobFolder.read job.Kind (layout.JobFolder job) with
                | Ok r -> r
                | Error e -> failtest e
            Expect.isTrue (store.Ingest record) "the first ingest stores it"
            Expect.isFalse (store.Ingest record) "the second ingest does nothing"
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs")) 1L "one run row"
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM evaluations")) 1L "one evaluation row (step 5)"
        testCase "a killed experiment resumes without training a stored run again and without duplicates" <| fun () ->
            let root = temporaryFolder "resume"
            let args = [ "experiment"; "run"; "figure1"; "--profile"; "tiny"; "--results"; root; "--workers"; "1" ]
            // First invocation: killed as soon as its first run is stored.
            let first =
                use p = start args
                let rec waitForStored () =
                    match p.StandardOutput.ReadLine() with
                    | null -> None
                    | line ->
                        match storedKey line with
                        | Some key -> Some key
                        | None -> waitForStored ()
                let key = waitForStored ()
                if not p.HasExited then p.Kill true
                p.WaitForExit()
                match key with Some k -> k | None -> failtestf "no run was stored: %s" (p.StandardError.ReadToEnd())
            let record = Path.Combine(root, "runs", first, "run.json")
            let before = File.ReadAllText record, File.GetLastWriteTimeUtc record
            // Second invocation: finishes the experiment.
            let code, lines, err = runCli args
            Expect.equal code 0 (sprintf "the restart exits 0 (%s)" err)
            Expect.isFalse (lines |> List.exists (fun l -> l = "training " + first)) "the stored run is not trained again"
            Expect.equal (File.ReadAllText record, File.GetLastWriteTimeUtc record) before "its record is untouched"
            // Third invocation: nothing left to train.
            let code, lines, _ = runCli args
            Expect.equal code 0 "a third run exits 0"
            Expect.isEmpty (lines |> List.filter (fun l -> l.StartsWith "training ")) "and trains nothing"
            use store = ResultStore.OpenOrFail(Path.Combine(root, "skiprnn.duckdb"))
            let jobs = (Figure1.define Profiles.tiny).Jobs
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs")) (int64 jobs.Length) "each job stored once"
            Expect.equal (store.Scalar<int64>("SELECT count(DISTINCT job_key) FROM runs")) (int64 jobs.Length) "no duplicate keys"
            Expect.equal (store.Keys()) (jobs |> List.map (fun j -> j.Key) |> Set.ofList) "exactly the experiment's jobs"
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM (SELECT job_key, eval_index FROM evaluations GROUP BY ALL HAVING count(*) > 1)")) 0L
                "no evaluation stored twice"
    ]

/// The figures' data as the page carries it: chart id → Plotly figure JSON.
let private chartsIn (html: string) =
    Regex.Matches(html, "<script type=\"application/json\" data-figure=\"([^\"]+)\">(.*?)</script>", RegexOptions.Singleline)
    |> Seq.map (fun m -> m.Groups[1].Value, JsonDocument.Parse(m.Groups[2].Value.Replace("<\\/", "</")))
    |> List.ofSeq

let private hasData (figure: JsonDocument) =
    figure.RootElement.GetProperty("data").EnumerateArray()
    |> Seq.exists (fun trace ->
        [ "x"; "y"; "z" ] |> List.exists (fun axis ->
            match trace.TryGetProperty axis with
            | true, v when v.ValueKind = JsonValueKind.Array -> v.GetArrayLength() > 0
            | _ -> false))

[<Tests>]
let reportTests =
    testList "report" [
        testCase "the report of a small store holds every figure, each with data" <| fun () ->
            let layout = { Root = temporaryFolder "report" }
            use store = ResultStore.OpenOrFail layout.Store
            for _, define in ExperimentCatalog.all do
                let completed = Pipeline.run store layout Profiles.tiny.Name (define Profiles.tiny) (Some 2) ignore CancellationToken.None
                Expect.isTrue completed "every tiny experiment completes"
            store.ReplacePaperValues(PaperValues.load (Path.Combine(AppContext.BaseDirectory, "paper")))
            let path, claims, sections = ReportBuilder.write store "tiny" layout.Report
            let html = File.ReadAllText path
            Expect.equal (claims |> List.map (fun c -> c.Id)) [ for i in 1 .. 8 -> sprintf "C%d" i ] "the eight claims, in order"
            Expect.stringContains html "<table class=\"claims\">" "the claims table is in the page"
            Expect.isLessThan (html.IndexOf "<table class=\"claims\">") (html.IndexOf "<section id=\"figure-1b\">") "before every figure"
            Expect.stringContains html (SkipRnn.Results.Claims.PaperClaims.summary claims) "with the one-line answer"
            let stored = store.Scalar<int64>("SELECT count(*) FROM claims WHERE profile = 'tiny'", [])
            Expect.equal stored 8L "the verdicts are in the store"
            let charts = chartsIn html
            for id in [ "figure-1b"; "figure-1c"; "figure-3b"; "figure-3c"; "appendix-e"; "grid" ] do
                let mine = charts |> List.filter (fun (chart, _) -> chart.StartsWith(id + "-chart-"))
                Expect.isNonEmpty mine (sprintf "%s is in the page" id)
                Expect.isTrue (mine |> List.forall (snd >> hasData)) (sprintf "every chart of %s has data" id)
            Expect.stringContains html "<table class=\"table1\">" "Table 1 is a table"
            Expect.stringContains html "<td class=\"task\">dmc<div class=\"note\">corrected task" "with our dmc row, noted as the corrected task"
            Expect.stringContains html "<td class=\"task\">dmc (authors' code)<div class=\"note\">the task the paper trained" "and the authors' dmc right below it"
            Expect.equal (Regex.Matches(html, "<div class=\"paper\"><b>1,960</b></div>").Count) 2 "the paper's dmc value beside both rows"
            Expect.stringContains html "<div class=\"paper\"><b>1,960</b></div>" "and the paper's value beside it (dmc, control: 0.196 × 10⁴, bold)"
            for s in sections |> List.filter (fun s -> s.Id <> "table-2-paper") do
                Expect.stringContains s.Scale "Profile tiny" (sprintf "%s says which profile made it" s.Id)
            Expect.isFalse (Regex.IsMatch(html, "<script[^>]+src=")) "plotly.js is inlined, not fetched: the page opens offline"
            Expect.stringContains html "Plotly.newPlot" "and the figures are drawn by it"
    ]

let private rejects (args: string list) (expected: string) =
    let code, _, err = CliTests.run args
    Expect.equal code 2 (sprintf "exit code of %A (stderr: %s)" args err)
    let lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries)
    Expect.equal lines.Length 1 (sprintf "one line on stderr, got: %s" err)
    Expect.stringContains lines[0] expected "says what is wrong"

[<Tests>]
let experimentCliTests =
    testList "experiment command line" [
        testCase "unknown experiment" <| fun () ->
            rejects [ "experiment"; "run"; "figure9"; "--results"; temporaryFolder "cli" ] "unknown experiment 'figure9'"
        testCase "unknown profile" <| fun () ->
            rejects [ "experiment"; "run"; "figure1"; "--profile"; "huge"; "--results"; temporaryFolder "cli" ] "unknown profile 'huge'"
        testCase "unwritable results folder" <| fun () ->
            let blocker = Path.GetTempFileName()
            rejects [ "experiment"; "run"; "figure1"; "--profile"; "tiny"; "--results"; Path.Combine(blocker, "results") ] "cannot write"
        testCase "report of an unknown profile" <| fun () ->
            rejects [ "report"; "--profile"; "huge" ] "unknown profile 'huge'"
        testCase "a report of a results folder without a store is refused, and makes none" <| fun () ->
            let folder = Path.Combine(Path.GetTempPath(), "skiprnn-no-results-" + string (Guid.NewGuid()))
            rejects [ "report"; "--results"; folder ] "no results store at"
            Expect.isFalse (File.Exists(Path.Combine(folder, "skiprnn.duckdb"))) "no store made"
    ]
