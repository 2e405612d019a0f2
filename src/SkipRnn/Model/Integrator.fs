namespace SkipRnn.Model

open SkipRnn.Numerics
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
[<Struct>]
type Anchor =
    { Step: int
      AfterMixes: bool
      IncrementWeight: float32 }

/// One skip connection through time over steps [Start, End] of a trial: after step End,
///     r ← β·r + (1 − β)·anchor.
/// Skips of one Level never overlap, so each level needs a single anchor buffer: an anchor taken after the mixes
/// of step Start − 1 (AlignedLast) is written right after the previous window's mix at that step has read it.
[<Struct>]
type Skip =
    { Level: int; Start: int; End: int; Beta: float32; Anchor: Anchor }

/// The three moments of a step at which the driver acts on a skip.
type SkipEvent =
    /// Its anchor is taken from the state before the step.
    | AnchoredAt
    /// It ends at the step: its mix is applied.
    | EndingAt
    /// Its anchor is taken from the state after the step's mixes.
    | AnchoredAfter

/// The skips of a plan grouped by the step of one event: those at step t, in level order, are
/// Skips[First[t] .. First[t + 1] − 1]. Refilled in place (see SkipPlan.Clear).
[<Sealed>]
type SkipsByStep() =
    let mutable skips: Skip[] = [||]
    let mutable first: int[] = [| 0 |]
    // Skips placed so far at each step (Fill's scratch).
    let mutable placed: int[] = [||]

    member _.Item with get (t: int) = System.ReadOnlySpan<Skip>(skips, first[t], first[t + 1] - first[t])

    /// Groups the skips of `event` by step (a counting sort), each step's in level order.
    member internal _.Fill(steps: int, levels: int, all: System.Span<Skip>, event: SkipEvent) =
        let stepOf (s: Skip) =
            match event with
            | AnchoredAt -> if s.Anchor.AfterMixes then -1 else s.Anchor.Step
            | EndingAt -> s.End
            | AnchoredAfter -> if s.Anchor.AfterMixes then s.Anchor.Step else -1
        if first.Length < steps + 1 then first <- Array.zeroCreate (Capacity.withHeadroom (steps + 1))
        System.Array.Clear(first, 0, steps + 1)
        for s in all do
            let t = stepOf s
            if t >= 0 then first[t + 1] <- first[t + 1] + 1
        for t in 1 .. steps do first[t] <- first[t] + first[t - 1]
        if skips.Length < first[steps] then skips <- Array.zeroCreate (Capacity.withHeadroom first[steps])
        if placed.Length < steps then placed <- Array.zeroCreate first.Length
        System.Array.Clear(placed, 0, steps)
        // Placed level by level, so that each step's skips are in level order.
        for level in 0 .. levels - 1 do
            for s in all do
                let t = stepOf s
                if t >= 0 && s.Level = level then
                    skips[first[t] + placed[t]] <- s
                    placed[t] <- placed[t] + 1

/// Everything the driver needs to know about the skips of one batch, per step: the anchors taken from the
/// state before it, the skips that end there (in the order their mixes are applied) and the anchors taken
/// after those mixes. A plan can be refilled in place for the next batch (Integrator.planInto), so that a
/// training step builds its plan without allocating.
[<Sealed>]
type SkipPlan() =
    let skips = ResizeArray<Skip>()
    let anchoredAt = SkipsByStep()
    let endingAt = SkipsByStep()
    let anchoredAfter = SkipsByStep()
    let mutable steps = 0
    let mutable levels = 0

    member _.Steps = steps
    member _.Levels = levels
    member _.AnchoredAt = anchoredAt
    member _.EndingAt = endingAt
    member _.AnchoredAfter = anchoredAfter

    /// Empties the plan for a batch of `stepCount` steps (then Add the skips, then Complete).
    member _.Clear(stepCount: int) =
        steps <- stepCount
        levels <- 0
        skips.Clear()
    member _.Add(skip: Skip) =
        skips.Add skip
        levels <- max levels (skip.Level + 1)
    /// Groups the added skips by step.
    member _.Complete() =
        let all = System.Runtime.InteropServices.CollectionsMarshal.AsSpan skips
        anchoredAt.Fill(steps, levels, all, AnchoredAt)
        endingAt.Fill(steps, levels, all, EndingAt)
        anchoredAfter.Fill(steps, levels, all, AnchoredAfter)

    static member Build(steps: int, skips: Skip seq) =
        let plan = SkipPlan()
        plan.Clear steps
        for s in skips do plan.Add s
        plan.Complete()
        plan

    static member Empty(steps: int) = SkipPlan.Build(steps, [])

    /// Every skip, in the order of their mixes.
    member p.Skips = [| for t in 0 .. steps - 1 do yield! p.EndingAt[t].ToArray() |]

    override p.Equals(other) =
        match other with
        | :? SkipPlan as q -> p.Steps = q.Steps && p.Levels = q.Levels && p.Skips = q.Skips
        | _ -> false
    override p.GetHashCode() = hash (p.Steps, p.Skips)

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

    /// The windows of θ steps, in order: full windows starting at each period's first step; a partial window at the
    /// end of a period gets no skip, and windows restart at every period (SPEC §5). `f start end first` sees each,
    /// `first` true for a period's first window.
    let inline forEachWindow (theta: int) (periods: Period[]) ([<InlineIfLambda>] f: int -> int -> bool -> unit) =
        for p in periods do
            for w in 0 .. p.Length / theta - 1 do
                let start = p.Start + w * theta
                f start (start + theta - 1) (w = 0)

    /// The windows of forEachWindow as (start, end) pairs.
    let windows (theta: int) (periods: Period[]) =
        let all = ResizeArray()
        forEachWindow theta periods (fun start finish _ -> all.Add((start, finish)))
        List.ofSeq all

    /// The anchor of a window [start, end] of a skip kind; `first` is true for the first window of a period.
    let private anchorOf (kind: SkipKind) (start: int) (theta: int) (first: bool) =
        match kind with
        | Plain -> { Step = start; AfterMixes = false; IncrementWeight = 0.0f }
        | Aligned -> { Step = start; AfterMixes = false; IncrementWeight = float32 theta }
        | AlignedLast when first -> { Step = start; AfterMixes = false; IncrementWeight = float32 theta }
        | AlignedLast -> { Step = start - 1; AfterMixes = true; IncrementWeight = float32 theta }

    /// The skips of every window (level 0).
    let private addPeriodSkips (plan: SkipPlan) kind theta (beta: float) (batch: TrialBatch) =
        if theta > 1 then
            forEachWindow theta batch.Periods (fun start finish first ->
                plan.Add { Level = 0; Start = start; End = finish; Beta = float32 beta; Anchor = anchorOf kind start theta first })

    /// Strategic skips (paper §4.1): from each marked boundary to the step before the next one (or the end
    /// of the sequence), r ← β'·r + (1 − β')·r_boundary. They use their own level (1), so they combine with
    /// any method's regular skips.
    let private addStrategicSkips (plan: SkipPlan) (beta: float) (boundaries: int[]) (steps: int) =
        for k in 0 .. boundaries.Length - 1 do
            let s = boundaries[k]
            let e = (if k + 1 < boundaries.Length then boundaries[k + 1] else steps) - 1
            if e >= s then plan.Add { Level = 1; Start = s; End = e; Beta = float32 beta; Anchor = anchorOf Plain s 0 true }

    /// Fills `plan` for a batch generated on the method's grid: the method's own skips (level 0) and, when a
    /// strategic ratio β' is given, strategic skips between the batch's marked boundaries (level 1).
    let planInto (plan: SkipPlan) (integrator: Integrator) (strategicRatio: float option) (batch: TrialBatch) =
        plan.Clear batch.Steps
        match integrator with
        | Euler | CoarseEuler _ -> ()
        | WithSkips (kind, theta, beta) -> addPeriodSkips plan kind theta beta batch
        match strategicRatio with
        | Some beta -> addStrategicSkips plan beta batch.Boundaries batch.Steps
        | None -> ()
        plan.Complete()

    /// The plan for a batch generated on the method's grid (planInto, in a new plan).
    let planWith (integrator: Integrator) (strategicRatio: float option) (batch: TrialBatch) =
        let plan = SkipPlan()
        planInto plan integrator strategicRatio batch
        plan

    /// The plan of the method's own skips alone.
    let plan (integrator: Integrator) (batch: TrialBatch) = planWith integrator None batch
