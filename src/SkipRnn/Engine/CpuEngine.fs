namespace SkipRnn.Engine

open System
open System.Threading.Tasks
open SkipRnn.Numerics
open SkipRnn.Model

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

    interface IDisposable with
        member _.Dispose() = for b in backends do (b :> IDisposable).Dispose()
