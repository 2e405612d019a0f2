namespace SkipRnn.Results.Report

open SkipRnn.Results

/// The profile and scale of an experiment as stored when it was planned, for captions.
module Scale =

    let describe (store: ResultStore) (profile: string) (experiment: string) =
        match store.Query("SELECT scale, jobs FROM experiments WHERE profile = $p AND experiment = $e", [ "p", box profile; "e", box experiment ]) with
        | row :: _ ->
            let stored =
                store.Scalar<int64>(
                    "SELECT count(*) FROM experiment_jobs j JOIN runs r USING (job_key) WHERE j.profile = $p AND j.experiment = $e",
                    [ "p", box profile; "e", box experiment ])
            sprintf "Profile %s: %s. %d of %d runs stored." profile (Values.string row[0]) stored (Values.int row[1])
        | [] -> sprintf "Profile %s: this experiment has not been run yet." profile
