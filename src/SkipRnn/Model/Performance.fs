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

    /// Scores the readouts of one network on a batch (see `ofCounts`). The outputs for the state after step
    /// BurnIn + k of `trial` start at y[(k·Trials + trial)·stride].
    let score (batch: TrialBatch) (y: ReadOnlySpan<float32>) (stride: int) =
        let trials = batch.Trials
        match batch.Scoring with
        | ByChoice ->
            let mutable scored = 0
            let mutable correct = 0
            for t in batch.BurnIn .. batch.Steps - 1 do
                for b in 0 .. trials - 1 do
                    if batch.LossWeights[t * trials + b] > 0.0f then
                        let row = y.Slice(((t - batch.BurnIn) * trials + b) * stride, batch.OutputSize)
                        let target = ReadOnlySpan(batch.Targets, batch.OutputIndex(t, b), batch.OutputSize)
                        scored <- scored + 1
                        if argmax row batch.OutputSize = argmax target batch.OutputSize then correct <- correct + 1
            ofCounts batch { FixationHeld = 0L; HeldOnFixate = 0L; ReleasedOnRespond = 0L; OnTarget = 0L
                             Scored = int64 scored; Correct = int64 correct }
        | FixationAndDirection (threshold, tolerance) ->
            let fixWin = batch.FixationWindow
            let mutable held = 0
            for t in fixWin.Start .. fixWin.End - 1 do
                for b in 0 .. trials - 1 do
                    if y[((t - batch.BurnIn) * trials + b) * stride] > threshold then held <- held + 1
            let respWin = batch.ResponseWindow
            let mutable heldOnFixate = 0
            let mutable releasedOnRespond = 0
            let mutable onTarget = 0
            for b in 0 .. trials - 1 do
                match batch.Answers[b] with
                | Respond direction ->
                    for t in respWin.Start .. respWin.End - 1 do
                        let row = y.Slice(((t - batch.BurnIn) * trials + b) * stride, batch.OutputSize)
                        if row[0] < threshold then releasedOnRespond <- releasedOnRespond + 1
                        if Ring.distance (Ring.decode (row.Slice(1, Ring.Units))) direction < tolerance then
                            onTarget <- onTarget + 1
                | Fixate | Choose _ ->
                    for t in respWin.Start .. respWin.End - 1 do
                        if y[((t - batch.BurnIn) * trials + b) * stride] > threshold then heldOnFixate <- heldOnFixate + 1
            ofCounts batch { FixationHeld = int64 held; HeldOnFixate = int64 heldOnFixate; ReleasedOnRespond = int64 releasedOnRespond
                             OnTarget = int64 onTarget; Scored = 0L; Correct = 0L }

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
