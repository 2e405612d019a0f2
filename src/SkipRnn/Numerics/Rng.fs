namespace SkipRnn.Numerics

open System
open System.Numerics

/// The explicit, seeded generator used for everything that is sampled on the host (trial conditions,
/// period jitter, initial weights). xoshiro256** seeded through SplitMix64. It is a mutable object, but it
/// is only ever passed in explicitly: there is no global generator anywhere in the library.
[<Sealed; AllowNullLiteral>]
type Rng private (s0: uint64, s1: uint64, s2: uint64, s3: uint64) =
    let mutable a = s0
    let mutable b = s1
    let mutable c = s2
    let mutable d = s3

    static let splitMix (state: byref<uint64>) =
        state <- state + 0x9E3779B97F4A7C15UL
        let mutable z = state
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    // The seeding of Create, in three parts: the seed, each stream identifier mixed in, and the state drawn from the result.
    static let ofSeed (seed: uint64) =
        let mutable st = seed
        splitMix &st
    static let mixIn (mixed: uint64) (stream: uint64) =
        let mutable t = mixed ^^^ (stream * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL)
        splitMix &t
    static let stateOf (mixed: uint64) =
        let mutable st = mixed
        let x0 = splitMix &st
        let x1 = splitMix &st
        let x2 = splitMix &st
        let x3 = splitMix &st
        struct (x0, x1, x2, x3)
    // xoshiro256**'s output from the state's second word.
    static let scrambled (s1: uint64) = BitOperations.RotateLeft(s1 * 5UL, 7) * 9UL

    /// A generator for `seed`, further separated by any number of stream identifiers
    /// (e.g. `Rng.Create(seed, Streams.TrainingTrials, step)`), so that every consumer gets its own,
    /// reproducible stream regardless of the order in which the others draw.
    static member Create(seed: uint64, [<ParamArray>] streams: uint64[]) =
        let mutable mixed = ofSeed seed
        for s in streams do mixed <- mixIn mixed s
        let struct (x0, x1, x2, x3) = stateOf mixed
        Rng(x0, x1, x2, x3)

    /// Puts this generator where `Rng.Create(seed, stream, index)` starts, so that a loop that draws a stream per
    /// iteration (a trainer's batches) needs no new generator.
    member _.Reseed(seed: uint64, stream: uint64, index: uint64) =
        let struct (x0, x1, x2, x3) = stateOf (mixIn (mixIn (ofSeed seed) stream) index)
        a <- x0
        b <- x1
        c <- x2
        d <- x3

    /// The first NextUInt64 of `Rng.Create(seed, stream, index)`, without the generator.
    static member FirstDraw(seed: uint64, stream: uint64, index: uint64) =
        let struct (_, x1, _, _) = stateOf (mixIn (mixIn (ofSeed seed) stream) index)
        scrambled x1

    member _.NextUInt64() : uint64 =
        let result = scrambled b
        let t = b <<< 17
        c <- c ^^^ a
        d <- d ^^^ b
        b <- b ^^^ c
        a <- a ^^^ d
        c <- c ^^^ t
        d <- BitOperations.RotateLeft(d, 45)
        result

    /// Uniform in [0, 1), 53 random bits.
    member this.NextDouble() = float (this.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)

    /// Uniform in [lo, hi).
    member this.Uniform(lo: float, hi: float) = lo + (hi - lo) * this.NextDouble()

    /// Uniform integer in [lo, hi) from exactly one draw (multiply-high; the bias is below 2^-40 for any
    /// range used here). Always consuming one draw keeps streams aligned when only the range changes,
    /// e.g. the same trials generated at a coarser time step.
    member this.UniformInt(lo: int, hi: int) =
        if hi <= lo then invalidArg "hi" (sprintf "empty range [%d, %d)" lo hi)
        let mutable low = 0UL
        let high = Math.BigMul(this.NextUInt64(), uint64 (hi - lo), &low)
        lo + int high

    /// True with probability p (one draw).
    member this.Bernoulli(p: float) = this.NextDouble() < p

    /// Standard normal (Box–Muller, two draws).
    member this.Normal() =
        let u1 = 1.0 - this.NextDouble()
        let u2 = this.NextDouble()
        sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)

/// Named stream identifiers, so that seeds for different purposes never collide.
module Streams =
    let [<Literal>] Initialization = 1UL
    let [<Literal>] TrainingTrials = 2UL
    let [<Literal>] EvaluationTrials = 3UL
    let [<Literal>] TrainingNoise = 4UL
    let [<Literal>] EvaluationNoise = 5UL
    let [<Literal>] Analysis = 6UL
