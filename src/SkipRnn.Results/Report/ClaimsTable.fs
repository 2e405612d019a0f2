namespace SkipRnn.Results.Report

open System
open System.Text
open SkipRnn.Results.Claims

/// The first section of the report: each claim of the paper, what this run's results show of it, and by
/// which rule.
module ClaimsTable =

    let private css (v: Verdict) =
        match v with
        | Shown -> "shown"
        | NotShown -> "notshown"
        | Contradicted -> "contradicted"
        | NotTested -> "nottested"

    let private number (v: float) =
        if Double.IsNaN v then "–"
        elif Double.IsPositiveInfinity v then "∞"
        elif Double.IsNegativeInfinity v then "−∞"
        else Values.compact v

    let build (claims: ClaimResult list) (profile: string) =
        let sb = StringBuilder()
        let add (s: string) = sb.Append s |> ignore
        add "<table class=\"claims\"><thead><tr><th>claim</th><th>verdict</th><th>estimate [95 % interval]</th><th>networks</th><th>evidence</th></tr></thead><tbody>"
        for c in claims do
            add (sprintf "<tr><td class=\"statement\"><b>%s</b> %s <a href=\"#%s\">%s</a></td>" c.Id (Values.html c.Statement) c.Section (Values.html c.Source))
            add (sprintf "<td class=\"verdict %s\">%s</td>" (css c.Verdict) c.Verdict.Text)
            add (sprintf "<td>%s%s</td>" (number c.Estimate)
                    (if Double.IsNaN c.Low then "" else sprintf " [%s, %s]" (number c.Low) (number c.High)))
            add (sprintf "<td>%d</td>" c.Networks)
            add (sprintf "<td class=\"evidence\">%s" (Values.html c.Evidence))
            if c.Details <> "" then add (sprintf "<details><summary>the numbers</summary>%s</details>" (Values.html c.Details))
            add (sprintf "<details class=\"rule\"><summary>the rule</summary>%s</details></td></tr>" (Values.html c.Rule))
        add "</tbody></table>"
        { Id = "claims"
          Title = "The paper's claims — what this run shows"
          Caption =
            sprintf "One row per claim of the paper. The verdict comes from the stored results by the rule given in each row, written in code (SkipRnn.Results.Claims) and the same at every profile: shown, not shown (the evidence does not decide), contradicted, or not tested at this profile (its experiment was not run or lacks what the rule needs). Intervals are 95 %%: a paired bootstrap over networks (%d resamples, fixed seed; network i of every run of a seed starts from the same weights) or a Wilson interval for proportions. They measure the spread between networks at one seed, not between seeds: the networks of a run share their training trials and noise, so a second seed is the stronger test. Claims about training steps count steps until the criterion of the networks reaches %.2f (the paper counts to 0.99, which takes longer than a laptop profile affords). The estimates are in each claim's own unit (see its evidence)."
                Evidence.resamples Evidence.threshold
          Scale = sprintf "Profile %s: verdicts computed when this report was written." profile
          Charts = []
          Html = sb.ToString()
          Points = claims |> List.filter (fun c -> c.Verdict <> NotTested) |> List.length }
