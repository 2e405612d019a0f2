namespace SkipRnn.Results.Claims

open System
open SkipRnn.Results
open SkipRnn.Training

/// What the stored results say of one claim. Every rule can come out `Contradicted`.
type Verdict =
    | Shown
    | NotShown
    | Contradicted
    | NotTested

    member v.Text =
        match v with
        | Shown -> "shown"
        | NotShown -> "not shown"
        | Contradicted -> "contradicted"
        | NotTested -> "not tested at this profile"

/// One claim of the paper with its verdict on the stored results.
type ClaimResult =
    { Id: string
      Statement: string
      /// The paper's figure or table, and the report section (anchor) that shows our version of it.
      Source: string
      Section: string
      Verdict: Verdict
      /// The claim's main number, with its 95 % interval (NaN where the claim has none).
      Estimate: float
      Low: float
      High: float
      /// Networks whose results the verdict rests on.
      Networks: int
      /// The numbers in words.
      Evidence: string
      /// The numbers behind them (per task, per run), where there are many.
      Details: string
      /// The rule that turned them into the verdict.
      Rule: string }

/// The paper's claims C1–C8 and the rule that decides each from the results store.
module PaperClaims =

    /// τ / dt: a CD step coarser than this is coarser than the time constant (100 ms / 5 ms, SPEC §2).
    let tauOverDt = 20.0

    let private result id statement source section rule verdict (estimate, low, high) networks (evidence: string) =
        { Id = id; Statement = statement; Source = source; Section = section; Verdict = verdict
          Estimate = estimate; Low = low; High = high; Networks = networks; Evidence = evidence; Details = ""; Rule = rule }

    let private none = nan, nan, nan
    let private total (runs: RunEvidence list) = runs |> List.sumBy (fun r -> r.Networks)
    let private steps (v: float) = if Double.IsPositiveInfinity v then "not reached" else sprintf "%.0f" v
    let private signed (v: float) = if Double.IsPositiveInfinity v then "+∞" elif Double.IsNegativeInfinity v then "−∞" else sprintf "%+.0f" v

    /// C1: control training, steps to the threshold per task.
    let c1 (runs: RunEvidence list) =
        let rule =
            sprintf "Steps of control training until the criterion of all networks reaches %.2f, per task (censored at the step limit). Span: slowest task's lower bound over the fastest task's steps. Shown if the span is at least 10 and, of the pairs (long-dependency task, other task) whose order is known, at least 75 %% have the long-dependency task slower. Contradicted if every task reached the threshold with a span below 10, or more than half of all pairs have the long-dependency task faster." Evidence.threshold
        let make = result "C1" "The training steps needed span more than an order of magnitude across the 16 tasks, and tasks with long-term dependencies need more." "Fig. 1B–C" "figure-1c" rule
        let control = runs |> List.filter (fun r -> r.Method = Method.control.Name && r.HasNetworkCurves) |> List.distinctBy (fun r -> r.Task)
        let long = control |> List.filter (fun r -> r.LongTermMemory)
        let short = control |> List.filter (fun r -> not r.LongTermMemory)
        if long.Length < 2 || short.Length < 2 then
            make NotTested none (total control) (sprintf "needs control runs on at least 2 long-dependency and 2 other tasks; %d and %d stored" long.Length short.Length)
        else
            let reached (r: RunEvidence) = fst (Evidence.firstReaching Evidence.threshold r (Array.init r.Networks id))
            let s = control |> List.map (fun r -> r, reached r)
            let finite = s |> List.filter (fun (_, v) -> Double.IsFinite v)
            let lowerBound (r: RunEvidence, v: float) = if Double.IsFinite v then v else float r.MaxSteps
            let pairs = [ for l in s do for o in s do if (fst l).LongTermMemory && not (fst o).LongTermMemory then yield l, o ]
            // A pair's order is known when the slower one's lower bound passes the faster one's steps.
            let slower ((a: RunEvidence, va), (_: RunEvidence, vb)) = Double.IsFinite vb && lowerBound (a, va) > vb
            let longSlower = pairs |> List.filter slower |> List.length
            let longFaster = pairs |> List.filter (fun (l, o) -> slower (o, l)) |> List.length
            let known = longSlower + longFaster
            let perTask = s |> List.map (fun (r, v) -> sprintf "%s %s" r.Task (steps v)) |> String.concat ", "
            match finite with
            | [] ->
                make NotShown none (total control)
                    (sprintf "no task reached %.2f within its step limit (%s)" Evidence.threshold perTask)
            | _ ->
                let fastest = finite |> List.map snd |> List.min
                let spanLow = (s |> List.map lowerBound |> List.max) / fastest
                let censored = s.Length - finite.Length
                let spanHigh =
                    if censored > 0 then infinity
                    else (finite |> List.map snd |> List.max) / max 1.0 (fastest - float control.Head.EvaluateEvery)
                let share = if known = 0 then nan else float longSlower / float known
                let verdict =
                    if spanLow >= 10.0 && known > 0 && share >= 0.75 then Shown
                    elif (censored = 0 && spanHigh < 10.0) || float longFaster > 0.5 * float pairs.Length then Contradicted
                    else NotShown
                { make verdict (spanLow, spanLow, spanHigh) (total control)
                    (sprintf "span of steps to %.2f at least %.1f× (%s); long-dependency task slower in %d of %d ordered pairs, faster in %d; %d of %d tasks did not reach %.2f."
                        Evidence.threshold spanLow (if Double.IsFinite spanHigh then sprintf "at most %.1f×" spanHigh else "no upper bound: some tasks censored")
                        longSlower known longFaster censored s.Length Evidence.threshold)
                  with Details = "Steps to the threshold: " + perTask }

    /// Per long-dependency task of Table 1: its SCTT runs, its DASC runs, and its baseline runs (Control, CD10).
    let private table1Groups (runs: RunEvidence list) =
        runs
        |> List.filter (fun r -> r.LongTermMemory && r.HasNetworkCurves)
        |> List.groupBy (fun r -> r.Task)
        |> List.choose (fun (task, rs) ->
            let sctt = rs |> List.filter (fun r -> r.Method = Method.sctt.Name)
            let dasc = rs |> List.filter (fun r -> r.Method = Method.dasc.Name)
            let baseline = rs |> List.filter (fun r -> r.Method = Method.control.Name || r.Method = Method.cd.Name)
            if sctt.IsEmpty || dasc.IsEmpty || baseline.IsEmpty then None else Some(task, sctt, dasc, baseline))

    /// Aggregates intervals: shown if every interval lies above 0, contradicted if any lies below.
    let private allAbove (intervals: (string * (float * float * float)) list) =
        if intervals |> List.exists (fun (_, (_, _, hi)) -> hi < 0.0) then Contradicted
        elif intervals |> List.forall (fun (_, (_, lo, _)) -> lo > 0.0) then Shown
        else NotShown

    /// The interval that decides (the least favourable), for the table's numbers.
    let private weakest (intervals: (string * (float * float * float)) list) = intervals |> List.minBy (fun (_, (_, lo, _)) -> lo) |> snd

    let private interval (show: float -> string) (label: string, (p, lo, hi)) = sprintf "%s %s [%s, %s]" label (show p) (show lo) (show hi)

    /// Per task, the paired bootstrap of (fewest of the baselines) − (fewest of the SCTT runs), and the same
    /// for DASC, of a quantity read at the first evaluation reaching the threshold (steps or seconds).
    let private racesAgainst (baselineOf: RunEvidence list -> RunEvidence list) (quantity: float * float -> float) (runs: RunEvidence list) =
        table1Groups runs
        |> List.collect (fun (task, sctt, dasc, baseline) ->
            let baseline = baselineOf baseline
            let fewest (rs: RunEvidence list) idx = rs |> List.map (fun r -> quantity (Evidence.firstReaching Evidence.threshold r idx)) |> List.min
            [ for name, skip in [ Method.sctt.LabelPrefix, sctt; Method.dasc.LabelPrefix, dasc ] ->
                sprintf "%s %s" task name,
                Evidence.bootstrap (Evidence.networks (skip @ baseline)) (fun idx -> Evidence.difference (fewest baseline idx) (fewest skip idx)) ])

    /// C2: steps to the threshold, SCTT and DASC each against control and CD.
    let c2 (runs: RunEvidence list) =
        let rule =
            sprintf "On each long-dependency task of Table 1: Δ = (fewest steps to %.2f of Control and CD10) − (fewest of the SCTT runs), and the same for DASC, a run that never reaches it counted as +∞, each with a 95 %% paired bootstrap interval over networks. Shown if every Δ's interval lies above 0; contradicted if any lies below 0." Evidence.threshold
        let make = result "C2" "On the long-dependency tasks SCTT and DASC need fewer training steps than control and CD (the paper also has control and CD fail dgo and danti: see the steps per run)." "Table 1 (steps)" "table-1" rule
        match racesAgainst id fst runs with
        | [] -> make NotTested none 0 "needs Table 1 runs of SCTT, DASC and control or CD on a long-dependency task"
        | intervals ->
            let involved = table1Groups runs |> List.collect (fun (_, s, d, b) -> s @ d @ b)
            let perRun =
                involved |> List.map (fun r ->
                    sprintf "%s %s %s" r.Task r.Label (steps (fst (Evidence.firstReaching Evidence.threshold r (Array.init r.Networks id)))))
            { make (allAbove intervals) (weakest intervals) (total involved)
                (sprintf "Δ steps to %.2f: %s." Evidence.threshold (intervals |> List.map (interval signed) |> String.concat "; "))
              with Details = "Steps per run: " + String.concat ", " perRun }

    /// C3: CD cheapest per step; SCTT and DASC less training time than control.
    let c3 (runs: RunEvidence list) =
        let rule =
            sprintf "On each long-dependency task of Table 1: (a) CD10's training seconds per step over the cheapest other method's; (b) Δt = control's training seconds to %.2f − the fewest of the SCTT runs, and the same for DASC, never reaching counted as +∞, each with a 95 %% paired bootstrap interval over networks. Shown if (a) is at most 1 and every Δt's interval lies above 0; contradicted if (a) exceeds 1.2 (more than timing noise) or any Δt's interval lies below 0." Evidence.threshold
        let make = result "C3" "CD is the cheapest per training step; SCTT and DASC need less training time than control." "Table 1 (time, FLOPs)" "table-1" rule
        let groups = table1Groups runs |> List.filter (fun (_, _, _, b) -> b |> List.exists (fun r -> r.Method = Method.control.Name) && b |> List.exists (fun r -> r.Method = Method.cd.Name))
        match groups with
        | [] -> make NotTested none 0 "needs Table 1 runs of control, CD10, SCTT and DASC on a long-dependency task"
        | _ ->
            let perStep (r: RunEvidence) = r.TrainSeconds / float (max 1 r.Steps)
            let costs =
                groups |> List.map (fun (task, sctt, dasc, baseline) ->
                    let cd, control = baseline |> List.partition (fun r -> r.Method = Method.cd.Name)
                    task, (cd |> List.map perStep |> List.min) / ((sctt @ dasc @ control) |> List.map perStep |> List.min))
            let intervals = racesAgainst (List.filter (fun r -> r.Method = Method.control.Name)) snd (groups |> List.collect (fun (_, s, d, b) -> s @ d @ b))
            let verdict =
                if costs |> List.exists (fun (_, ratio) -> ratio > 1.2) then Contradicted
                else
                    match allAbove intervals with
                    | Shown when costs |> List.forall (fun (_, ratio) -> ratio <= 1.0) -> Shown
                    | Shown -> NotShown
                    | v -> v
            let seconds (v: float) = if Double.IsPositiveInfinity v then "+∞" elif Double.IsNegativeInfinity v then "−∞" else sprintf "%+.0f s" v
            make verdict (weakest intervals) (groups |> List.sumBy (fun (_, s, d, b) -> total (s @ d @ b)))
                (sprintf "CD10's seconds per step over the cheapest other method's: %s. Δt to %.2f: %s"
                    (costs |> List.map (fun (t, ratio) -> sprintf "%s %.2f" t ratio) |> String.concat ", ") Evidence.threshold
                    (intervals |> List.map (interval seconds) |> String.concat "; "))

    /// Figure 3's runs by (task, θ) cell, with the DASC run and the run of `method` in each.
    let private cells (runs: RunEvidence list) (method: string) (values: RunEvidence -> float[]) (keep: float -> bool) =
        runs
        |> List.filter (fun r -> (values r).Length > 0 && keep r.Theta)
        |> List.groupBy (fun r -> r.Task, r.Theta)
        |> List.choose (fun (cell, rs) ->
            match rs |> List.tryFind (fun r -> r.Method = Method.dasc.Name), rs |> List.tryFind (fun r -> r.Method = method) with
            | Some d, Some x -> Some(cell, d, x)
            | _ -> None)

    let private median (xs: float list) =
        let a = xs |> List.sort |> Array.ofList
        if a.Length = 0 then nan elif a.Length % 2 = 1 then a[a.Length / 2] else (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2.0

    /// log(mean distance of x) − log(mean distance of DASC) over the networks at idx finite in both runs; +∞
    /// if only DASC's are finite, −∞ if only x's, 0 if neither.
    let private logDistanceGap (dasc: RunEvidence) (x: RunEvidence) (idx: int[]) =
        let both = idx |> Array.filter (fun i -> Double.IsFinite dasc.Distances[i] && Double.IsFinite x.Distances[i])
        if both.Length > 0 then
            log (both |> Array.averageBy (fun i -> x.Distances[i])) - log (both |> Array.averageBy (fun i -> dasc.Distances[i]))
        else
            let anyFinite (r: RunEvidence) = idx |> Array.exists (fun i -> Double.IsFinite r.Distances[i])
            match anyFinite dasc, anyFinite x with
            | true, false -> infinity
            | false, true -> -infinity
            | _ -> 0.0

    /// Figure 3's comparison of SCTT, and of CD at the θ kept, with DASC: the paired bootstrap of `statistic`
    /// over each one's cells, and the runs it rests on; or why it cannot be made.
    let private againstDasc (runs: RunEvidence list) (values: RunEvidence -> float[]) (cdTheta: float -> bool) (needs: string)
                            (statistic: ((string * float) * RunEvidence * RunEvidence) list -> int[] -> float) =
        let sctt = cells runs Method.sctt.Name values (fun _ -> true)
        let cd = cells runs Method.cd.Name values cdTheta
        let stored = runs |> List.filter (fun r -> (values r).Length > 0)
        if sctt.IsEmpty || cd.IsEmpty then
            Error(if runs.Length > stored.Length then "Figure 3's runs were stored before per-network results were kept: run `skiprnn experiment run figure3` to fill them in" else needs)
        else
            let n = Evidence.networks stored
            Ok(Evidence.bootstrap n (statistic sctt), Evidence.bootstrap n (statistic cd), stored)

    /// C4: distance between modified and true dynamics.
    let c4 (runs: RunEvidence list) =
        let rule =
            sprintf "Figure 3's runs, per (task, θ) cell: log of SCTT's mean normalized distance minus DASC's, over the networks finite in both; the median over cells, with a 95 %% paired bootstrap interval over networks; the same for CD at θ ≤ %g (where CD has not blown up). Blow-up: CD's mean distance beyond θ = %g over its mean at or below. Shown if both intervals lie above 0 and the blow-up is at least 10 (or CD is not finite beyond); contradicted if either interval lies below 0 or the blow-up is below 1." tauOverDt tauOverDt
        let make = result "C4" "DASC's modified dynamics stay closest to the true ones, and CD's blow up beyond θ = τ/dt (the paper also finds SCTT's attenuated: not measured here)." "Fig. 3B" "figure-3b" rule
        let gap cs idx = cs |> List.map (fun (_, d, x) -> logDistanceGap d x idx) |> median
        match againstDasc runs (fun r -> r.Distances) (fun t -> t <= tauOverDt) "needs Figure 3 runs of DASC with SCTT, and with CD at θ ≤ τ/dt" gap with
        | Error why -> make NotTested none (total runs) why
        | Ok (vsSctt, vsCd, stored) ->
            let cdMean (keep: float -> bool) =
                stored |> List.filter (fun r -> r.Method = Method.cd.Name && keep r.Theta)
                |> List.map (fun r -> r.Distances |> Array.filter Double.IsFinite |> fun xs -> if xs.Length = 0 then infinity else Array.average xs)
                |> function [] -> nan | ms -> List.average ms
            let blowUp = cdMean (fun t -> t > tauOverDt) / cdMean (fun t -> t <= tauOverDt)
            let (_, sLo, sHi), (_, cLo, cHi) = vsSctt, vsCd
            let verdict =
                if sHi < 0.0 || cHi < 0.0 || blowUp < 1.0 then Contradicted
                elif sLo > 0.0 && cLo > 0.0 && blowUp >= 10.0 then Shown
                else NotShown
            let factor (p, lo, hi) = sprintf "×%.3g [%.3g, %.3g]" (exp p) (exp lo) (exp hi)
            make verdict vsSctt (total stored)
                (sprintf "distance over DASC's (median over cells): SCTT %s, CD at θ ≤ %g %s; CD's distance beyond θ = %g over its distance at or below: %s. Estimate: log of SCTT's factor."
                    (factor vsSctt) tauOverDt (factor vsCd) tauOverDt
                    (if Double.IsPositiveInfinity blowUp then "not finite (diverged)" elif Double.IsNaN blowUp then "not measured" else sprintf "%.3g×" blowUp))

    /// C5: performance difference between modified and true dynamics.
    let c5 (runs: RunEvidence list) =
        let rule =
            "Figure 3's runs, per (task, θ) cell: the mean over networks of |performance with modified − with true dynamics| of SCTT (and of CD) minus DASC's, a network without a finite pair counted as 1 (the largest possible); averaged over cells, with a 95 % paired bootstrap interval over networks. Shown if both intervals lie above 0; contradicted if either lies below 0."
        let make = result "C5" "DASC's performance gap between modified and true dynamics is the smallest." "Fig. 3C" "figure-3c" rule
        let gap (r: RunEvidence) (idx: int[]) = idx |> Array.averageBy (fun i -> let d = r.Differences[i] in if Double.IsFinite d then abs d else 1.0)
        let meanGap cs idx = cs |> List.averageBy (fun (_, d, x) -> gap x idx - gap d idx)
        match againstDasc runs (fun r -> r.Differences) (fun _ -> true) "needs Figure 3 runs of DASC with SCTT and with CD at the same θ" meanGap with
        | Error why -> make NotTested none (total runs) why
        | Ok (vsSctt, vsCd, stored) ->
            let (_, sLo, sHi), (_, cLo, cHi) = vsSctt, vsCd
            let verdict =
                if sHi < 0.0 || cHi < 0.0 then Contradicted
                elif sLo > 0.0 && cLo > 0.0 then Shown
                else NotShown
            let show (p, lo, hi) = sprintf "%+.3f [%+.3f, %+.3f]" p lo hi
            make verdict (if sLo < cLo then vsSctt else vsCd) (total stored)
                (sprintf "mean |gap| of SCTT minus DASC's %s; of CD minus DASC's %s (performance, 0–1). Estimate: the smaller of the two." (show vsSctt) (show vsCd))

    /// C6: CD held beyond τ/dt diverges.
    let c6 (runs: RunEvidence list) =
        let rule =
            sprintf "Appendix E's runs (CD with θ0 held, a network frozen and counted once its activity passes 10⁶ or its loss is not finite): the share of networks diverged with θ0 > %g, with its 95 %% Wilson interval. Shown if that interval lies above 0.5 and above the interval of θ0 ≤ %g; contradicted if it lies below 0.5." tauOverDt tauOverDt
        let make = result "C6" "CD held beyond θ = τ/dt diverges." "App. E" "appendix-e" rule
        let cd = runs |> List.filter (fun r -> r.Method = Method.cd.Name)
        let beyond = cd |> List.filter (fun r -> r.Theta > tauOverDt)
        let within = cd |> List.filter (fun r -> r.Theta <= tauOverDt)
        if beyond.IsEmpty then make NotTested none (total cd) "needs Appendix E runs of CD with θ0 beyond τ/dt"
        else
            let share (rs: RunEvidence list) = Evidence.wilson (rs |> List.sumBy (fun r -> r.Diverged)) (total rs)
            let (pb, lb, hb) as b = share beyond
            let (pw, lw, hw) = share within
            let verdict =
                if hb < 0.5 then Contradicted
                elif lb > 0.5 && (within.IsEmpty || hw < lb) then Shown
                else NotShown
            make verdict b (total cd)
                (sprintf "diverged with θ0 > %g: %d of %d (%.2f [%.2f, %.2f]); with θ0 ≤ %g: %s" tauOverDt
                    (beyond |> List.sumBy (fun r -> r.Diverged)) (total beyond) pb lb hb tauOverDt
                    (if within.IsEmpty then "not run" else sprintf "%d of %d (%.2f [%.2f, %.2f])" (within |> List.sumBy (fun r -> r.Diverged)) (total within) pw lw hw))

    let private trained (p: float) = p > 0.99

    /// C7: strategic skips raise the proportion of rule-reversal networks trained.
    let c7 (runs: RunEvidence list) =
        let rule =
            "Table 2's runs, per method: the share of networks above 0.99 with strategic skips minus without, with a 95 % paired bootstrap interval over networks. Shown if the interval lies above 0 for every method; contradicted if it lies below 0 for any."
        let make = result "C7" "Strategic skip connections raise the proportion of networks trained on rule reversal, for every method." "Table 2" "table-2" rule
        let pairs =
            runs |> List.filter (fun r -> not r.Strategic)
            |> List.choose (fun b -> runs |> List.tryFind (fun s -> s.Strategic && s.BaseLabel = b.Label) |> Option.map (fun s -> b.Label, b, s))
        match pairs with
        | [] -> make NotTested none (total runs) "needs Table 2 runs of a method without and with strategic skips"
        | _ ->
            let share (r: RunEvidence) (idx: int[]) = float (idx |> Array.filter (fun i -> trained r.Performances[i]) |> Array.length) / float idx.Length
            let intervals =
                pairs |> List.map (fun (label, b, s) -> label, Evidence.bootstrap (Evidence.networks [ b; s ]) (fun idx -> share s idx - share b idx))
            make (allAbove intervals) (weakest intervals) (pairs |> List.sumBy (fun (_, b, s) -> b.Networks + s.Networks))
                (intervals |> List.map (fun (m, (p, lo, hi)) -> sprintf "%s %+.2f [%+.2f, %+.2f]" m p lo hi) |> String.concat "; "
                 |> sprintf "share trained with strategic skips minus without: %s")

    /// C8: trained networks switch within one trial after an uncued reversal.
    let c8 (runs: RunEvidence list) =
        let rule =
            "Table 2's runs pooled: the task scores every trial by the rule in force on the trial before it, which only feedback reveals, so a network above 0.99 answers by the new rule from the first trial after the one that revealed the reversal; no other policy passes (one that never switches scores 0.6). Share of networks above 0.99 with its 95 % Wilson interval. Shown if the interval lies above 0.1; contradicted if it lies below 0.1 while the networks' mean performance is at least 0.9 (they learned the trials but not the switch)."
        let make = result "C8" "Trained networks switch their answer within one trial after an uncued rule reversal." "Fig. 4C" "rule-switch" rule
        match runs with
        | [] -> make NotTested none 0 "needs Table 2 runs"
        | _ ->
            let all = runs |> Array.ofList |> Array.collect (fun r -> r.Performances)
            let k = all |> Array.filter trained |> Array.length
            let (p, lo, hi) as w = Evidence.wilson k all.Length
            let mean = all |> Array.map (fun v -> if Double.IsFinite v then v else 0.0) |> Array.average
            let verdict = if lo > 0.1 then Shown elif hi < 0.1 && mean >= 0.9 then Contradicted else NotShown
            make verdict w all.Length
                (sprintf "%d of %d networks above 0.99 (%.2f [%.2f, %.2f]); mean performance %.3f" k all.Length p lo hi mean)

    /// Every claim's verdict on the results of a profile.
    let evaluate (store: ResultStore) (profile: string) =
        let runs = RunEvidence.ofExperiment store profile
        let table2 = runs "table2"
        [ c1 (runs "figure1")
          c2 (runs "table1")
          c3 (runs "table1")
          c4 (runs "figure3")
          c5 (runs "figure3")
          c6 (runs "appendixE")
          c7 table2
          c8 table2 ]

    /// One line: "3 of 8 claims shown, 1 not shown, 4 not tested at this profile".
    let summary (claims: ClaimResult list) =
        let count v = claims |> List.filter (fun c -> c.Verdict = v) |> List.length
        let parts =
            [ NotShown; Contradicted; NotTested ]
            |> List.choose (fun v -> match count v with 0 -> None | k -> Some(sprintf "%d %s" k v.Text))
        sprintf "%d of %d claims shown%s" (count Shown) claims.Length (parts |> List.map ((+) ", ") |> String.concat "")

    /// Replaces the stored verdicts of a profile.
    let save (store: ResultStore) (profile: string) (claims: ClaimResult list) =
        let orNull (v: float) = if Double.IsFinite v then box v else null
        store.InTransaction(fun () ->
            store.Execute("DELETE FROM claims WHERE profile = $p", [ "p", box profile ])
            for c in claims do
                store.Execute(
                    """INSERT INTO claims (profile, claim, statement, figure, verdict, estimate, low, high, networks, evidence, details, rule, computed_at)
                       VALUES ($p, $id, $statement, $figure, $verdict, $estimate, $low, $high, $networks, $evidence, $details, $rule, $at)""",
                    [ "p", box profile; "id", box c.Id; "statement", box c.Statement; "figure", box c.Source
                      "verdict", box c.Verdict.Text; "estimate", orNull c.Estimate; "low", orNull c.Low; "high", orNull c.High
                      "networks", box c.Networks; "evidence", box c.Evidence; "details", box c.Details; "rule", box c.Rule; "at", box DateTime.UtcNow ]))

    /// results/claims.csv: one row per claim (RFC 4180 quoting).
    let csv (claims: ClaimResult list) =
        let quote (s: string) = "\"" + s.Replace("\"", "\"\"") + "\""
        let number (v: float) = if Double.IsNaN v then "" elif Double.IsPositiveInfinity v then "inf" elif Double.IsNegativeInfinity v then "-inf" else v.ToString("R", Globalization.CultureInfo.InvariantCulture)
        let header = "claim,source,verdict,estimate,low,high,networks,statement,evidence,details,rule"
        header :: [ for c in claims ->
                        String.concat "," [ c.Id; quote c.Source; c.Verdict.Text; number c.Estimate; number c.Low; number c.High
                                            string c.Networks; quote c.Statement; quote c.Evidence; quote c.Details; quote c.Rule ] ]
        |> String.concat "\n"
        |> fun s -> s + "\n"
