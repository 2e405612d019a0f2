namespace SkipRnn.Model

open SkipRnn.Tasks

/// How a skip connection's far end is formed (paper §3).
type SkipKind =
    /// SCTT, eq. 8: the state at the start of the window.
    | Plain
    /// DASC, eq. 9: a coarse Euler step from the start of the window, r_start + θ·Δr_start, where Δr_start is
    /// the window's first increment (already computed by the base step, so it costs no extra product).
    | Aligned

/// One skip connection through time over steps [Start, End] of a trial: after step End,
///     r ← β·r + (1 − β)·anchor,    anchor = r_(before Start)  (+ θ·Δr_Start when Aligned, θ = End − Start + 1).
/// Skips of one Level never overlap, so each level needs a single anchor buffer.
type Skip =
    { Level: int; Start: int; End: int; Beta: float32; Kind: SkipKind }
    member s.Theta = float32 (s.End - s.Start + 1)

/// Everything the driver needs to know about the skips of one batch: per step, the skips anchored there
/// (in level order) and the skips that end there (in the order their mixes are applied).
type SkipPlan =
    { Steps: int
      Levels: int
      AnchoredAt: Skip[][]
      EndingAt: Skip[][] }

    static member Build(steps: int, skips: Skip seq) =
        let skips = Array.ofSeq skips
        let levels = if skips.Length = 0 then 0 else (skips |> Array.map (fun s -> s.Level) |> Array.max) + 1
        let by (key: Skip -> int) =
            Array.init steps (fun t -> skips |> Array.filter (fun s -> key s = t) |> Array.sortBy (fun s -> s.Level))
        { Steps = steps; Levels = levels; AnchoredAt = by (fun s -> s.Start); EndingAt = by (fun s -> s.End) }

    static member Empty(steps: int) = SkipPlan.Build(steps, [])

    member p.Skips = p.EndingAt |> Array.concat

/// A training method at one point of its schedule: what the integrator does for this training step.
/// Evaluation always uses the true dynamics (Euler at the base dt, no skips).
type Integrator =
    /// Paper eq. 5: Euler at the base dt.
    | Euler
    /// Paper eq. 7: Euler at θ·dt (the batch is generated on the coarse grid).
    | CoarseEuler of theta: float
    /// Paper eq. 8: Euler plus a plain skip at the end of every full window of θ steps inside each period.
    | SkipThroughTime of theta: int * beta: float
    /// Paper eq. 9: the same with dynamics-aligned skips.
    | DynamicsAligned of theta: int * beta: float

    /// Factor by which the batch's time step is coarsened.
    member i.DtFactor =
        match i with
        | CoarseEuler theta -> theta
        | _ -> 1.0

module Integrator =

    /// Full windows of θ steps starting at each period's first step; a partial window at the end of a
    /// period gets no skip, and windows restart at every period (SPEC §5).
    let windows (theta: int) (periods: Period[]) =
        [ for p in periods do
            let full = p.Length / theta
            for w in 0 .. full - 1 do
                let start = p.Start + w * theta
                yield start, start + theta - 1 ]

    let private periodSkips level kind theta beta (batch: TrialBatch) =
        if theta <= 1 then []
        else
            windows theta batch.Periods
            |> List.map (fun (s, e) -> { Level = level; Start = s; End = e; Beta = float32 beta; Kind = kind })

    /// Strategic skips (paper §4.1): from each marked boundary to the step before the next one (or the end
    /// of the sequence), r ← β'·r + (1 − β')·r_boundary. They use their own level, so they combine with any
    /// method's regular skips.
    let strategicSkips (level: int) (beta: float) (boundaries: int[]) (steps: int) =
        [ for k in 0 .. boundaries.Length - 1 do
            let s = boundaries[k]
            let e = (if k + 1 < boundaries.Length then boundaries[k + 1] else steps) - 1
            if e >= s then yield { Level = level; Start = s; End = e; Beta = float32 beta; Kind = Plain } ]

    /// The plan for a batch generated on the method's grid: the method's own skips (level 0) and, when a
    /// strategic ratio β' is given, strategic skips between the batch's marked boundaries (level 1).
    let planWith (integrator: Integrator) (strategicRatio: float option) (batch: TrialBatch) =
        let regular =
            match integrator with
            | Euler | CoarseEuler _ -> []
            | SkipThroughTime (theta, beta) -> periodSkips 0 Plain theta beta batch
            | DynamicsAligned (theta, beta) -> periodSkips 0 Aligned theta beta batch
        let strategic =
            match strategicRatio with
            | Some beta -> strategicSkips 1 beta batch.Boundaries batch.Steps
            | None -> []
        SkipPlan.Build(batch.Steps, regular @ strategic)

    /// The plan of the method's own skips alone.
    let plan (integrator: Integrator) (batch: TrialBatch) = planWith integrator None batch
