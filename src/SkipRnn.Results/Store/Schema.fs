namespace SkipRnn.Results

/// The tables of the results store. One row per job in `runs`, one per evaluation in `evaluations`;
/// `experiment_jobs` says which jobs make up an experiment at a profile (a job shared by two experiments is
/// stored once). Paper values are loaded into `paper_values` so that the report reads nothing but the store.
module Schema =

    let statements =
        [ """CREATE TABLE IF NOT EXISTS runs (
                job_key VARCHAR PRIMARY KEY,
                kind VARCHAR NOT NULL,
                task VARCHAR NOT NULL,
                paper_task VARCHAR NOT NULL,
                long_term_memory BOOLEAN NOT NULL,
                method VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                theta DOUBLE,
                beta0 DOUBLE,
                step_count INTEGER NOT NULL,
                hold BOOLEAN NOT NULL,
                networks INTEGER NOT NULL,
                seed BIGINT NOT NULL,
                max_steps INTEGER NOT NULL,
                anneal_steps INTEGER NOT NULL,
                trials INTEGER NOT NULL,
                eval_trials INTEGER NOT NULL,
                eval_every INTEGER NOT NULL,
                outcome VARCHAR NOT NULL,
                steps INTEGER NOT NULL,
                train_seconds DOUBLE NOT NULL,
                flops DOUBLE NOT NULL,
                criterion DOUBLE,
                mean_performance DOUBLE,
                diverged INTEGER NOT NULL,
                performances VARCHAR NOT NULL,
                diverged_at VARCHAR NOT NULL,
                config_json VARCHAR NOT NULL,
                finished_at TIMESTAMP NOT NULL,
                ingested_at TIMESTAMP NOT NULL)"""
          """CREATE TABLE IF NOT EXISTS evaluations (
                job_key VARCHAR NOT NULL,
                eval_index INTEGER NOT NULL,
                step INTEGER NOT NULL,
                train_seconds DOUBLE,
                criterion DOUBLE,
                mean_performance DOUBLE,
                mean_loss DOUBLE,
                theta DOUBLE,
                beta DOUBLE,
                diverged INTEGER,
                performances VARCHAR,
                PRIMARY KEY (job_key, eval_index))"""
          """CREATE TABLE IF NOT EXISTS dynamics (
                job_key VARCHAR PRIMARY KEY,
                distance DOUBLE,
                finite_networks INTEGER NOT NULL,
                performance_modified DOUBLE,
                performance_true DOUBLE,
                performance_difference DOUBLE,
                alignment VARCHAR NOT NULL,
                eval_trials INTEGER NOT NULL,
                distances VARCHAR,
                performance_differences VARCHAR)"""
          """CREATE TABLE IF NOT EXISTS activity (
                job_key VARCHAR PRIMARY KEY,
                example_json VARCHAR NOT NULL,
                trajectories_json VARCHAR NOT NULL)"""
          """CREATE TABLE IF NOT EXISTS experiments (
                profile VARCHAR NOT NULL,
                experiment VARCHAR NOT NULL,
                title VARCHAR NOT NULL,
                description VARCHAR NOT NULL,
                scale VARCHAR NOT NULL,
                jobs INTEGER NOT NULL,
                planned_at TIMESTAMP NOT NULL,
                machine VARCHAR,
                PRIMARY KEY (profile, experiment))"""
          """CREATE TABLE IF NOT EXISTS experiment_jobs (
                profile VARCHAR NOT NULL,
                experiment VARCHAR NOT NULL,
                job_key VARCHAR NOT NULL,
                position INTEGER NOT NULL,
                PRIMARY KEY (profile, experiment, job_key))"""
          """CREATE TABLE IF NOT EXISTS paper_values (
                source VARCHAR NOT NULL,
                quantity VARCHAR NOT NULL,
                row_label VARCHAR NOT NULL,
                method VARCHAR NOT NULL,
                value DOUBLE,
                spread DOUBLE,
                failed BOOLEAN NOT NULL,
                best BOOLEAN NOT NULL)"""
          """CREATE TABLE IF NOT EXISTS claims (
                profile VARCHAR NOT NULL,
                claim VARCHAR NOT NULL,
                statement VARCHAR NOT NULL,
                figure VARCHAR NOT NULL,
                verdict VARCHAR NOT NULL,
                estimate DOUBLE,
                low DOUBLE,
                high DOUBLE,
                networks INTEGER NOT NULL,
                evidence VARCHAR NOT NULL,
                details VARCHAR,
                rule VARCHAR NOT NULL,
                computed_at TIMESTAMP NOT NULL,
                PRIMARY KEY (profile, claim))"""
          // Stores written before these columns existed gain them (empty for the runs already stored).
          "ALTER TABLE evaluations ADD COLUMN IF NOT EXISTS performances VARCHAR"
          "ALTER TABLE dynamics ADD COLUMN IF NOT EXISTS distances VARCHAR"
          "ALTER TABLE dynamics ADD COLUMN IF NOT EXISTS performance_differences VARCHAR"
          "ALTER TABLE experiments ADD COLUMN IF NOT EXISTS machine VARCHAR"
          "ALTER TABLE claims ADD COLUMN IF NOT EXISTS details VARCHAR" ]
