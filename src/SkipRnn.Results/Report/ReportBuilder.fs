namespace SkipRnn.Results.Report

open System
open System.IO
open SkipRnn.Results

/// Builds results/report/index.html from the store alone.
module ReportBuilder =

    /// Every section of the report, in the paper's order.
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

    /// Writes index.html into `folder` and returns the figures it holds.
    let write (store: ResultStore) (profile: string) (folder: string) =
        Directory.CreateDirectory folder |> ignore
        let figures = figures store profile
        let runs = store.Scalar<int64>("SELECT count(DISTINCT job_key) FROM experiment_jobs j JOIN runs r USING (job_key) WHERE j.profile = $p", [ "p", box profile ])
        let seconds = store.Scalar<float>("SELECT sum(r.train_seconds) FROM experiment_jobs j JOIN (SELECT DISTINCT job_key FROM experiment_jobs WHERE profile = $p) k USING (job_key) JOIN runs r USING (job_key) WHERE j.profile = $p", [ "p", box profile ])
        let intro =
            sprintf "A re-run of the experiments of Soo, Goudar &amp; Wang, <i>Training biologically plausible recurrent neural networks on cognitive tasks with long-term dependencies</i> (NeurIPS 2023), with SkipRnn. Profile <b>%s</b>: %d runs in the store, %.0f s of training in all. Report written %s UTC from the results store alone; the paper's published numbers are shown beside ours where the paper gives them. Every figure states the scale that produced it."
                profile runs seconds (DateTime.UtcNow.ToString "yyyy-MM-dd HH:mm")
        let html = Page.render (sprintf "SkipRnn — the paper's experiments (profile %s)" profile) intro figures
        let path = Path.Combine(folder, "index.html")
        SkipRnn.IO.Files.writeAtomically path html
        path, figures
