namespace SkipRnn.Numerics

/// How far a reused buffer grows when a batch needs more than it holds.
module Capacity =

    /// `length` and a quarter more, so that the jitter of the next batches (a longer trial) rarely needs another.
    let withHeadroom (length: int) = length + length / 4
