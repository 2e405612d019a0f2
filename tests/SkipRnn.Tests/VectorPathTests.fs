/// Every vector width trains the same networks: the 128-bit path (NEON on ARM, SSE on x64), the AVX2 and AVX-512
/// paths and the scalar one, each chosen with SKIPRNN_SIMD in a process of its own.
module SkipRnn.Tests.VectorPathTests

open System
open System.IO
open System.Diagnostics
open Expecto
open SkipRnn.Numerics

/// Trains go/control briefly with the kernels of one width; returns the evaluations.csv rows less the timing column.
let private trainWith (width: string) =
    let out = Path.Combine(Path.GetTempPath(), sprintf "skiprnn-width-%s-%s" width (string (Guid.NewGuid())))
    let info = ProcessStartInfo("dotnet", RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SkipRnn.Cli.dll"))
    for a in [ "train"; "--task"; "dlygo"; "--method"; "dasc"; "--skip"; "10"; "--networks"; "2"; "--max-steps"; "20"
               "--eval-trials"; "40"; "--seed"; "3"; "--no-early-stop"; "--quiet"; "--out"; out ] do info.ArgumentList.Add a
    info.Environment["SKIPRNN_SIMD"] <- width
    use p = Process.Start info
    let err = p.StandardError.ReadToEndAsync()
    p.StandardOutput.ReadToEnd() |> ignore
    p.WaitForExit()
    if p.ExitCode <> 0 then failtestf "SKIPRNN_SIMD=%s: exit %d (%s)" width p.ExitCode err.Result
    let rows =
        File.ReadAllLines(Path.Combine(out, "evaluations.csv"))
        |> Array.skip 1
        |> Array.map (fun line -> line.Split(',') |> Array.removeAt 1 |> Array.map float)
    Directory.Delete(out, true)
    rows

[<Tests>]
let vectorPathTests =
    testList "vector paths" [
        testCase "the 128-bit, AVX2 and AVX-512 kernels train what the scalar kernels train" <| fun () ->
            let scalar = trainWith "scalar"
            let widths =
                [ "128", Runtime.Intrinsics.Vector128.IsHardwareAccelerated
                  "256", Simd.hasAvx2
                  "512", Simd.hasAvx512 ]
            if not (snd (List.head widths)) then skiptest "this processor has no 128-bit vectors"
            for width, available in widths do
                if available then
                    let rows = trainWith width
                    Expect.equal rows.Length scalar.Length (sprintf "%s: evaluations" width)
                    for r, s in Array.zip rows scalar do
                        // step, criterion, mean loss, θ, β, diverged, each network's performance: the widths sum in
                        // other orders and fuse multiply-adds, so the numbers agree closely, not to the bit.
                        for k in 0 .. s.Length - 1 do
                            Expect.isLessThanOrEqual (abs (r[k] - s[k])) (2e-3 * (1.0 + abs s[k]))
                                (sprintf "SKIPRNN_SIMD=%s, step %g, column %d: %g against scalar %g" width s[0] k r[k] s[k])
    ]
