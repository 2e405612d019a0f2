/// Identities between the methods (issue: "exactly the control model's hidden states").
module SkipRnn.Tests.IdentityTests

open Expecto
open SkipRnn.Numerics
open SkipRnn.Tasks
open SkipRnn.Model
open SkipRnn.Engine

let private trajectory (arch: Architecture) (parameters: Parameters) (batch: TrialBatch) (integrator: Integrator) noise =
    use engine = new CpuEngine(arch, 1)
    let states, _ = engine.Trajectory(parameters, 0, PreparedBatch.prepare arch batch, Integrator.plan integrator batch, noise)
    states

let private dlygo = (Catalog.tryFind "dlygo").Value

let private taskBatch (timing: Timing) =
    dlygo.Generate { Trials = 8; Timing = timing; Jittered = true; Buffers = None } (Rng.Create(3UL, 1UL))

[<Tests>]
let identityTests =
    testList "identities" [
        let arch = Architecture.Standard(50, dlygo.InputSize, dlygo.OutputSize)
        let parameters = Parameters.initialize arch 1 5UL
        let noise = NoiseKey.Create(8UL, 4UL, 0UL)
        let batch = taskBatch Timing.Default
        // Run when the first test needs it, not while the test list is built.
        let control = lazy (trajectory arch parameters batch Euler noise)

        for integrator in [ WithSkips(Plain, 10, 1.0); WithSkips(Plain, 40, 1.0); WithSkips(Aligned, 10, 1.0); WithSkips(Aligned, 40, 1.0); WithSkips(AlignedLast, 10, 1.0) ] do
            testCase (sprintf "%A gives exactly the control states" integrator) <| fun () ->
                let states = trajectory arch parameters batch integrator noise
                Expect.sequenceEqual states control.Value "bitwise equal states"

        testCase "CD with θ = 1 gives exactly the control states" <| fun () ->
            let coarse = taskBatch (Timing.Default.Coarsened 1.0)
            Expect.sequenceEqual (trajectory arch parameters coarse (CoarseEuler 1.0) noise) control.Value "bitwise equal states"

        testCase "DASC-last is DASC where no period holds a second window (θ = 150 on dlygo)" <| fun () ->
            let last, aligned = WithSkips(AlignedLast, 150, 0.5), WithSkips(Aligned, 150, 0.5)
            Expect.isNonEmpty (Integrator.plan last batch).Skips "some period holds a window of 150 steps"
            Expect.equal (Integrator.plan last batch) (Integrator.plan aligned batch) "the same plan"
            Expect.sequenceEqual (trajectory arch parameters batch last noise) (trajectory arch parameters batch aligned noise) "bitwise equal states"

        testCase "DASC-last differs from DASC where a period holds several windows (θ = 10)" <| fun () ->
            let last = trajectory arch parameters batch (WithSkips(AlignedLast, 10, 0.5)) noise
            let aligned = trajectory arch parameters batch (WithSkips(Aligned, 10, 0.5)) noise
            Expect.isFalse (Seq.forall2 (=) last aligned) "anchors on the previous window's last increment must change something"

        testCase "skips with β < 1 do change the states" <| fun () ->
            let states = trajectory arch parameters batch (WithSkips(Aligned, 10, 0.5)) noise
            Expect.isFalse (Seq.forall2 (=) states control.Value) "a skip with β = 0.5 must change something"

        testCase "without noise, DASC with β = 0 lands on CD's states at every skip point" <| fun () ->
            let quiet = { arch with NoiseScale = 0.0 }
            let theta = 10
            let nominal = { Timing.Default with Jitter = 0.0 }
            let fine = taskBatch nominal
            let coarse = taskBatch (nominal.Coarsened(float theta))
            Expect.equal coarse.Conditions fine.Conditions "same trials on both grids"
            let dasc = trajectory quiet parameters fine (WithSkips(Aligned, theta, 0.0)) noise
            let cd = trajectory quiet parameters coarse (CoarseEuler(float theta)) noise
            let n, trials = arch.Units, fine.Trials
            let ends = Integrator.windows theta fine.Periods |> List.map snd |> List.filter (fun e -> e >= fine.BurnIn)
            Expect.equal ends.Length (coarse.Steps - coarse.BurnIn) "one skip point per coarse step"
            let scale = cd |> Array.map abs |> Array.max |> float
            for e in ends do
                let kFine = e - fine.BurnIn
                let kCoarse = (e + 1) / theta - 1 - coarse.BurnIn
                for b in 0 .. trials - 1 do
                    for i in 0 .. n - 1 do
                        let a = float dasc[(kFine * trials + b) * n + i]
                        let c = float cd[(kCoarse * trials + b) * n + i]
                        if abs (a - c) > 1e-5 * scale then
                            failtestf "step %d trial %d unit %d: DASC %g, CD %g" e b i a c
    ]

/// The padded lanes [N, Np) of every row: the narrower vector paths (AVX2, 128-bit) leave those past their last
/// vector with a real unit unwritten (Gemm, Simd.wholeVectors), and the results are those of the full rows only
/// while they hold zero, as the full rows' arithmetic keeps them. Run under SKIPRNN_SIMD=256 or 128, this checks
/// those paths.
[<Tests>]
let paddingTests =
    testList "padded lanes" [
        testCase "stay zero through a training pass with skips" <| fun () ->
            let arch = Architecture.Standard(50, dlygo.InputSize, dlygo.OutputSize)
            let parameters = Parameters.initialize arch 1 5UL
            let batch = taskBatch Timing.Default
            let prepared = PreparedBatch.prepare arch batch
            let plan = Integrator.plan (WithSkips(Aligned, 40, 0.5)) batch
            use backend = new CpuBackend(arch)
            let k = backend :> IRecurrentKernels
            k.Begin(parameters, 0, prepared, NoiseKey.Create(8UL, 4UL, 0UL), true)
            Driver.forward k plan prepared
            Driver.backward k plan batch.BurnIn
            k.EndBackward(Array.zeroCreate parameters.Values.Length) |> ignore
            let ws = backend.Workspace
            let n, np = arch.Units, ws.Padded
            Expect.isGreaterThan np n "N = 50 is padded"
            let zeroPadding (name: string) (buffer: NativeBuffer) (rows: int) =
                for r in 0 .. rows - 1 do
                    for j in n .. np - 1 do
                        if buffer[r * np + j] <> 0.0f then failtestf "%s: row %d, lane %d holds %g" name r j buffer[r * np + j]
            zeroPadding "the trajectory" ws.States ((batch.TrainedSteps + 1) * batch.Trials)
            for name, buffer in [ "the pre-activation", ws.Pre; "the noise η", ws.Eta; "the increment Δ", ws.Delta
                                  "the adjoint", ws.Adjoint; "the carry", ws.Carry; "δ", ws.StepDelta ] do
                zeroPadding name buffer batch.Trials
    ]
