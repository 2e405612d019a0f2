module SkipRnn.Benchmarks.Program

open BenchmarkDotNet.Running

[<EntryPoint>]
let main argv =
    BenchmarkSwitcher.FromAssembly(typeof<KernelBenchmarks.Kernels>.Assembly).Run(argv) |> ignore
    0
