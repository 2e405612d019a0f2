/// The C# surface (SkipRnn.Api): options checked as the CLI checks them, training with progress and
/// cancellation, a task defined in C# trained with every method, an experiment of one's own into the store, and
/// the C# training example built against the package.
module SkipRnn.Tests.ApiTests

open System
open System.IO
open System.Threading
open Expecto
open SkipRnn.Api
open SkipRnn.Training
open SkipRnn.IO

let private csharpTask = CSharpTraining.TwoIntervalComparison()
let private taskName = CSharpTraining.TwoIntervalComparison.TaskName

/// A few seconds of training: the C# task's short trials (56 steps), 2 networks of 10 units, 6 steps.
let private tiny (scope: RunOptions -> unit) =
    TaskCatalog.Register csharpTask
    let o =
        RunOptions(Task = taskName, Networks = Nullable 2, Units = Nullable 10, MaxSteps = Nullable 6, EvaluateEvery = Nullable 3,
                   EvaluationTrials = Nullable 8, Trials = Nullable 4, AnnealSteps = Nullable 4, StepCount = Nullable 1,
                   BurnIn = Nullable 0.04, Fixation = Nullable 0.04, Stimulus = Nullable 0.04, Delay = Nullable 0.08,
                   Response = Nullable 0.04, Grace = Nullable 0.01, Jitter = Nullable 0.0, Skip = Nullable 4.0)
    scope o
    o

/// `skiprnn train` with these options (and a one-step budget, should it accept them); its message.
let private cliMessage (args: string list) =
    let out = Path.Combine(Path.GetTempPath(), "never-" + Guid.NewGuid().ToString("N"))
    let code, _, err = CliTests.run ("train" :: args @ [ "--max-steps"; "1"; "--quiet"; "--out"; out ])
    Expect.equal code 2 (sprintf "the CLI refuses %A (stderr: %s)" args err)
    err.Trim().Substring("skiprnn: ".Length)

/// The ArgumentException that `f` throws (the test fails if it throws none).
let private refused (f: unit -> unit) (what: string) : ArgumentException =
    try
        f ()
        failtestf "%s: no ArgumentException" what
    with :? ArgumentException as e -> e

let private scratch () =
    let d = Path.Combine(Path.GetTempPath(), "skiprnn-api-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

[<Tests>]
let optionTests =
    testList "C# API options" [
        testCase "bad options are refused with the message the CLI prints for them" <| fun () ->
            let cases: (RunOptions * string list) list =
                [ RunOptions(Task = "dlygo", Method = "dasc", Skip = Nullable 2.5), [ "--task"; "dlygo"; "--method"; "dasc"; "--skip"; "2.5" ]
                  RunOptions(Task = "dlygo", Method = "rnn"), [ "--task"; "dlygo"; "--method"; "rnn" ]
                  RunOptions(Task = "dlygo", Method = "sctt", InitRatio = Nullable 1.5), [ "--task"; "dlygo"; "--method"; "sctt"; "--init-ratio"; "1.5" ]
                  RunOptions(Task = "nosuchtask"), [ "--task"; "nosuchtask" ]
                  RunOptions(Method = "dasc"), [ "--method"; "dasc" ]
                  RunOptions(Task = "go", Networks = Nullable 0), [ "--task"; "go"; "--networks"; "0" ]
                  RunOptions(Task = "go", Activation = "sigmoid"), [ "--task"; "go"; "--activation"; "sigmoid" ]
                  RunOptions(Task = "dlygo", Delay = Nullable 0.0), [ "--task"; "dlygo"; "--delay"; "0" ]
                  RunOptions(Task = "go", Grace = Nullable 0.6), [ "--task"; "go"; "--grace"; "0.6" ]
                  RunOptions(Task = "go", StrategicRatio = Nullable 0.5), [ "--task"; "go"; "--strategic-ratio"; "0.5" ] ]
            for options, args in cases do
                let expected = cliMessage args
                let e = refused (fun () -> options.Build() |> ignore) (sprintf "%A refused" args)
                // This process knows the tasks the tests registered, and lists them after the CLI's.
                if expected.Contains "known tasks:" then Expect.stringStarts e.Message (expected.TrimEnd(')')) (sprintf "the CLI's message for %A" args)
                else Expect.equal e.Message expected (sprintf "the CLI's message for %A" args)
                let mutable config = Unchecked.defaultof<RunConfiguration>
                let mutable error = null
                Expect.isFalse (options.TryBuild(&config, &error)) "TryBuild says no"
                Expect.equal error e.Message "with the same message"
                Expect.isNull config "and no configuration"

        testCase "RunOptions has a property for every key of config.json" <| fun () ->
            // Every property set (to any value of its type): the document must then hold every key of the schema, so
            // that a key added to ConfigSchema without its RunOptions property fails here.
            let o = RunOptions()
            for p in typeof<RunOptions>.GetProperties() do
                if p.CanWrite then
                    let value: obj =
                        match p.PropertyType with
                        | t when t = typeof<string> -> box "x"
                        | t when t = typeof<Nullable<float>> -> box (Nullable 1.0)
                        | t when t = typeof<Nullable<int>> -> box (Nullable 1)
                        | t when t = typeof<Nullable<bool>> -> box (Nullable true)
                        | t when t = typeof<Nullable<uint64>> -> box (Nullable 1UL)
                        | t -> failtestf "RunOptions.%s has a type this test does not know: %s" p.Name t.Name
                    p.SetValue(o, value)
            let document = o.ToDocument()
            let timing = match document["timing"] with :? Text.Json.Nodes.JsonObject as t -> t | _ -> Text.Json.Nodes.JsonObject()
            let written = [ for kv in document do if kv.Key <> "timing" then yield kv.Key ] @ [ for kv in timing -> kv.Key ]
            Expect.equal (Set.ofList written) (ConfigSchema.fields |> List.map (fun f -> f.Key) |> Set.ofList) "the keys written"
        testCase "good options give the configuration the CLI would train" <| fun () ->
            let c =
                RunOptions(Task = "dlygo", Method = "dasc", Skip = Nullable 40.0, Networks = Nullable 3, Seed = Nullable 7UL,
                           Dale = Nullable true, KeepOptimizer = Nullable false, StopAtCriterion = Nullable false, Delay = Nullable 0.8).Build()
            let expected =
                { RunConfig.Default with
                    Task = "dlygo"; Method = DASC(40, 0.5); Networks = 3; Seed = 7UL; Dale = true; StopAtCriterion = false
                    Timing = { RunConfig.Default.Timing with Delay = 0.8 } }
            Expect.equal c.Config expected "the record"
            Expect.equal c.Label "DASC40" "the paper's label"
            Expect.equal c.Skip (Nullable 40.0) "θ"
            Expect.equal c.InitRatio (Nullable 0.5) "β0"
            Expect.equal (RunConfiguration.FromJson(c.ToJson()).Config) expected "config.json round trip"
            let e = refused (fun () -> RunConfiguration.FromJson """{"task": "go", "netwroks": 3}""" |> ignore) "bad key"
            Expect.equal e.Message "unknown key 'netwroks' (did you mean 'networks'?)" "the config reader's message"

        testCase "a task name taken by a built-in task, or not a word, is refused" <| fun () ->
            let named (name: string) =
                { new ICustomTask with
                    member _.Name = name
                    member _.InputSize = 2
                    member _.OutputSize = 3
                    member _.Network = TaskNetwork.Population
                    member _.Scoring = TaskScoring.ByChoice
                    member _.BatchTrials = 20
                    member _.Periods _ = csharpTask.Periods(SkipRnn.Tasks.Timing.Default)
                    member _.WriteTrial t = csharpTask.WriteTrial t }
            let e = refused (fun () -> TaskCatalog.Register(named "dlygo")) "built-in name"
            Expect.equal e.Message "the task name 'dlygo' is taken by a built-in task" "message"
            let mutable error = null
            Expect.isFalse (TaskCatalog.TryRegister(named "a/b", &error)) "not a word"
            Expect.stringContains error "a task name must be a non-empty word" "message"
            Expect.isFalse (TaskCatalog.Contains "a/b") "not registered"

        testCase "a custom task is scored as it asks: readouts equal to its targets score 1, by choice or by fixation and direction" <| fun () ->
            // A go task written as a custom one: fixation input and output, a ring stimulus, respond at its direction.
            let ringTask (outputs: int) =
                { new ICustomTask with
                    member _.Name = "ring-go"
                    member _.InputSize = 1 + SkipRnn.Tasks.Ring.Units
                    member _.OutputSize = outputs
                    member _.Network = TaskNetwork.Population
                    member _.Scoring = TaskScoring.FixationAndDirection
                    member _.BatchTrials = 8
                    member _.Periods timing = [| TaskPeriod("fixation", timing.Fixation); TaskPeriod("response", timing.Response) |]
                    member _.WriteTrial t =
                        let direction = t.Uniform(0.0, 2.0 * Math.PI)
                        t.SetInput("fixation", 0, 1.0f)
                        t.SetTarget("fixation", 0, 0.85f)
                        for k in 0 .. SkipRnn.Tasks.Ring.Units - 1 do
                            t.SetInput("fixation", 1 + k, float32 (SkipRnn.Tasks.Ring.tuning direction k))
                            t.SetTarget("fixation", 1 + k, 0.05f)
                            t.SetTarget("response", 1 + k, float32 (SkipRnn.Tasks.Ring.tuning direction k + 0.05))
                        t.SetTarget("response", 0, 0.05f)
                        t.Respond direction }
            let e = refused (fun () -> TaskCatalog.Register(ringTask 5)) "a ring score needs a ring"
            Expect.stringContains e.Message "fixation-and-direction scoring needs 33 outputs" "message"
            for task in [ CustomTask.definition (ringTask 33); CustomTask.definition csharpTask ] do
                let b = task.Generate { Trials = 6; Timing = SkipRnn.Tasks.Timing.Default; Jittered = true; Buffers = None } (SkipRnn.Numerics.Rng.Create(2UL))
                let perfect = ReadOnlySpan(b.Targets, b.BurnIn * b.Trials * b.OutputSize, b.TrainedSteps * b.Trials * b.OutputSize)
                Expect.equal (SkipRnn.Model.Performance.score b perfect b.OutputSize) 1.0 (task.Name + ": its targets score 1")
                let silent = Array.zeroCreate<float32> (b.TrainedSteps * b.Trials * b.OutputSize)
                Expect.isLessThan (SkipRnn.Model.Performance.score b (ReadOnlySpan silent) b.OutputSize) 0.9 (task.Name + ": silence does not")

        testCase "a C# task that writes to a period it does not have is refused with the periods it has" <| fun () ->
            let broken =
                { new ICustomTask with
                    member _.Name = "broken-task"
                    member _.InputSize = 1
                    member _.OutputSize = 2
                    member _.Network = TaskNetwork.Population
                    member _.Scoring = TaskScoring.ByChoice
                    member _.BatchTrials = 4
                    member _.Periods timing = [| TaskPeriod("cue", 0.3); TaskPeriod("go", 0.3) |]
                    member _.WriteTrial t = t.SetInput("delay", 0, 1.0f) }
            TaskCatalog.Register broken
            let e = refused (fun () -> RunOptions(Task = "broken-task").Build() |> ignore) "refused when checked"
            Expect.stringContains e.Message "the trial has no period 'delay' (its periods: burnin, cue, go)" "names the periods"
    ]

[<Tests>]
let trainingTests =
    testList "C# API training" [
        testCase "a task defined in C# trains with every method: progress, outcome, evaluations, weights, a saved run" <| fun () ->
            for method in [ "control"; "cd"; "sctt"; "dasc"; "dasc-last" ] do
                let config = (tiny (fun o -> o.Method <- method)).Build()
                let seen = ResizeArray<Evaluation>()
                let progress = { new IProgress<Evaluation> with member _.Report e = seen.Add e }
                let result = config.Train(progress, CancellationToken.None, 1)
                Expect.equal (seen |> Seq.map (fun e -> e.Step) |> List.ofSeq) [ 3; 6 ] (method + ": progress at every evaluation")
                Expect.equal result.Steps 6 "the budget"
                Expect.isTrue (result.Outcome = RunOutcome.Failed || result.Outcome = RunOutcome.Succeeded) "ended"
                Expect.equal result.Evaluations.Count 2 "both evaluations"
                Expect.equal result.Performances.Length 2 "one performance per network"
                Expect.equal result.Criterion (SkipRnn.Model.Performance.criterion result.Performances) "the criterion of the last evaluation"
                let w = result.Weights 1
                Expect.equal w.Recurrent.Length 100 "N × N"
                Expect.equal w.InputWeights.Length (w.InputUnits * 2) "W_in"
                Expect.equal w.OutputWeights.Length (3 * w.OutputUnits) "W_out"
                Expect.isTrue (w.Recurrent |> Array.exists (fun x -> x <> 0.0f)) "trained weights"
                // The same numbers as the core's own Trainer on the same configuration.
                use trainer = new Trainer(config.Config, (SkipRnn.Tasks.Catalog.tryFind taskName).Value, 1)
                let state = trainer.Run(ignore, CancellationToken.None)
                Expect.equal result.Performances state.Evaluations[1].Performances (method + ": as the core trains it")
                let folder = scratch ()
                result.Save folder
                let loaded = SkipRnn.Analysis.TrainedRun.Load folder
                Expect.equal (loaded.Evaluate(8, 5UL)) (result.Evaluate(8, 5UL)) "the saved run evaluates as the trained one"
                let e = refused (fun () -> (tiny (fun o -> o.Method <- "control"; o.Seed <- Nullable 9UL)).Build().Train().Save folder) "another run"
                Expect.stringContains e.Message "holds a different run" "refused"

        testCase "a run that needs more memory than the machine has is refused with the CLI's message" <| fun () ->
            let config = RunOptions(Task = "go", Trials = Nullable 2000000000).Build()
            let expected = cliMessage [ "--task"; "go"; "--trials"; "2000000000" ]
            Expect.stringStarts expected "this run needs about" "the CLI's refusal"
            let e = refused (fun () -> config.Train() |> ignore) "too big"
            Expect.equal e.Message expected "the same sentence"

        testCase "cancellation stops a run, which reports Interrupted and saves a checkpoint" <| fun () ->
            let config = (tiny ignore).Build()
            use cancel = new CancellationTokenSource()
            let progress = { new IProgress<Evaluation> with member _.Report _ = cancel.Cancel() }
            let result = config.Train(progress, cancel.Token)
            Expect.equal result.Outcome RunOutcome.Interrupted "interrupted"
            Expect.equal result.Steps 3 "after the first evaluation"
            let folder = scratch ()
            result.Save folder
            Expect.isTrue (File.Exists(RunDirectory.checkpointFile folder)) "a checkpoint to resume from"
            Expect.isFalse (RunDirectory.isFinished folder) "not finished"
    ]

[<Tests>]
let experimentTests =
    testList "C# API experiments" [
        testCase "an experiment of C#-task configurations runs into the results store, once" <| fun () ->
            let control = (tiny (fun o -> o.Method <- "control")).Build()
            let dasc = (tiny (fun o -> o.Method <- "dasc")).Build()
            let experiment = ExperimentDefinition("twointerval-methods", "Control and DASC on a C# task").Add(control).Add(dasc)
            let results = scratch ()
            let events = ResizeArray<ExperimentProgress>()
            let progress = { new IProgress<ExperimentProgress> with member _.Report e = events.Add e }
            let first = experiment.Run(results, "custom", progress, CancellationToken.None, 1)
            Expect.isTrue first.Completed "completed"
            Expect.equal (first.Runs |> Seq.map (fun r -> r.Label) |> List.ofSeq) [ "Control"; "DASC4" ] "both runs, in order"
            Expect.equal first.Runs[0].Outcome RunOutcome.Failed "a 6-step budget is not enough"
            Expect.equal (events |> Seq.filter (fun e -> e.Kind = ExperimentEventKind.Stored) |> Seq.length) 2 "both stored"
            Expect.equal first.Runs[1].Steps 6 "trained"
            use store = SkipRnn.Results.ResultStore.OpenOrFail first.StorePath
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs WHERE task = 'twointerval'")) 2L "two rows in the store"
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM experiment_jobs WHERE experiment = 'twointerval-methods' AND profile = 'custom'")) 2L "the plan"
            (store :> IDisposable).Dispose()
            events.Clear()
            let second = experiment.Run(results, "custom", progress, CancellationToken.None, 1)
            Expect.isTrue second.Completed "completed again"
            Expect.equal second.Runs.Count 2 "the same runs"
            Expect.isFalse (events |> Seq.exists (fun e -> e.Kind = ExperimentEventKind.Started)) "nothing trained twice"
            let e = refused (fun () -> ExperimentDefinition("no runs").Run(results) |> ignore) "bad name"
            Expect.stringContains e.Message "an experiment name must be" "message"
    ]

[<Tests>]
let exampleTests =
    testList "C# training example" [
        testCase "the packages carry their README, the MIT license expression, XML docs and a symbol package" <| fun () ->
            for id in [ "SkipRnn"; "SkipRnn.Results"; "SkipRnn.Experiments" ] do
                let nupkg = Path.Combine(Examples.packages (), id + ".0.1.0.nupkg")
                use zip = IO.Compression.ZipFile.OpenRead nupkg
                let entries = zip.Entries |> Seq.map (fun e -> e.FullName) |> Set.ofSeq
                Expect.isTrue (entries.Contains "README.md") (id + ": README")
                Expect.isTrue (entries.Contains(sprintf "lib/net10.0/%s.dll" id)) (id + ": the library")
                Expect.isTrue (entries.Contains(sprintf "lib/net10.0/%s.xml" id)) (id + ": its XML docs")
                use nuspec = new StreamReader((zip.GetEntry(id + ".nuspec")).Open())
                let text = nuspec.ReadToEnd()
                Expect.stringContains text """<license type="expression">MIT</license>""" (id + ": license expression")
                Expect.stringContains text "<readme>README.md</readme>" (id + ": readme")
                Expect.isTrue (File.Exists(Path.ChangeExtension(nupkg, ".snupkg"))) (id + ": symbols")
            use core = IO.Compression.ZipFile.OpenRead(Path.Combine(Examples.packages (), "SkipRnn.0.1.0.nupkg"))
            Expect.isFalse (core.Entries |> Seq.exists (fun e -> e.FullName.Contains "SkipRnn.Cli")) "the command line is not in the library's package"

        testCase "examples/CSharpTraining, built against the SkipRnn packages, trains control and DASC on its C# task, also as an experiment" <| fun () ->
            let out = scratch ()
            let code, stdout, stderr = Examples.run "CSharpTraining" [ out ]
            Expect.equal code 0 (sprintf "the C# program runs (stderr: %s)" stderr)
            Expect.stringContains stdout "refused: the skip length θ of dasc must be a whole number of steps, got 2.5" "bad options refused"
            for label in [ "Control"; "DASC10" ] do
                let line = Text.RegularExpressions.Regex(label + @": (Succeeded|Failed) after 300 steps, criterion ((0|1)\.\d{3})")
                let m = line.Match stdout
                Expect.isTrue m.Success (sprintf "%s's criterion after the fixed budget, in:\n%s" label stdout)
                // The experiment trains the same configuration through the job runner: the same networks.
                Expect.stringContains stdout (sprintf "stored %s: %s after 300 steps, criterion %s" label m.Groups[1].Value m.Groups[2].Value)
                    "the same run stored by the experiment"
            use store = SkipRnn.Results.ResultStore.OpenOrFail(Path.Combine(out, "results", "skiprnn.duckdb"))
            Expect.equal (store.Scalar<int64>("SELECT count(*) FROM runs WHERE task = 'twointerval'")) 2L "both runs in the store"
            for method in [ "control"; "dasc" ] do
                Expect.isTrue (RunDirectory.isFinished (Path.Combine(out, method))) (method + " saved as a finished run")
            let d = Npz.read (Path.Combine(out, "activity.npz"))
            Expect.equal d["states"].Shape[0] 8 "8 trials of activity"
            Expect.equal (d["task"] |> function TextArray (_, t) -> t[0] | _ -> "") "twointerval" "of the C# task"
            Expect.isLessThan (ActivityTests.replay d) 1e-4 "and they replay"
    ]
