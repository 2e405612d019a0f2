namespace SkipRnn.Numerics

open System
open System.IO

/// The machine a computation ran on, in words: printed by bench and recorded with every planned experiment,
/// so that a figure's seconds can be read against the processor that produced them.
module Machine =

    let private cpuModel () =
        try
            if File.Exists "/proc/cpuinfo" then
                File.ReadLines "/proc/cpuinfo"
                |> Seq.tryFind (fun l -> l.StartsWith "model name")
                |> Option.map (fun l -> l.Substring(l.IndexOf ':' + 1).Trim())
            else None
        with _ -> None

    /// "AMD EPYC 9B14, 2 cores, AVX-512, Linux x64" (the model where the system says it).
    let describe () =
        let model = cpuModel () |> Option.map (fun m -> m + ", ") |> Option.defaultValue ""
        sprintf "%s%d cores, %s, %s %s" model Environment.ProcessorCount (Simd.describe ())
            (if OperatingSystem.IsLinux() then "Linux" elif OperatingSystem.IsMacOS() then "macOS" elif OperatingSystem.IsWindows() then "Windows" else "other OS")
            (Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant())
