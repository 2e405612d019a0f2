namespace SkipRnn.Engine

open System
open System.Threading.Tasks
open SkipRnn.Numerics
open SkipRnn.Model

/// Everything one network did on one batch (see CpuEngine.Record).
type Recording =
    { /// [Steps+1, Trials, N]: the state before each step, burn-in included; the last row is the final state.
      States: float32[]
      /// [Steps, Trials, N]: the Ornstein–Uhlenbeck noise η used in each step.
      Noise: float32[]
      /// [Steps, Trials, Inputs]: the input applied at each step (closed-loop feedback included).
      Inputs: float32[]
      /// [TrainedSteps, Trials, Outputs]: the readout y after each trained step.
      Readouts: float32[]
      /// [choice, Trials]: the choices of closed-loop tasks.
      Choices: int[]
      Performance: float }

/// Training and evaluation of many independent networks on the CPU: networks are dealt round-robin to one
/// worker per core, each with its own backend (buffers), so workers never share anything writable.
/// Results do not depend on the number of workers.
[<Sealed>]
type CpuEngine(arch: Architecture, ?workers: int) =
    let workers = defaultArg workers Environment.ProcessorCount |> max 1
    let backends = Array.init workers (fun _ -> new CpuBackend(arch))

    let forEachNetwork (networks: int[]) (work: CpuBackend -> int -> unit) =
        let options = ParallelOptions(MaxDegreeOfParallelism = workers)
        Parallel.For(0, workers, options, fun w ->
            let backend = backends[w]
            let mutable i = w
            while i < networks.Length do
                work backend networks[i]
                i <- i + workers) |> ignore

    member _.Architecture = arch
    member _.Workers = workers

    /// Loss and gradient of each listed network on the batch; gradients of those networks are overwritten.
    /// A network whose loss is not finite or whose activity exceeded `divergence` somewhere in the trajectory
    /// is reported with a NaN loss (its gradient must not be used).
    member _.Gradients(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan,
                       noise: NoiseKey, gradients: float32[], ?divergence: float) =
        let divergence = defaultArg divergence infinity
        let losses = Array.create parameters.Networks nan
        let size = arch.ParameterCount
        forEachNetwork networks (fun backend m ->
            let k = backend :> IRecurrentKernels
            Array.Clear(gradients, m * size, size)
            k.Begin(parameters, m, batch, noise, true)
            Driver.forward k plan batch
            Driver.backward k plan batch.Batch.BurnIn
            let result = (k.EndBackward gradients)[0]
            if Double.IsFinite result.Loss && result.PeakActivity <= divergence then losses[m] <- result.Loss)
        losses

    /// Performance of each listed network on the batch, with the plan's dynamics (the true dynamics when
    /// the plan has no skips and the batch is on the base grid).
    member _.Evaluate(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let scores = Array.create parameters.Networks nan
        forEachNetwork networks (fun backend m ->
            let k = backend :> IRecurrentKernels
            k.Begin(parameters, m, batch, noise, false)
            Driver.forward k plan batch
            scores[m] <- k.Score()[0])
        scores

    /// Runs one network forward and returns its recorded states [T, B, N] and readouts [T, B, O]
    /// (for analysis and tests).
    member _.Trajectory(parameters: Parameters, network: int, batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let backend = backends[0]
        let k = backend :> IRecurrentKernels
        k.Begin(parameters, network, batch, noise, false)
        Driver.forward k plan batch
        k.Score() |> ignore
        backend.RecordedStates(), backend.Readouts()

    /// Runs one network forward and records everything needed to replay the pass elsewhere.
    member _.Record(parameters: Parameters, network: int, batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let backend = backends[0]
        let k = backend :> IRecurrentKernels
        k.Begin(parameters, network, batch, noise, false)
        backend.StartRecording()
        Driver.forward k plan batch
        let states, noiseUsed, inputs = backend.StopRecording()
        let score = k.Score()[0]
        { States = states; Noise = noiseUsed; Inputs = inputs; Readouts = backend.Readouts()
          Choices = backend.Choices; Performance = score }

    interface IDisposable with
        member _.Dispose() = for b in backends do (b :> IDisposable).Dispose()
