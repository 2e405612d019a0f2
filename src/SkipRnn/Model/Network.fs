namespace SkipRnn.Model

open System
open SkipRnn.Numerics

/// The shape of every network of a run (SPEC §1): sizes, populations, time constants, noise, constraints.
type Architecture =
    { /// N, the number of recurrent units.
      Units: int
      /// I, the size of the input vector.
      Inputs: int
      /// O, the size of the output vector.
      Outputs: int
      /// Units [0, InputUnits) receive the external input.
      InputUnits: int
      /// Units [OutputStart, OutputStart + OutputUnits) are read out.
      OutputStart: int
      OutputUnits: int
      /// Units [FastStart, N) have time constant TauFast; the others Tau. Also the start of the inhibitory
      /// units under Dale's law.
      FastStart: int
      /// Seconds.
      Tau: float
      TauFast: float
      /// Time constant of the Ornstein–Uhlenbeck noise, seconds.
      NoiseTau: float
      /// Scale of the noise inside f (0.1 in the paper); 0 switches noise off.
      NoiseScale: float
      Activation: Activation
      Readout: Readout
      /// W = |W_raw| ⊙ S with negative columns for the last 20 % of units.
      Dale: bool
      /// Coefficient of mean |r| in the loss.
      ActivityRegularization: float
      /// Coefficient of mean |W_raw| in the loss.
      WeightRegularization: float }

    /// The standard-task network: 40 % input, 40 % output, 20 % auxiliary units, τ = 100 ms (50 ms for the
    /// auxiliary units), ReLU, sigmoid readout.
    static member Standard(units: int, inputs: int, outputs: int) =
        { Units = units; Inputs = inputs; Outputs = outputs
          InputUnits = int (0.4 * float units)
          OutputStart = int (0.4 * float units)
          OutputUnits = int (0.8 * float units) - int (0.4 * float units)
          FastStart = int (0.8 * float units)
          Tau = 0.1; TauFast = 0.05; NoiseTau = 0.1; NoiseScale = 0.1
          Activation = ReLU; Readout = Sigmoid; Dale = false
          ActivityRegularization = 1e-5; WeightRegularization = 1e-5 }

    member a.TauOf(unit: int) = if unit >= a.FastStart then a.TauFast else a.Tau

    /// Number of trained parameters of one network: W_in, W_raw, b, W_out.
    member a.ParameterCount = a.InputUnits * a.Inputs + a.Units * a.Units + a.Units + a.Outputs * a.OutputUnits

    member a.Validate() =
        let fail msg = Error msg
        if a.Units < 1 then fail "the number of units must be at least 1"
        elif a.InputUnits < 1 || a.InputUnits > a.Units then fail "the input population must hold between 1 and N units"
        elif a.OutputUnits < 1 || a.OutputStart < 0 || a.OutputStart + a.OutputUnits > a.Units then
            fail "the output population must lie inside the network"
        elif a.FastStart < 0 || a.FastStart > a.Units then fail "the fast (inhibitory) population must lie inside the network"
        elif not (a.Tau > 0.0 && a.TauFast > 0.0 && a.NoiseTau > 0.0) then fail "time constants must be positive"
        elif a.NoiseScale < 0.0 then fail "the noise scale must not be negative"
        else Ok a

/// Offsets of the four parameter blocks inside one network's flat parameter vector:
/// [ W_in (InputUnits × Inputs) | W_raw (N × N) | b (N) | W_out (Outputs × OutputUnits) ], all row-major.
type ParameterLayout =
    { InputWeights: int; Recurrent: int; Bias: int; OutputWeights: int; Count: int }
    static member Of(a: Architecture) =
        let wIn = 0
        let w = wIn + a.InputUnits * a.Inputs
        let b = w + a.Units * a.Units
        let wOut = b + a.Units
        { InputWeights = wIn; Recurrent = w; Bias = b; OutputWeights = wOut; Count = wOut + a.Outputs * a.OutputUnits }

/// The parameters of M networks, one contiguous block of ParameterCount floats per network.
type Parameters =
    { Architecture: Architecture
      Networks: int
      Values: float32[] }

    member p.Layout = ParameterLayout.Of p.Architecture
    member p.Block(network: int) =
        let n = p.Architecture.ParameterCount
        Span<float32>(p.Values, network * n, n)
    member p.ReadOnlyBlock(network: int) =
        let n = p.Architecture.ParameterCount
        ReadOnlySpan<float32>(p.Values, network * n, n)

module Parameters =

    /// SPEC §1: W ~ N(0,1)/N, b ~ N(0,1), W_in ~ N(0,1), W_out ~ N(0,1). Network m draws from its own stream,
    /// so network 7 starts the same whether 10 or 100 networks are trained.
    let initialize (arch: Architecture) (networks: int) (seed: uint64) =
        let layout = ParameterLayout.Of arch
        let values = Array.zeroCreate<float32> (networks * layout.Count)
        for m in 0 .. networks - 1 do
            let rng = Rng.Create(seed, Streams.Initialization, uint64 m)
            let o = m * layout.Count
            for i in 0 .. arch.InputUnits * arch.Inputs - 1 do
                values[o + layout.InputWeights + i] <- float32 (rng.Normal())
            for i in 0 .. arch.Units * arch.Units - 1 do
                values[o + layout.Recurrent + i] <- float32 (rng.Normal() / float arch.Units)
            for i in 0 .. arch.Units - 1 do
                values[o + layout.Bias + i] <- float32 (rng.Normal())
            for i in 0 .. arch.Outputs * arch.OutputUnits - 1 do
                values[o + layout.OutputWeights + i] <- float32 (rng.Normal())
        { Architecture = arch; Networks = networks; Values = values }

    /// Sign of column j under Dale's law: +1 for excitatory units, −1 for the last 20 %.
    let daleSign (arch: Architecture) (j: int) = if j >= arch.FastStart then -1.0f else 1.0f

    /// The effective recurrent weight W[i, j] from the raw one.
    let effectiveRecurrent (arch: Architecture) (raw: float32) (j: int) =
        if arch.Dale then VectorField.daleWeight raw j arch.FastStart else raw
