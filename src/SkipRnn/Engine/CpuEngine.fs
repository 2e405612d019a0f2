namespace SkipRnn.Engine

open System
open System.Threading
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

/// Runs the shares 0 .. shares − 1 of a piece of work at once, each on whichever thread claims it first: the
/// caller and shares − 1 work items of the thread pool (queued, not new, so that a call allocates nothing). The
/// caller works too, so a busy pool only makes the call slower. A share that throws still counts as done; once
/// every share is, the call raises an AggregateException of what they threw.
[<Sealed>]
type internal Shares(shares: int) =
    let mutable work: Action<int> = null
    // The next share to claim, and the shares not yet done.
    let mutable next = shares
    let mutable pending = 0
    let finished = new ManualResetEventSlim(false)
    let failures: exn[] = Array.zeroCreate shares
    let mutable failed = false

    // A work item still queued from an earlier call finds every share of it claimed, or claims one of the call in
    // progress, which is as good: shares are claimed by number, never by thread.
    let claim () =
        let mutable share = Interlocked.Increment &next - 1
        while share < shares do
            try work.Invoke share
            with e ->
                failures[share] <- e
                failed <- true
            if Interlocked.Decrement &pending = 0 then finished.Set()
            share <- Interlocked.Increment &next - 1
    let item = { new IThreadPoolWorkItem with member _.Execute() = claim () }

    /// Runs `action` on every share and returns when all are done.
    member _.Run(action: Action<int>) =
        work <- action
        finished.Reset()
        pending <- shares
        // Opens the claims: everything above is visible to whoever claims a share.
        Interlocked.Exchange(&next, 0) |> ignore
        for _ in 1 .. shares - 1 do ThreadPool.UnsafeQueueUserWorkItem(item, false) |> ignore
        claim ()
        finished.Wait()
        work <- null
        if failed then
            let thrown = failures |> Array.filter (fun e -> not (isNull e))
            Array.Clear failures
            failed <- false
            raise (AggregateException(thrown))

    interface IDisposable with
        member _.Dispose() = finished.Dispose()

/// Training and evaluation of many independent networks on the CPU: one worker per core claims networks one by one,
/// each worker with its own backend (buffers), so workers never share anything writable.
/// Results do not depend on the number of workers.
[<Sealed>]
type CpuEngine(arch: Architecture, ?workers: int) =
    let workers = defaultArg workers Environment.ProcessorCount |> max 1
    let backends = Array.init workers (fun _ -> new CpuBackend(arch))
    let shares = new Shares(workers)

    // What the workers of a Gradients call read (set before the loop, so that the loop's delegate is built once).
    let mutable callParameters = Unchecked.defaultof<Parameters>
    let mutable callNetworks: int[] = [||]
    let mutable callBatch = Unchecked.defaultof<PreparedBatch>
    let mutable callPlan = Unchecked.defaultof<SkipPlan>
    let mutable callNoise = Unchecked.defaultof<NoiseKey>
    let mutable callGradients: float32[] = [||]
    let mutable callLosses: float[] = [||]
    let mutable callDivergence = infinity
    let mutable callThen: Action<int> = null

    let gradientOf (backend: CpuBackend) (m: int) =
        let k = backend :> IRecurrentKernels
        let size = arch.ParameterCount
        Array.Clear(callGradients, m * size, size)
        k.Begin(callParameters, m, callBatch, callNoise, true)
        Driver.forward k callPlan callBatch
        Driver.backward k callPlan callBatch.Batch.BurnIn
        let result = (k.EndBackward callGradients)[0]
        if Double.IsFinite result.Loss && result.PeakActivity <= callDivergence then callLosses[m] <- result.Loss
        if not (isNull callThen) then callThen.Invoke m

    // The next network of the call in progress to claim (reset before each call).
    let mutable nextNetwork = 0

    /// Worker w's part of `networks`, on its own backend: the networks it claims one at a time, rather than a fixed
    /// share, so that a core slowed by other work on the machine does not keep the rest waiting.
    let claimNetworks (w: int) (networks: int[]) (work: CpuBackend -> int -> unit) =
        let mutable i = Interlocked.Increment &nextNetwork - 1
        while i < networks.Length do
            work backends[w] networks[i]
            i <- Interlocked.Increment &nextNetwork - 1

    // The work and the delegate are values built once, so that a call allocates nothing for them.
    let gradientWork: CpuBackend -> int -> unit = gradientOf
    let gradientWorker = Action<int>(fun w -> claimNetworks w callNetworks gradientWork)

    let forEachNetwork (networks: int[]) (work: CpuBackend -> int -> unit) =
        nextNetwork <- 0
        shares.Run(Action<int>(fun w -> claimNetworks w networks work))

    member _.Architecture = arch
    member _.Workers = workers

    /// Loss and gradient of each listed network on the batch, into `losses` and `gradients` (the caller's);
    /// gradients of those networks are overwritten, every other loss is NaN. A network whose loss is not finite
    /// or whose activity exceeded `divergence` somewhere in the trajectory is reported with a NaN loss (its
    /// gradient must not be used). `andThen` (or null) runs on the worker with each network as soon as its loss
    /// and gradient are written, while they are still in that core's cache; it must touch nothing of the other
    /// networks'. Allocates nothing.
    member _.GradientsInto(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan,
                           noise: NoiseKey, gradients: float32[], losses: float[], divergence: float, andThen: Action<int>) =
        Array.Fill(losses, nan)
        callParameters <- parameters
        callNetworks <- networks
        callBatch <- batch
        callPlan <- plan
        callNoise <- noise
        callGradients <- gradients
        callLosses <- losses
        callDivergence <- divergence
        callThen <- andThen
        nextNetwork <- 0
        shares.Run gradientWorker

    /// Loss and gradient of each listed network on the batch (GradientsInto, into a new array of losses).
    member this.Gradients(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan,
                          noise: NoiseKey, gradients: float32[], ?divergence: float) =
        let losses = Array.zeroCreate parameters.Networks
        this.GradientsInto(parameters, networks, batch, plan, noise, gradients, losses, defaultArg divergence infinity, null)
        losses

    /// Performance of each listed network on the batch, with the plan's dynamics (the true dynamics when
    /// the plan has no skips and the batch is on the base grid).
    member _.Evaluate(parameters: Parameters, networks: int[], batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let scores = Array.create parameters.Networks nan
        forEachNetwork networks (fun backend m ->
            let k = backend :> IRecurrentKernels
            backend.ScoresOnly <- true
            k.Begin(parameters, m, batch, noise, false)
            Driver.forward k plan batch
            scores[m] <- k.Score()[0])
        scores

    /// Runs one network forward and returns its recorded states [T, B, N] and readouts [T, B, O]
    /// (for analysis and tests).
    member _.Trajectory(parameters: Parameters, network: int, batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let backend = backends[0]
        let k = backend :> IRecurrentKernels
        backend.ScoresOnly <- false
        k.Begin(parameters, network, batch, noise, false)
        Driver.forward k plan batch
        k.Score() |> ignore
        backend.RecordedStates(), backend.Readouts()

    /// Runs one network forward and records everything needed to replay the pass elsewhere.
    member _.Record(parameters: Parameters, network: int, batch: PreparedBatch, plan: SkipPlan, noise: NoiseKey) =
        let backend = backends[0]
        let k = backend :> IRecurrentKernels
        backend.ScoresOnly <- false
        k.Begin(parameters, network, batch, noise, false)
        backend.StartRecording()
        Driver.forward k plan batch
        let states, noiseUsed, inputs = backend.StopRecording()
        let score = k.Score()[0]
        { States = states; Noise = noiseUsed; Inputs = inputs; Readouts = backend.Readouts()
          Choices = backend.Choices; Performance = score }

    interface IDisposable with
        member _.Dispose() =
            (shares :> IDisposable).Dispose()
            for b in backends do (b :> IDisposable).Dispose()
