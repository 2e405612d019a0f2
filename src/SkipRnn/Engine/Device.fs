namespace SkipRnn.Engine

/// Where networks are trained: the CPU engine, a CUDA GPU, or a GPU when one is present.
type Device =
    | Cpu
    | Cuda
    | Auto

    member d.Name = match d with Cpu -> "cpu" | Cuda -> "cuda" | Auto -> "auto"

    static member TryParse(s: string) =
        match s.Trim().ToLowerInvariant() with
        | "cpu" -> Some Cpu
        | "cuda" | "gpu" -> Some Cuda
        | "auto" -> Some Auto
        | _ -> None
