namespace SkipRnn.Analysis

open System
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine
open SkipRnn.Training
open SkipRnn.IO

/// What one export holds, before it is written.
type Activity =
    { Config: RunConfig
      Architecture: Architecture
      Network: int
      Batch: TrialBatch
      Plan: SkipPlan
      Parameters: Parameters
      Recording: Recording
      /// Describes the dynamics used: "true" or the method with θ and β.
      Dynamics: string
      Seed: uint64 }

/// Activity export (`skiprnn activity`): evaluation trials run through a trained network, written to one
/// NumPy .npz file with everything needed to replay them: parameters, inputs as applied, the noise samples,
/// the hidden states, readouts, targets, masks, periods, trial conditions, the skip plan, seed and config.
/// In Python: `d = numpy.load("activity.npz")`, then e.g. `d["states"]` (trials × steps+1 × units).
module ActivityExport =

    /// Runs `trials` fresh evaluation trials (nominal timing) of `config.Task` through network `network`, with
    /// the true dynamics or with a method's modified dynamics (`integrator`, on its own grid).
    let record (config: RunConfig) (parameters: Parameters) (network: int) (trials: int) (seed: uint64)
               (integrator: Integrator) (strategic: float option) =
        let task =
            match Catalog.tryFind config.Task with
            | Some t -> t
            | None -> invalidArg "config" (sprintf "unknown task %s" config.Task)
        let arch = parameters.Architecture
        if network < 0 || network >= parameters.Networks then
            invalidArg "network" (sprintf "network %d does not exist (the run has %d)" network parameters.Networks)
        let timing = config.Timing.Coarsened integrator.DtFactor
        let batch = task.Generate { Trials = trials; Timing = timing; Jittered = false; Buffers = None } (Rng.Create(seed, Streams.Analysis))
        let plan = Integrator.planWith integrator strategic batch
        let prepared = PreparedBatch.prepare arch batch
        use engine = new CpuEngine(arch, 1)
        let recording = engine.Record(parameters, network, prepared, plan, NoiseKey.Create(seed, Streams.Analysis, 0UL))
        let dynamics =
            match integrator, strategic with
            | Euler, None -> "true"
            | i, s -> sprintf "%A%s" i (match s with Some b -> sprintf " + strategic %g" b | None -> "")
        { Config = config; Architecture = arch; Network = network; Batch = batch; Plan = plan
          Parameters = parameters; Recording = recording; Dynamics = dynamics; Seed = seed }

    /// [time, trial, k] → [trial, time, k].
    let private trialMajor (data: float32[]) (steps: int) (trials: int) (width: int) =
        Array.init (data.Length) (fun i ->
            let b = i / (steps * width)
            let t = (i / width) % steps
            data[(t * trials + b) * width + i % width])

    let arrays (a: Activity) : (string * NdArray) list =
        let arch = a.Architecture
        let b = a.Batch
        let k = b.Trials
        let n = arch.Units
        let steps = b.Steps
        let weights =
            RunDirectory.weightArrays { a.Parameters with Networks = 1; Values = a.Parameters.Block(a.Network).ToArray() }
            |> List.map (fun (name, arr) ->
                match arr with
                | Float32Array (shape, data) -> name, Float32Array(shape[1..], data)
                | other -> name, other)
        let perStimulus (f: Stimulus -> 'a) (fallback: 'a) =
            let width = b.Conditions |> Array.map (fun c -> c.Stimuli.Length) |> Array.fold max 0
            width, Array.init (k * width) (fun i ->
                let s = b.Conditions[i / width].Stimuli
                if i % width < s.Length then f s[i % width] else fallback)
        let width, modality = perStimulus (fun s -> s.Modality) 0
        let _, direction = perStimulus (fun s -> s.Direction) nan
        let _, strength = perStimulus (fun s -> s.Strength) nan
        let _, stimulusPeriod = perStimulus (fun s -> s.Period) ""
        let rules = b.Conditions |> Array.map (fun c -> c.Rules)
        let ruleWidth = rules |> Array.fold (fun w r -> max w r.Length) 0
        let skips = a.Plan.Skips
        let choices = a.Recording.Choices
        let choiceCount = match b.Feedback with ValueSome f -> f.ChoiceSteps.Length | ValueNone -> 0
        let scalar (v: float) = Float64Array([||], [| v |])
        let text (s: string) = TextArray([||], [| s |])
        [ // what happened
          "states", Float32Array([| k; steps + 1; n |], trialMajor a.Recording.States (steps + 1) k n)
          "noise", Float32Array([| k; steps; n |], trialMajor a.Recording.Noise steps k n)
          "inputs", Float32Array([| k; steps; b.InputSize |], trialMajor a.Recording.Inputs steps k b.InputSize)
          "readouts", Float32Array([| k; b.TrainedSteps; b.OutputSize |], trialMajor a.Recording.Readouts b.TrainedSteps k b.OutputSize)
          "targets", Float32Array([| k; steps; b.OutputSize |], trialMajor b.Targets steps k b.OutputSize)
          "loss_weights", Float32Array([| k; steps |], trialMajor b.LossWeights steps k 1)
          "choices", Int32Array([| k; choiceCount |], Array.init (k * choiceCount) (fun i -> choices[(i % choiceCount) * k + i / choiceCount]))
          "performance", scalar a.Recording.Performance
          // the network
          yield! weights
          "alpha", Float32Array([| n |], Array.init n (fun i -> float32 (b.Dt / arch.TauOf i)))
          "tau", Float64Array([| n |], Array.init n arch.TauOf)
          "input_units", Int32Array([||], [| arch.InputUnits |])
          "output_start", Int32Array([||], [| arch.OutputStart |])
          "activation", text arch.Activation.Name
          "readout", text ((sprintf "%A" arch.Readout).ToLowerInvariant())
          "noise_scale", scalar arch.NoiseScale
          "noise_decay", scalar (1.0 - b.Dt / arch.NoiseTau)
          "noise_gain", scalar (sqrt (2.0 * b.Dt / arch.NoiseTau))
          // the trials
          "dt", scalar b.Dt
          "burn_in", Int32Array([||], [| b.BurnIn |])
          "period_names", TextArray([| b.Periods.Length |], b.Periods |> Array.map (fun p -> p.Name))
          "period_starts", Int32Array([| b.Periods.Length |], b.Periods |> Array.map (fun p -> p.Start))
          "period_lengths", Int32Array([| b.Periods.Length |], b.Periods |> Array.map (fun p -> p.Length))
          "stimulus_modality", Int32Array([| k; width |], modality)
          "stimulus_direction", Float64Array([| k; width |], direction)
          "stimulus_strength", Float64Array([| k; width |], strength)
          "stimulus_period", TextArray([| k; width |], stimulusPeriod)
          "match", Int32Array([| k |], b.Conditions |> Array.map (fun c -> match c.Match with ValueSome true -> 1 | ValueSome false -> 0 | ValueNone -> -1))
          "answer", TextArray([| k |], b.Answers |> Array.map (function Respond _ -> "respond" | Fixate -> "fixate" | Choose _ -> "choose"))
          "answer_direction", Float64Array([| k |], b.Answers |> Array.map (function Respond d -> d | _ -> nan))
          "answer_choice", Int32Array([| k |], b.Answers |> Array.map (function Choose c -> c | _ -> -1))
          "rules", Int32Array([| k; ruleWidth |], Array.init (k * ruleWidth) (fun i -> rules[i / ruleWidth][i % ruleWidth]))
          // the dynamics
          "dynamics", text a.Dynamics
          "skip_start", Int32Array([| skips.Length |], skips |> Array.map (fun s -> s.Start))
          "skip_end", Int32Array([| skips.Length |], skips |> Array.map (fun s -> s.End))
          "skip_level", Int32Array([| skips.Length |], skips |> Array.map (fun s -> s.Level))
          "skip_beta", Float64Array([| skips.Length |], skips |> Array.map (fun s -> float s.Beta))
          "skip_anchor_step", Int32Array([| skips.Length |], skips |> Array.map (fun s -> s.Anchor.Step))
          "skip_anchor_after_mixes", Int32Array([| skips.Length |], skips |> Array.map (fun s -> if s.Anchor.AfterMixes then 1 else 0))
          "skip_anchor_increment", Float64Array([| skips.Length |], skips |> Array.map (fun s -> float s.Anchor.IncrementWeight))
          // where it came from
          "task", text b.Task
          "network", Int32Array([||], [| a.Network |])
          "seed", Int32Array([||], [| int a.Seed |])
          "config", text (ConfigJson.toJson a.Config) ]

    let write (path: string) (a: Activity) = Npz.write path (arrays a)
