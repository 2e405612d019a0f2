module SkipRnn.Tests.TrainingTests

open System.Threading
open Expecto
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

[<Tests>]
let scheduleTests =
    testList "annealing schedules" [
        testCase "CD with step count 5 goes 10, 8, 6, 4, 2, 1 and then the base model" <| fun () ->
            let s = { Method = CD 10.0; StepCount = 5; AnnealSteps = 20000; Hold = false }
            let at step = match s.IntegratorAt step with CoarseEuler t -> t | Euler -> 1.0 | other -> failwithf "%A" other
            Expect.equal [ for k in 0 .. 5 -> at (k * 3333) ] [ 10.0; 8.0; 6.0; 4.0; 2.0; 1.0 ] "stages"
            Expect.equal (s.IntegratorAt 20000) Euler "after annealing"
        testCase "DASC with step count 5 and β0 0.5 goes 0.5, 0.6, …, 1.0 (paper §4)" <| fun () ->
            let s = { Method = DASC(40, 0.5); StepCount = 5; AnnealSteps = 20000; Hold = false }
            let betas = [ for k in 0 .. 5 -> match s.IntegratorAt(k * 3333 + 1) with DynamicsAligned (40, b) -> b | other -> failwithf "%A" other ]
            for (a, e) in List.zip betas [ 0.5; 0.6; 0.7; 0.8; 0.9; 1.0 ] do Expect.floatClose Accuracy.veryHigh a e "β"
            Expect.equal (s.IntegratorAt 19998) Euler "the last 20000 mod 6 steps are already the base model"
        testCase "step count 1 means two stages, β0 then 1" <| fun () ->
            let s = { Method = SCTT(10, 0.2); StepCount = 1; AnnealSteps = 20000; Hold = false }
            Expect.equal (s.IntegratorAt 0) (SkipThroughTime(10, 0.2)) "first half"
            Expect.equal (s.IntegratorAt 10000) (SkipThroughTime(10, 1.0)) "second half"
    ]

let private trainFor (config: RunConfig) steps =
    let task = (Catalog.tryFind config.Task).Value
    use trainer = new Trainer(config, task, 2)
    [ for _ in 1 .. steps do
        trainer.TrainStep() |> ignore
        yield trainer.State.LastLosses |> Array.average ]

[<Tests>]
let learningTests =
    testList "learning" [
        testCase "networks on go lower their loss clearly within 40 steps" <| fun () ->
            // Wrong gradients (a flipped sign, a missing term) leave the loss flat or make it rise; correct
            // ones bring it to about 0.3 of its start (0.31 of 0.55 measured).
            let losses = trainFor { RunConfig.Default with Task = "go"; Networks = 3; Seed = 4UL } 40
            Expect.isLessThan (List.last losses) (0.7 * List.head losses) (sprintf "loss went %.3f → %.3f" (List.head losses) (List.last losses))
        testCase "DASC40 also learns and leaves no network diverged" <| fun () ->
            let config = { RunConfig.Default with Task = "dlygo"; Method = DASC(40, 0.5); Networks = 2; Seed = 4UL }
            let losses = trainFor config 30
            Expect.isLessThan (List.last losses) (0.8 * List.head losses) (sprintf "loss went %.3f → %.3f" (List.head losses) (List.last losses))
        testCase "CD beyond τ/dt diverges and is recorded, not crashed on (Appendix E)" <| fun () ->
            let config = { RunConfig.Default with Task = "dlygo"; Method = CD 40.0; StepCount = 1; Networks = 2; Seed = 1UL }
            let task = (Catalog.tryFind "dlygo").Value
            use trainer = new Trainer(config, task, 2)
            for _ in 1 .. 3 do trainer.TrainStep() |> ignore
            Expect.all trainer.State.DivergedAt (fun d -> d >= 0) "every network diverged at θ = 40"
            // θ = 10 (below τ/dt = 20) stays stable with the same weights and trials.
            use stable = new Trainer({ config with Method = CD 10.0 }, task, 2)
            for _ in 1 .. 3 do stable.TrainStep() |> ignore
            Expect.all stable.State.DivergedAt (fun d -> d < 0) "no network diverges at θ = 10"
            let e = trainer.Evaluate Euler
            Expect.all e.Performances (fun p -> not (System.Double.IsNaN p)) "frozen networks are still evaluated"
        testCase "a run is reproducible and independent of the number of workers" <| fun () ->
            let config = { RunConfig.Default with Task = "dm1"; Method = SCTT(10, 0.5); Networks = 3; Seed = 9UL }
            let task = (Catalog.tryFind "dm1").Value
            let final workers =
                use trainer = new Trainer(config, task, workers)
                for _ in 1 .. 5 do trainer.TrainStep() |> ignore
                Array.copy trainer.State.Parameters.Values
            Expect.sequenceEqual (final 1) (final 2) "same parameters with 1 and 2 workers"
    ]
