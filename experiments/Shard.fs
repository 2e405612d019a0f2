namespace SkipRnn.Experiments

open System

/// One of K parts of a sweep's jobs. Job i of the sweep's stable order belongs to shard i mod K, so every
/// array task finds its part from the experiments' definitions alone, and no job belongs to two shards.
type Shard =
    { Index: int
      Count: int }

    member s.Label = sprintf "%d/%d" s.Index s.Count

module Shard =

    /// "i/K" with 0 ≤ i < K.
    let tryParse (text: string) : Result<Shard, string> =
        let bad () = Error(sprintf "the shard must be i/K with 0 ≤ i < K, got '%s'" text)
        match text.Split('/') with
        | [| i; k |] ->
            match Int32.TryParse(i.Trim()), Int32.TryParse(k.Trim()) with
            | (true, i), (true, k) when k >= 1 && i >= 0 && i < k -> Ok { Index = i; Count = k }
            | _ -> bad ()
        | _ -> bad ()

    /// The jobs of `jobs` that belong to `shard`, in their order.
    let select (shard: Shard) (jobs: Job list) =
        jobs |> List.indexed |> List.filter (fun (i, _) -> i % shard.Count = shard.Index) |> List.map snd
