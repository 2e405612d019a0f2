namespace SkipRnn.Model

open SkipRnn.Tasks

/// How the far end of a method's skip connections is formed (paper §3).
type SkipKind =
    /// SCTT, eq. 8: the state at the start of the window.
    | Plain
    /// DASC, eq. 9: a coarse Euler step from the start of the window, r_start + θ·Δr_start, where Δr_start is
    /// the window's first increment (already computed by the base step, so it costs no extra product).
    | Aligned
    /// DASC as the authors' code forms it (`compute_uall` in wmws2/temporalskip): the first window of a period
    /// as Aligned; every later one from the state after the previous window's mix plus θ times the previous
    /// window's last increment (Δ of step Start − 1).
    | AlignedLast

/// Where a skip's anchor is taken: right after step `Step`, from the state before that step or, with
/// `AfterMixes`, from the state after it and its mixes, plus `IncrementWeight` times that step's increment Δ.
type Anchor =
    { Step: int
      AfterMixes: bool
      IncrementWeight: float32 }

/// One skip connection through time over steps [Start, End] of a trial: after step End,
///     r ← β·r + (1 − β)·anchor.
/// Skips of one Level never overlap, so each level needs a single anchor buffer: an anchor taken after the mixes
/// of step Start − 1 (AlignedLast) is written right after the previous window's mix at that step has read it.
type Skip =
    { Level: int; Start: int; End: int; Beta: float32; Anchor: Anchor }

/// Everything the driver needs to know about the skips of one batch, per step: the anchors taken from the
/// state before it, the skips that end there (in the order their mixes are applied) and the anchors taken
/// after those mixes.
type SkipPlan =
    { Steps: int
      Levels: int
      AnchoredAt: Skip[][]
      EndingAt: Skip[][]
      AnchoredAfter: Skip[][] }

    static member Build(steps: int, skips: Skip seq) =
        let skips = Array.ofSeq skips
        let levels = if skips.Length = 0 then 0 else (skips |> Array.map (fun s -> s.Level) |> Array.max) + 1
        // Steps without a skip share one empty array, so that a plan costs little more than its three arrays.
        let by (keep: Skip -> bool) (key: Skip -> int) =
            let at = Array.create steps Array.empty<Skip>
            for s in skips do
                if keep s then at[key s] <- Array.append at[key s] [| s |]
            for t in 0 .. steps - 1 do
                if at[t].Length > 1 then at[t] <- Array.sortBy (fun s -> s.Level) at[t]
            at
        { Steps = steps
          Levels = levels
          AnchoredAt = by (fun s -> not s.Anchor.AfterMixes) (fun s -> s.Anchor.Step)
          EndingAt = by (fun _ -> true) (fun s -> s.End)
          AnchoredAfter = by (fun s -> s.Anchor.AfterMixes) (fun s -> s.Anchor.Step) }

    static member Empty(steps: int) = SkipPlan.Build(steps, [])

    member p.Skips = p.EndingAt |> Array.concat

/// What the integrator does for one training step. Evaluation always uses the true dynamics (Euler at the
/// base dt, no skips).
type Integrator =
    /// Paper eq. 5: Euler at the base dt.
    | Euler
    /// Paper eq. 7: Euler at θ·dt (the batch is generated on the coarse grid).
    | CoarseEuler of theta: float
    /// Paper eq. 8–9: Euler plus a skip of the given kind at the end of every full window of θ steps inside
    /// each period.
    | WithSkips of kind: SkipKind * theta: int * beta: float

    /// Factor by which the batch's time step is coarsened.
    member i.DtFactor =
        match i with
        | CoarseEuler theta -> theta
        | Euler | WithSkips _ -> 1.0

module Integrator =

    /// Full windows of θ steps starting at each period's first step; a partial window at the end of a
    /// period gets no skip, and windows restart at every period (SPEC §5).
    let windows (theta: int) (periods: Period[]) =
        [ for p in periods do
            let full = p.Length / theta
            for w in 0 .. full - 1 do
                let start = p.Start + w * theta
                yield start, start + theta - 1 ]

    /// The anchor of a window [start, end] of a skip kind; `first` is true for the first window of a period.
    let private anchorOf (kind: SkipKind) (start: int) (theta: int) (first: bool) =
        match kind with
        | Plain -> { Step = start; AfterMixes = false; IncrementWeight = 0.0f }
        | Aligned -> { Step = start; AfterMixes = false; IncrementWeight = float32 theta }
        | AlignedLast when first -> { Step = start; AfterMixes = false; IncrementWeight = float32 theta }
        | AlignedLast -> { Step = start - 1; AfterMixes = true; IncrementWeight = float32 theta }

    let private periodSkips level kind theta beta (batch: TrialBatch) =
        if theta <= 1 then []
        else
            let firstWindows = batch.Periods |> Array.map (fun p -> p.Start) |> Set.ofArray
            windows theta batch.Periods
            |> List.map (fun (s, e) ->
                { Level = level; Start = s; End = e; Beta = float32 beta; Anchor = anchorOf kind s theta (firstWindows.Contains s) })

    /// Strategic skips (paper §4.1): from each marked boundary to the step before the next one (or the end
    /// of the sequence), r ← β'·r + (1 − β')·r_boundary. They use their own level, so they combine with any
    /// method's regular skips.
    let strategicSkips (level: int) (beta: float) (boundaries: int[]) (steps: int) =
        [ for k in 0 .. boundaries.Length - 1 do
            let s = boundaries[k]
            let e = (if k + 1 < boundaries.Length then boundaries[k + 1] else steps) - 1
            if e >= s then yield { Level = level; Start = s; End = e; Beta = float32 beta; Anchor = anchorOf Plain s 0 true } ]

    /// The plan for a batch generated on the method's grid: the method's own skips (level 0) and, when a
    /// strategic ratio β' is given, strategic skips between the batch's marked boundaries (level 1).
    let planWith (integrator: Integrator) (strategicRatio: float option) (batch: TrialBatch) =
        let regular =
            match integrator with
            | Euler | CoarseEuler _ -> []
            | WithSkips (kind, theta, beta) -> periodSkips 0 kind theta beta batch
        let strategic =
            match strategicRatio with
            | Some beta -> strategicSkips 1 beta batch.Boundaries batch.Steps
            | None -> []
        SkipPlan.Build(batch.Steps, regular @ strategic)

    /// The plan of the method's own skips alone.
    let plan (integrator: Integrator) (batch: TrialBatch) = planWith integrator None batch
