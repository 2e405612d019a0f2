/// Small hand-made trial batches for the numerical tests: they exercise every code path of the engine
/// (several constant-input segments, loss weights on part of the steps, a burn-in) at a size where
/// finite differences are cheap.
module SkipRnn.Tests.Synthetic

open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

/// A batch whose periods have the given lengths (the first is the burn-in), inputs constant within each
/// period and drawn per trial, targets in (0.1, 0.9), and loss on every trained step.
let batch (seed: uint64) (trials: int) (dt: float) (inputs: int) (outputs: int) (periodLengths: int list) =
    let rng = Rng.Create(seed, 99UL)
    let steps = List.sum periodLengths
    let starts = periodLengths |> List.scan (+) 0 |> List.take periodLengths.Length
    let periods =
        List.zip starts periodLengths
        |> List.mapi (fun k (s, l) -> { Name = (if k = 0 then "burnin" else sprintf "p%d" k); Start = s; Length = l })
        |> Array.ofList
    let burnIn = periodLengths.Head
    let x = Array.zeroCreate<float32> (steps * trials * inputs)
    let y = Array.zeroCreate<float32> (steps * trials * outputs)
    let w = Array.zeroCreate<float32> (steps * trials)
    for p in periods do
        let values = Array.init (trials * inputs) (fun _ -> float32 (rng.Uniform(-1.0, 1.0)))
        let targets = Array.init (trials * outputs) (fun _ -> float32 (rng.Uniform(0.1, 0.9)))
        for t in p.Start .. p.Start + p.Length - 1 do
            System.Array.Copy(values, 0, x, t * trials * inputs, trials * inputs)
            System.Array.Copy(targets, 0, y, t * trials * outputs, trials * outputs)
    let trained = steps - burnIn
    for t in burnIn .. steps - 1 do
        for b in 0 .. trials - 1 do
            w[t * trials + b] <- float32 (1.0 / float (trained * trials * outputs))
    { Task = "synthetic"; Trials = trials; Steps = steps; BurnIn = burnIn; Dt = dt
      InputSize = inputs; OutputSize = outputs; Inputs = x; Targets = y; LossWeights = w
      Periods = periods
      FixationWindow = { Start = burnIn; Length = 0 }
      ResponseWindow = { Start = steps; Length = 0 }
      FixationShare = 0.5
      Scoring = Scoring.standard
      Answers = Array.create trials Fixate
      Conditions = Array.create trials { Stimuli = [||]; Match = ValueNone; Rules = [||] }
      Boundaries = [||]
      Feedback = ValueNone }

/// The same trials on a grid θ times coarser (every period length must be divisible by θ).
let coarsen (theta: int) (b: TrialBatch) =
    let pick (data: float32[]) (row: int) =
        Array.init (b.Steps / theta * row) (fun i ->
            let t = i / row
            data[(t * theta) * row + i % row])
    { b with
        Steps = b.Steps / theta
        BurnIn = b.BurnIn / theta
        Dt = b.Dt * float theta
        Inputs = pick b.Inputs (b.Trials * b.InputSize)
        Targets = pick b.Targets (b.Trials * b.OutputSize)
        LossWeights = pick b.LossWeights b.Trials
        Periods = b.Periods |> Array.map (fun p -> { p with Start = p.Start / theta; Length = p.Length / theta }) }

/// A tiny standard-layout architecture for gradient checks.
let architecture (units: int) (inputs: int) (outputs: int) (activation: Activation) (dale: bool) =
    { Architecture.Standard(units, inputs, outputs) with
        Activation = activation; Dale = dale
        // Larger than the paper's 1e-5 so that the regularizers' gradients are visible to the checks.
        ActivityRegularization = 1e-2; WeightRegularization = 1e-2 }
