namespace SkipRnn.Results.Report

open System
open System.IO
open SkipRnn.Results
open SkipRnn.Results.Claims

/// Builds results/report/index.html from the store alone.
module ReportBuilder =

    /// Every section of the report after the claims, in the paper's order.
    let figures (store: ResultStore) (profile: string) =
        [ Figure1.learningCurves store profile
          Figure1.stepsToCriterion store profile
          Table1.build store profile
          Figure3.distance store profile
          Figure3.performance store profile
          AppendixE.build store profile
          GridFigure.build store profile
          Table2.build store profile
          Activity.ruleSwitch store profile
          Activity.examples store profile
          Activity.trajectories store profile ]

    /// The report's first lines: the answer, the profile, the machine and the compute spent.
    let private intro (store: ResultStore) (profile: string) (claims: ClaimResult list) =
        let runs = store.Scalar<int64>("SELECT count(DISTINCT job_key) FROM experiment_jobs j JOIN runs r USING (job_key) WHERE j.profile = $p", [ "p", box profile ])
        let seconds = store.Scalar<float>("SELECT sum(r.train_seconds) FROM (SELECT DISTINCT job_key FROM experiment_jobs WHERE profile = $p) k JOIN runs r USING (job_key)", [ "p", box profile ])
        let networks = store.Scalar<int64>("SELECT CAST(sum(r.networks) AS BIGINT) FROM (SELECT DISTINCT job_key FROM experiment_jobs WHERE profile = $p) k JOIN runs r USING (job_key)", [ "p", box profile ])
        let machines =
            store.Query("SELECT DISTINCT machine FROM experiments WHERE profile = $p AND machine IS NOT NULL ORDER BY machine", [ "p", box profile ])
            |> List.map (fun row -> Values.string row[0])
        sprintf "<p class=\"answer\">%s.</p><p>A re-run of the experiments of Soo, Goudar &amp; Wang, <i>Training biologically plausible recurrent neural networks on cognitive tasks with long-term dependencies</i> (NeurIPS 2023), with SkipRnn. <b>Profile %s</b>: %d runs, %d networks trained in all, %s of training (%.0f s; evaluation and dynamics comparisons not counted). Machine: %s. Written %s UTC from the results store alone; every figure states the scale that produced it, and the paper's published numbers stand beside ours where the paper gives them.</p>"
            (Values.html (PaperClaims.summary claims)) (Values.html profile) runs networks
            (TimeSpan.FromSeconds(seconds).ToString(@"h\:mm\:ss")) seconds
            (match machines with [] -> "not recorded (runs stored before machines were)" | ms -> Values.html (String.concat "; " ms))
            (DateTime.UtcNow.ToString "yyyy-MM-dd HH:mm")

    /// Computes and stores the claims' verdicts, then writes index.html into `folder`; returns its path, the
    /// claims and the figures.
    let write (store: ResultStore) (profile: string) (folder: string) =
        Directory.CreateDirectory folder |> ignore
        let claims = PaperClaims.evaluate store profile
        PaperClaims.save store profile claims
        let figures = figures store profile
        let html =
            Page.render (sprintf "SkipRnn — the paper's experiments (profile %s)" profile) (intro store profile claims)
                (ClaimsTable.build claims profile) figures
        let path = Path.Combine(folder, "index.html")
        SkipRnn.IO.Files.writeAtomically path html
        path, claims, figures
