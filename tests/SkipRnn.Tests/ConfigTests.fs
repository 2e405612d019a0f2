/// The configuration schema: one table behind config.json and the options of `skiprnn train`.
module SkipRnn.Tests.ConfigTests

open System
open System.IO
open Argu
open Expecto
open SkipRnn.Training
open SkipRnn.IO
open SkipRnn.Cli.Arguments

let private parser = ArgumentParser.Create<TrainArgs>(programName = "skiprnn train")

/// What `skiprnn train` would train with these options (or the one line it would refuse them with).
let private configOf (args: string list) =
    try Ok(SkipRnn.Cli.TrainCommand.configOf (parser.ParseCommandLine(Array.ofList args)))
    with SkipRnn.Cli.Output.UserError message -> Error message

let private withFile (json: string) (args: string list) =
    let path = Path.GetTempFileName()
    File.WriteAllText(path, json)
    try configOf ("--config" :: path :: args) finally File.Delete path

let private notConfiguration = set [ "config"; "workers"; "device"; "out"; "quiet" ]

[<Tests>]
let configTests =
    testList "configuration schema" [
        testCase "every option of train sets one key of the schema, and every key has an option" <| fun () ->
            let options =
                Reflection.FSharpType.GetUnionCases(typeof<TrainArgs>)
                |> Array.map (fun c -> c.Name.ToLowerInvariant().Replace('_', '-'))
                |> Array.filter (notConfiguration.Contains >> not) |> Set.ofArray
            Expect.equal options (ConfigSchema.fields |> List.map (fun f -> f.Option) |> Set.ofList) "options = keys"
        testCase "the help text of an option is its key's" <| fun () ->
            let usage = parser.PrintUsage()
            for f in ConfigSchema.fields do
                let firstWords = f.Help.Substring(0, min 25 f.Help.Length)
                Expect.stringContains (usage.Replace("\n", " ").Replace("  ", "")) (firstWords.Replace("  ", "")) (sprintf "--%s" f.Option)
        testCase "an option and the same key in a file give the same configuration" <| fun () ->
            let fromOptions = configOf [ "--task"; "dlygo"; "--method"; "dasc"; "--skip"; "40"; "--networks"; "3"; "--dt"; "0.01"; "--no-early-stop"; "--dale"; "--keep-optimizer" ]
            let fromFile =
                withFile """{ "task": "dlygo", "method": "dasc", "skip": 40, "networks": 3, "timing": { "dt": 0.01 },
                              "stopAtCriterion": false, "dale": true, "freshOptimizerPerStage": false }""" []
            Expect.equal fromOptions fromFile "same config"
            let c = Result.defaultWith failwith fromOptions
            Expect.equal (c.Method, c.Networks, c.Timing.Dt, c.StopAtCriterion, c.Dale) (DASC(40, 0.5), 3, 0.01, false, true) "values"
        testCase "options override the file, key by key" <| fun () ->
            let c = withFile """{ "task": "go", "method": "sctt", "skip": 10, "initRatio": 0.8, "networks": 7 }""" [ "--skip"; "40" ] |> Result.defaultWith failwith
            Expect.equal (c.Method, c.Networks) (SCTT(40, 0.8), 7) "θ from the option, β0 and networks from the file"
        testCase "without a trials key, a task gets its own batch size, from a file as from the options" <| fun () ->
            let fromFile = withFile """{ "task": "rulereversal" }""" [] |> Result.defaultWith failwith
            let fromOptions = configOf [ "--task"; "rulereversal" ] |> Result.defaultWith failwith
            Expect.equal (fromFile.Trials, fromOptions.Trials) (40, 40) "40 sequences"
        testCase "a misspelled key is refused, naming the key it resembles" <| fun () ->
            Expect.equal (ConfigJson.parse """{ "task": "go", "netwroks": 2 }""") (Error "unknown key 'netwroks' (did you mean 'networks'?)") "top level"
            Expect.equal (ConfigJson.parse """{ "timing": { "dealy": 2.0 } }""") (Error "unknown key 'dealy' in 'timing' (did you mean 'delay'?)") "timing"
        testCase "null, a repeated key, a negative or fractional seed are refused" <| fun () ->
            Expect.equal (ConfigJson.parse """{ "task": "go", "networks": null }""") (Error "'networks' is null; leave the key out for its default") "null"
            Expect.equal (ConfigJson.parse """{ "task": "go", "networks": 2, "networks": 3 }""") (Error "a key appears twice") "repeated"
            Expect.stringContains (ConfigJson.parse """{ "task": "go", "seed": -5 }""" |> function Error e -> e | Ok _ -> "") "from 0 to 2^53" "negative seed"
            Expect.stringContains (ConfigJson.parse """{ "task": "go", "seed": 1.5 }""" |> function Error e -> e | Ok _ -> "") "whole number" "fractional seed"
            Expect.stringContains (ConfigJson.parse """{ "task": "go", "seed": 1e17 }""" |> function Error e -> e | Ok _ -> "") "2^53" "a seed a double cannot hold exactly"
            Expect.stringContains (ConfigJson.parse """{ "task": "go", "networks": 1e10 }""" |> function Error e -> e | Ok _ -> "") "whole number" "an int that does not fit"
        testCase "every key written is read back to the same configuration" <| fun () ->
            let c = { RunConfig.Default with Task = "rulereversal"; Method = CD 10.0; FreshOptimizerPerStage = false; StrategicRatio = Some 0.3
                                             LearningRate = Some 0.01; Timing = { RunConfig.Default.Timing with Delay = 2.0 } }
            Expect.equal (ConfigJson.parse (ConfigJson.toJson c)) (Ok c) "round trip"
    ]

let private golden name = File.ReadAllText(Path.Combine(__SOURCE_DIRECTORY__, "golden", name + ".json"))

[<Tests>]
let configBytesTests =
    testList "configuration bytes" [
        // config.json files written before the schema (control, CD, DASC, SCTT with strategic skips): job keys hash
        // these bytes, so reading and writing one again must give it back to the byte.
        for name in [ "go-control"; "dlygo-cd10"; "dlygo-dasc40"; "rr-strategic" ] do
            testCase (sprintf "%s.json, written by the earlier writer, is written again to the byte" name) <| fun () ->
                let text = golden name
                match ConfigJson.parse text with
                | Ok c -> Expect.equal (ConfigJson.toJson c) (text.TrimEnd('\n')) "same bytes"
                | Error e -> failtestf "not read: %s" e
        testCase "a file's default learning rate follows --units, as without a file" <| fun () ->
            let c = withFile (golden "go-control") [ "--units"; "100" ] |> Result.defaultWith failwith
            Expect.equal (c.Units, c.LearningRate, c.EffectiveLearningRate) (100, None, 0.001) "0.1/N of the new N"
            let kept = withFile """{ "task": "go", "learningRate": 0.01 }""" [ "--units"; "100" ] |> Result.defaultWith failwith
            Expect.equal kept.LearningRate (Some 0.01) "a rate of its own stays"
    ]

/// A random value for a key: a number of any size or sign, a whole number, text, a flag, null, or an object.
let private randomValue (rng: Random) : string =
    match rng.Next 9 with
    | 0 -> "null"
    | 1 -> (if rng.Next 2 = 0 then "true" else "false")
    | 2 -> sprintf "\"%s\"" ([| "go"; "dlygo"; "rulereversal"; "dasc"; "cd"; "sctt"; "relu"; "tanh"; ""; "x" |][rng.Next 10])
    | 3 -> "{}"
    | 4 -> string (rng.Next(-5, 60))
    | 5 -> sprintf "%g" (rng.NextDouble() * 2.0 - 0.5)
    | 6 -> sprintf "%g" (Math.Pow(10.0, float (rng.Next(-8, 12))))
    | 7 -> sprintf "%g" (-rng.NextDouble())
    | _ -> string (rng.Next(1, 4))

[<Tests>]
let randomConfigTests =
    testList "random configurations" [
        testCase "500 random documents are read into a configuration that trains a step, or refused in one sentence" <| fun () ->
            let rng = Random(18)
            let keys = ConfigSchema.fields |> List.filter (fun f -> not f.InTiming) |> List.map (fun f -> f.Key) |> Array.ofList
            let timingKeys = ConfigSchema.fields |> List.filter (fun f -> f.InTiming) |> List.map (fun f -> f.Key) |> Array.ofList
            let mutable trained = 0
            for _ in 1 .. 500 do
                let pick (from: string[]) count = [ for _ in 1 .. count -> from[rng.Next from.Length] ] |> List.distinct
                let entries = pick keys (rng.Next 6) |> List.map (fun k -> sprintf "\"%s\": %s" k (randomValue rng))
                let timing = pick timingKeys (rng.Next 3) |> List.map (fun k -> sprintf "\"%s\": %s" k (randomValue rng))
                let extra = if rng.Next 10 = 0 then [ "\"netwroks\": 2" ] else []
                let all = entries @ extra @ (if timing.IsEmpty then [] else [ sprintf "\"timing\": { %s }" (String.concat ", " timing) ])
                let json = sprintf "{ %s }" (String.concat ", " all)
                match (try ConfigJson.parse json with e -> failtestf "%s threw %s" json (e.GetType().Name)) with
                | Error message ->
                    Expect.isFalse (String.IsNullOrWhiteSpace message || message.Contains "\n") (sprintf "one sentence for %s" json)
                | Ok c ->
                    // Small enough to run here: the sizes capped, the rest as read.
                    let small = { c with Networks = 1; Trials = min c.Trials 3; EvaluationTrials = 2; MaxSteps = 1 }
                    match RunConfig.validate small with
                    | Error _ -> ()
                    | Ok small ->
                        RunConfig.memoryEstimate small |> ignore
                        use t = new Trainer(small, (SkipRnn.Tasks.Catalog.tryFind small.Task).Value, 1)
                        t.TrainStep() |> ignore
                        trained <- trained + 1
            Expect.isGreaterThan trained 25 "enough of them were valid to train"
    ]
