/// Every vector width trains the same networks: the 128-bit path (NEON on ARM, SSE on x64), the AVX2 and AVX-512
/// paths and the scalar one, each chosen with SKIPRNN_SIMD in a process of its own.
module SkipRnn.Tests.VectorPathTests

open System
open System.IO
open Expecto
open SkipRnn.Numerics

/// Trains briefly with the kernels of one width (checking, from the program's own line, that it used them) and
/// returns the evaluations.csv rows less the timing column.
let private trainWith (width: string) (expected: string) (options: string list) =
    let out = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-width-%s-%s" width (string (Guid.NewGuid())))
    let code, _, err =
        CliTests.runWith [ "SKIPRNN_SIMD", width ]
            ([ "train"; "--networks"; "2"; "--max-steps"; "20"; "--eval-trials"; "40"; "--seed"; "3"; "--no-early-stop"; "--out"; out ] @ options)
    if code <> 0 then failtestf "SKIPRNN_SIMD=%s: exit %d (%s)" width code err
    Expect.stringContains err expected (sprintf "SKIPRNN_SIMD=%s runs the %s kernels" width expected)
    let rows =
        File.ReadAllLines(Path.Combine(out, "evaluations.csv"))
        |> Array.skip 1
        |> Array.map (fun line -> line.Split(',') |> Array.removeAt 1 |> Array.map float)
    Directory.Delete(out, true)
    rows

/// Columns after the timing one: step, criterion, mean loss, θ, β, diverged, then each network's performance.
let private agree (width: string) (rows: float[][]) (scalar: float[][]) =
    Expect.equal rows.Length scalar.Length (sprintf "%s: evaluations" width)
    for r, s in Array.zip rows scalar do
        let at k = sprintf "SKIPRNN_SIMD=%s, step %g, column %d: %g against scalar %g" width s[0] k r[k] s[k]
        for k in [ 0; 3; 4; 5 ] do Expect.equal r[k] s[k] (at k)
        // The widths sum in other orders and fuse multiply-adds: the loss agrees closely, not to the bit, and a
        // performance (a share of 40 trials' steps) may move by a step or two.
        Expect.isLessThanOrEqual (abs (r[2] - s[2])) (1e-3 * abs s[2]) (at 2)
        for k in [ 1 ] @ [ 6 .. s.Length - 1 ] do Expect.isLessThanOrEqual (abs (r[k] - s[k])) 0.05 (at k)

[<Tests>]
let vectorPathTests =
    testList "vector paths" [
        testCase "the 128-bit, AVX2 and AVX-512 kernels train what the scalar kernels train (ReLU, DASC)" <| fun () ->
            if not (Runtime.Intrinsics.Vector128.IsHardwareAccelerated) then skiptest "this processor has no 128-bit vectors"
            if not (isNull (Environment.GetEnvironmentVariable "SKIPRNN_SIMD")) then skiptest "SKIPRNN_SIMD is set for the whole run"
            let options = [ "--task"; "dlygo"; "--method"; "dasc"; "--skip"; "10" ]
            let scalar = trainWith "scalar" "scalar kernels" options
            for width, expected, available in [ "128", "128-bit", true; "256", "AVX2", Simd.hasAvx2; "512", "AVX-512", Simd.hasAvx512 ] do
                if available then agree width (trainWith width expected options) scalar
        testCase "the 128-bit kernels train what the scalar kernels train (tanh, control)" <| fun () ->
            if not (Runtime.Intrinsics.Vector128.IsHardwareAccelerated) then skiptest "this processor has no 128-bit vectors"
            let options = [ "--task"; "go"; "--activation"; "tanh" ]
            agree "128" (trainWith "128" "128-bit" options) (trainWith "scalar" "scalar kernels" options)
    ]

[<Tests>]
let simdSettingTests =
    testList "SKIPRNN_SIMD" [
        testCase "a value it does not know is refused with one line and exit code 2" <| fun () ->
            let code, _, err = CliTests.runWith [ "SKIPRNN_SIMD", "avx9" ] [ "tasks" ]
            Expect.equal code 2 "exit code"
            Expect.equal (err.Trim()) "skiprnn: SKIPRNN_SIMD must be 512, 256, 128 or scalar, got 'avx9'" "one line"
    ]
