namespace SkipRnn.Tasks

/// Which network a task is meant for.
type NetworkKind =
    /// SPEC §1: input, output and auxiliary populations; sigmoid readout; squared error.
    | PopulationNetwork
    /// SPEC §7: every unit takes input and is read out; softmax readout; cross-entropy.
    | ChoiceNetwork

/// A task as training sees it: a name and a generator of trial batches. A user adds a task by writing one
/// of these (a generator plus its sizes) — nothing else in the library needs to change.
type TaskDefinition =
    { Name: string
      /// The name used in the paper's tables and figures (dgo for dlygo, ...).
      PaperName: string
      /// One of the 9 tasks that need long-term memory (Table 1), or a multi-trial task.
      LongTermMemory: bool
      InputSize: int
      OutputSize: int
      Network: NetworkKind
      /// Trials (or sequences) per training batch in the paper: 20 for the standard tasks, 40 for rule reversal.
      BatchTrials: int
      Generate: BatchSettings -> SkipRnn.Numerics.Rng -> TrialBatch }
