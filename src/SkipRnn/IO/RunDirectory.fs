namespace SkipRnn.IO

open System
open System.IO
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Training

/// The folder of one training run:
///   config.json       the configuration (written first; a folder belongs to one config)
///   checkpoint.npz    the whole training state, rewritten now and then and when interrupted (resume point)
///   weights.npz       the trained weights (W_in, W_rec_raw, W_rec, b, W_out), when the run has ended
///   evaluations.csv   every evaluation: step, seconds, criterion, loss, θ, β, diverged, then one column per network
///   run.json          the record of the finished run (outcome, steps, seconds, FLOPs, performances) — written last
module RunDirectory =

    let configFile dir = Path.Combine(dir, "config.json")
    let checkpointFile dir = Path.Combine(dir, "checkpoint.npz")
    let weightsFile dir = Path.Combine(dir, "weights.npz")
    let evaluationsFile dir = Path.Combine(dir, "evaluations.csv")
    let recordFile dir = Path.Combine(dir, "run.json")

    let isFinished dir = File.Exists(recordFile dir)

    // ---- weights

    let weightArrays (p: Parameters) =
        let a = p.Architecture
        let l = p.Layout
        let m = p.Networks
        let take offset count =
            Array.init (m * count) (fun i -> p.Values[(i / count) * l.Count + offset + i % count])
        let raw = take l.Recurrent (a.Units * a.Units)
        let effective = raw |> Array.mapi (fun i v -> Parameters.effectiveRecurrent a v (i % a.Units))
        [ "W_in", Float32Array([| m; a.InputUnits; a.Inputs |], take l.InputWeights (a.InputUnits * a.Inputs))
          "W_rec_raw", Float32Array([| m; a.Units; a.Units |], raw)
          "W_rec", Float32Array([| m; a.Units; a.Units |], effective)
          "b", Float32Array([| m; a.Units |], take l.Bias a.Units)
          "W_out", Float32Array([| m; a.Outputs; a.OutputUnits |], take l.OutputWeights (a.Outputs * a.OutputUnits)) ]

    /// The parameters of `networks` networks from the arrays of `weightArrays` (as read from weights.npz or a
    /// checkpoint); fails with what does not fit.
    let parametersOf (arch: Architecture) (networks: int) (arrays: Map<string, NdArray>) =
        let l = ParameterLayout.Of arch
        let get name (expected: int[]) =
            match arrays.TryFind name with
            | None -> failwithf "the weights have no array %s" name
            | Some a when a.Shape.Length <> expected.Length + 1 || a.Shape[1..] <> expected ->
                failwithf "%s has shape %A, but the configuration needs (M, %s)" name a.Shape (expected |> Array.map string |> String.concat ", ")
            | Some a -> a
        let wIn = get "W_in" [| arch.InputUnits; arch.Inputs |]
        if wIn.Shape[0] <> networks then
            failwithf "the weights are of %d networks, but the configuration has %d" wIn.Shape[0] networks
        let values = Array.zeroCreate<float32> (networks * l.Count)
        let put (a: NdArray) offset count =
            let d = a.AsFloat32
            for i in 0 .. networks * count - 1 do values[(i / count) * l.Count + offset + i % count] <- d[i]
        put wIn l.InputWeights (arch.InputUnits * arch.Inputs)
        put (get "W_rec_raw" [| arch.Units; arch.Units |]) l.Recurrent (arch.Units * arch.Units)
        put (get "b" [| arch.Units |]) l.Bias arch.Units
        put (get "W_out" [| arch.Outputs; arch.OutputUnits |]) l.OutputWeights (arch.Outputs * arch.OutputUnits)
        { Architecture = arch; Networks = networks; Values = values }

    // ---- checkpoints

    let saveCheckpoint (dir: string) (s: TrainingState) =
        let m, v, counts = s.Adam.Moments
        let e = s.Evaluations
        let column f = Float64Array([| e.Count |], e |> Seq.map f |> Array.ofSeq)
        let performances = e |> Seq.collect (fun x -> x.Performances) |> Array.ofSeq
        Npz.write (checkpointFile dir)
            [ yield! weightArrays s.Parameters
              "adam_m", Float32Array([| m.Length |], m)
              "adam_v", Float32Array([| v.Length |], v)
              "adam_steps", Int32Array([| counts.Length |], counts)
              "diverged_at", Int32Array([| s.DivergedAt.Length |], s.DivergedAt)
              "progress", Float64Array([| 3 |], [| float s.Step; s.TrainSeconds; s.Flops |])
              "last_losses", Float64Array([| s.LastLosses.Length |], s.LastLosses)
              "eval_step", column (fun x -> float x.Step)
              "eval_seconds", column (fun x -> x.TrainSeconds)
              "eval_criterion", column (fun x -> x.Criterion)
              "eval_loss", column (fun x -> x.MeanLoss)
              "eval_theta", column (fun x -> x.Theta)
              "eval_beta", column (fun x -> x.Beta)
              "eval_diverged", column (fun x -> float x.Diverged)
              "eval_performance", Float64Array([| e.Count; s.Config.Networks |], performances) ]

    /// The training state saved in `dir`, ready to go on.
    let loadCheckpoint (dir: string) (config: RunConfig) (arch: Architecture) : TrainingState =
        let a = Npz.read (checkpointFile dir)
        let parameters = parametersOf arch config.Networks a
        let adam = Adam(config.Networks, arch.ParameterCount, config.EffectiveLearningRate)
        adam.Restore(a["adam_m"].AsFloat32, a["adam_v"].AsFloat32, a["adam_steps"].AsInt32)
        let progress = a["progress"].AsFloat64
        let col name = a[name].AsFloat64
        let steps = col "eval_step"
        let perf = col "eval_performance"
        let m = config.Networks
        let evaluations =
            ResizeArray(
                [ for i in 0 .. steps.Length - 1 ->
                    { Step = int steps[i]; TrainSeconds = (col "eval_seconds")[i]; Criterion = (col "eval_criterion")[i]
                      Performances = perf[i * m .. (i + 1) * m - 1]; MeanLoss = (col "eval_loss")[i]
                      Theta = (col "eval_theta")[i]; Beta = (col "eval_beta")[i]; Diverged = int ((col "eval_diverged")[i]) } ])
        { Config = config
          Architecture = arch
          Parameters = parameters
          Adam = adam
          DivergedAt = a["diverged_at"].AsInt32
          Evaluations = evaluations
          Step = int progress[0]
          TrainSeconds = progress[1]
          Flops = progress[2]
          LastLosses = a["last_losses"].AsFloat64
          Outcome = None }

    /// The state to go on from: the checkpoint in `dir` if there is one. A checkpoint that cannot be used (cut short
    /// by a full disk, damaged, or of another shape) is set aside beside itself, `warn` is told, and training starts
    /// over, so that the folder never stays stuck. A checkpoint that cannot be read now (a failing disk, a missing
    /// permission) is left where it is: the FileFailure stops the run.
    let resume (dir: string) (config: RunConfig) (arch: Architecture) (warn: string -> unit) : TrainingState option =
        let path = checkpointFile dir
        if not (File.Exists path) then None
        else
            let reason =
                try Ok(loadCheckpoint dir config arch)
                with
                | :? DamagedFile as e -> Error e.Message
                | :? FileFailure | :? IOException | :? UnauthorizedAccessException -> reraise ()
                | e -> Error(sprintf "%s does not fit this run (%s)" path e.Message)
            match reason with
            | Ok state -> Some state
            | Error message ->
                let aside = Files.setAside path None
                warn (sprintf "%s; set aside as %s, training starts over" message (Path.GetFileName aside))
                None

    // ---- the finished record

    let private evaluationsCsv (s: TrainingState) =
        let sb = StringBuilder()
        sb.Append("step,train_seconds,criterion,mean_loss,theta,beta,diverged") |> ignore
        for m in 0 .. s.Config.Networks - 1 do sb.Append(sprintf ",net%d" m) |> ignore
        sb.AppendLine() |> ignore
        let f (x: float) = x.ToString("R", Globalization.CultureInfo.InvariantCulture)
        for e in s.Evaluations do
            sb.Append(sprintf "%d,%s,%s,%s,%s,%s,%d" e.Step (f e.TrainSeconds) (f e.Criterion) (f e.MeanLoss) (f e.Theta) (f e.Beta) e.Diverged) |> ignore
            for p in e.Performances do sb.Append(',').Append(f p) |> ignore
            sb.AppendLine() |> ignore
        sb.ToString()

    let private array (values: seq<float>) =
        let a = JsonArray()
        for v in values do a.Add(if Double.IsFinite v then JsonValue.Create v :> JsonNode else null)
        a

    /// The record of a finished run as JSON.
    let record (s: TrainingState) =
        let o = JsonObject()
        let last = if s.Evaluations.Count = 0 then None else Some s.Evaluations[s.Evaluations.Count - 1]
        o["config"] <- ConfigJson.toNode s.Config
        o["outcome"] <- JsonValue.Create(match s.Outcome with Some x -> x.Name | None -> "running")
        o["steps"] <- JsonValue.Create s.Step
        o["trainSeconds"] <- JsonValue.Create s.TrainSeconds
        o["flops"] <- JsonValue.Create s.Flops
        o["flopsPerNetwork"] <- JsonValue.Create(s.Flops / float s.Config.Networks)
        o["flopsRule"] <- JsonValue.Create "matrix products of forward and backward passes at the model's sizes; multiply-add = 2; evaluation excluded"
        o["criterion"] <- (match last with Some e -> JsonValue.Create e.Criterion :> JsonNode | None -> null)
        o["performances"] <- (match last with Some e -> array e.Performances | None -> JsonArray())
        o["divergedAt"] <- array (s.DivergedAt |> Array.map (fun d -> if d < 0 then nan else float d))
        o["diverged"] <- JsonValue.Create(s.DivergedAt |> Array.filter (fun d -> d >= 0) |> Array.length)
        o["evaluations"] <- JsonValue.Create s.Evaluations.Count
        o["architecture"] <-
            JsonObject(
                [ "units", JsonValue.Create s.Architecture.Units :> JsonNode
                  "inputUnits", JsonValue.Create s.Architecture.InputUnits
                  "outputStart", JsonValue.Create s.Architecture.OutputStart
                  "outputUnits", JsonValue.Create s.Architecture.OutputUnits
                  "tau", JsonValue.Create s.Architecture.Tau
                  "tauFast", JsonValue.Create s.Architecture.TauFast
                  "readout", JsonValue.Create(sprintf "%A" s.Architecture.Readout) ]
                |> Seq.map (fun (k, v) -> Collections.Generic.KeyValuePair(k, v)))
        o.ToJsonString(JsonSerializerOptions(WriteIndented = true))

    /// Writes weights, evaluations and the record of a run that has ended (in that order: run.json last).
    let writeFinished (dir: string) (s: TrainingState) =
        Npz.write (weightsFile dir) (weightArrays s.Parameters)
        Files.writeAtomically (evaluationsFile dir) (evaluationsCsv s)
        Files.writeAtomically (recordFile dir) (record s)
        if File.Exists(checkpointFile dir) then File.Delete(checkpointFile dir)

    /// Reads the outcome, steps, seconds and final criterion of a finished run.
    let readRecord (dir: string) = JsonNode.Parse(File.ReadAllText(recordFile dir)).AsObject()
