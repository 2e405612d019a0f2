namespace SkipRnn.Model

open System
open SkipRnn.Tasks

/// Task performance (SPEC §4) and the 10th–90th percentile training criterion.
module Performance =

    let private argmax (v: ReadOnlySpan<float32>) (count: int) =
        let mutable best = 0
        for o in 1 .. count - 1 do
            if v[o] > v[best] then best <- o
        best

    /// What the performance measure counts on a batch (a backend that cannot keep every readout, such as the
    /// GPU's, counts these on its device and hands them to `ofCounts`).
    [<Struct>]
    type Counts =
        { /// (step, trial) pairs of the fixation window with fixation output > 0.5.
          FixationHeld: int64
          /// Response-window pairs of Fixate trials with fixation output > 0.5.
          HeldOnFixate: int64
          /// Response-window pairs of Respond trials with fixation output < 0.5.
          ReleasedOnRespond: int64
          /// Response-window pairs of Respond trials decoded within 0.2π of the target.
          OnTarget: int64
          /// Choice tasks: loss-weighted (step, trial) pairs, and those whose argmax output is the target's.
          Scored: int64
          Correct: int64 }

    /// Ring tasks (Scoring.FixationAndDirection, SPEC §4 with its threshold 0.5 and tolerance 0.2π):
    /// fix = share of (step, trial) in the fixation window with fixation output above the threshold;
    /// resp = share of response-window (step, trial) pairs that hold fixation on Fixate trials
    ///      + share that release it on Respond trials × share of Respond-trial pairs decoded within 0.2π;
    /// performance = w·fix + (1 − w)·resp, w = the batch's FixationShare. (This is the authors' measure; with
    /// no Fixate trials resp is the fraction released times the fraction on target.)
    /// Choice tasks (Scoring.ByChoice): share of loss-weighted steps whose argmax output is the target's argmax.
    let ofCounts (batch: TrialBatch) (c: Counts) =
        let trials = batch.Trials
        match batch.Scoring with
        | ByChoice -> if c.Scored = 0L then 0.0 else float c.Correct / float c.Scored
        | FixationAndDirection _ ->
            let fixWin = batch.FixationWindow
            let fix = if fixWin.Length = 0 then 1.0 else float c.FixationHeld / float (fixWin.Length * trials)
            let respWin = batch.ResponseWindow
            let respondTrials = batch.Answers |> Array.filter (function Respond _ -> true | _ -> false) |> Array.length
            let pairs = float (respWin.Length * trials)
            let resp =
                if respWin.Length = 0 then 1.0
                else
                    let accuracy = if respondTrials = 0 then 0.0 else float c.OnTarget / float (respWin.Length * respondTrials)
                    float c.HeldOnFixate / pairs + float c.ReleasedOnRespond / pairs * accuracy
            let w = batch.FixationShare
            w * fix + (1.0 - w) * resp

    /// No (step, trial) pair counted yet.
    let noCounts =
        { FixationHeld = 0L; HeldOnFixate = 0L; ReleasedOnRespond = 0L; OnTarget = 0L; Scored = 0L; Correct = 0L }

    /// Whether the readout after step t counts for the score at all (a backend may skip the others).
    let isScored (batch: TrialBatch) (t: int) =
        match batch.Scoring with
        | ByChoice -> ReadOnlySpan(batch.LossWeights, t * batch.Trials, batch.Trials).IndexOfAnyExcept(0.0f) >= 0
        | FixationAndDirection _ ->
            batch.FixationWindow.Contains t || batch.ResponseWindow.Contains t

    /// How many leading outputs `countStep` reads after step t (it reads no others): a step that FixationAndDirection
    /// scores for fixation alone reads the fixation output; every other step all of them.
    let outputsRead (batch: TrialBatch) (t: int) =
        match batch.Scoring with
        | FixationAndDirection _ when not (batch.ResponseWindow.Contains t) -> 1
        | _ -> batch.OutputSize

    /// `counts` plus what the readouts after step t count (see `ofCounts`): trial b's outputs start at y[b·stride].
    let countStep (batch: TrialBatch) (t: int) (y: ReadOnlySpan<float32>) (stride: int) (counts: Counts) =
        let trials = batch.Trials
        match batch.Scoring with
        | ByChoice ->
            let mutable scored = 0L
            let mutable correct = 0L
            for b in 0 .. trials - 1 do
                if batch.LossWeights[t * trials + b] > 0.0f then
                    let target = ReadOnlySpan(batch.Targets, batch.OutputIndex(t, b), batch.OutputSize)
                    scored <- scored + 1L
                    if argmax (y.Slice(b * stride, batch.OutputSize)) batch.OutputSize = argmax target batch.OutputSize then
                        correct <- correct + 1L
            { counts with Scored = counts.Scored + scored; Correct = counts.Correct + correct }
        | FixationAndDirection (threshold, tolerance) ->
            let mutable held = 0L
            let mutable heldOnFixate = 0L
            let mutable released = 0L
            let mutable onTarget = 0L
            let fixWin = batch.FixationWindow
            if fixWin.Contains t then
                for b in 0 .. trials - 1 do
                    if y[b * stride] > threshold then held <- held + 1L
            let respWin = batch.ResponseWindow
            if respWin.Contains t then
                for b in 0 .. trials - 1 do
                    let row = y.Slice(b * stride, batch.OutputSize)
                    match batch.Answers[b] with
                    | Respond direction ->
                        if row[0] < threshold then released <- released + 1L
                        if Ring.distance (Ring.decode (row.Slice(1, Ring.Units))) direction < tolerance then onTarget <- onTarget + 1L
                    | Fixate | Choose _ ->
                        if row[0] > threshold then heldOnFixate <- heldOnFixate + 1L
            { counts with
                FixationHeld = counts.FixationHeld + held; HeldOnFixate = counts.HeldOnFixate + heldOnFixate
                ReleasedOnRespond = counts.ReleasedOnRespond + released; OnTarget = counts.OnTarget + onTarget }

    /// Scores the readouts of one network on a batch (see `ofCounts`). The outputs for the state after step
    /// BurnIn + k of `trial` start at y[(k·Trials + trial)·stride].
    let score (batch: TrialBatch) (y: ReadOnlySpan<float32>) (stride: int) =
        let mutable counts = noCounts
        let row = batch.Trials * stride
        for t in batch.BurnIn .. batch.Steps - 1 do
            if isScored batch t then counts <- countStep batch t (y.Slice((t - batch.BurnIn) * row, row)) stride counts
        ofCounts batch counts

    /// Mean performance of the networks between the 10th and 90th percentile: sort, drop the lowest and
    /// highest 10 % (indices [⌊0.1 M⌋, ⌊0.9 M⌋), as the authors' code does). NaN counts as 0.
    let criterion (performances: float[]) =
        let sorted = performances |> Array.map (fun p -> if Double.IsNaN p then 0.0 else p) |> Array.sort
        let m = sorted.Length
        if m = 0 then 0.0
        else
            let lo = int (0.1 * float m)
            let hi = int (0.9 * float m)
            if hi <= lo then Array.average sorted else Array.average sorted[lo .. hi - 1]
