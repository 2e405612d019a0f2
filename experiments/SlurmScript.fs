/// The SLURM batch script of a sweep: a job array with one task per shard, each running `skiprnn sweep run`.
module SkipRnn.Experiments.SlurmScript

open System

type Options =
    { JobName: string
      Shards: int
      /// At most this many array tasks at once (--array=0-(K-1)%M).
      MaxRunning: int option
      Partition: string option
      /// SLURM's time format: minutes, MM:SS, HH:MM:SS, D-HH or D-HH:MM:SS.
      Time: string option
      CpusPerTask: int
      GpusPerTask: int option
      /// Further sbatch options as given (--account=lab, --mem=8G, …), one #SBATCH line each.
      Extra: string list
      /// Where each array task's output goes (one file per task, appended to when it is requeued).
      LogFolder: string }

/// How long before the time limit SLURM warns a task (USR1), time enough to finish a training step and
/// checkpoint before the task requeues itself.
let warningSeconds = 120

/// A word for bash, single-quoted.
let quote (word: string) = "'" + word.Replace("'", "'\\''") + "'"

/// The script. `program` is the command that starts skiprnn (absolute paths); `runArguments` follow
/// `sweep run` and precede the shard, which each task appends.
let render (o: Options) (program: string list) (runArguments: string list) =
    let array = sprintf "0-%d%s" (o.Shards - 1) (match o.MaxRunning with Some m -> sprintf "%%%d" m | None -> "")
    let directives =
        [ sprintf "--job-name=%s" o.JobName
          sprintf "--array=%s" array
          sprintf "--output=%s" (IO.Path.Combine(o.LogFolder, o.JobName + "_%A_%a.out"))
          "--open-mode=append"
          sprintf "--cpus-per-task=%d" o.CpusPerTask
          yield! o.Partition |> Option.map (sprintf "--partition=%s") |> Option.toList
          yield! o.Time |> Option.map (sprintf "--time=%s") |> Option.toList
          yield! o.GpusPerTask |> Option.map (sprintf "--gres=gpu:%d") |> Option.toList
          "--requeue"
          sprintf "--signal=B:USR1@%d" warningSeconds
          yield! o.Extra ]
    let command = (program |> List.map quote) @ [ "sweep"; "run" ] @ (runArguments |> List.map quote) |> String.concat " "
    let lines =
        [ "#!/bin/bash"
          yield! directives |> List.map (sprintf "#SBATCH %s")
          ""
          "# Written by `skiprnn sweep plan`; submit it with sbatch, then gather the results with `skiprnn sweep merge`."
          "# Array task i runs shard i/K of the sweep: its jobs one after another, each into its own folder,"
          "# skipping jobs finished in an earlier attempt and resuming an interrupted one from its checkpoint."
          "#"
          "# Preemption: SLURM sends TERM to skiprnn, which checkpoints at the next training step and stops; with"
          "# --requeue, SLURM puts the task back in the queue and it resumes from there."
          sprintf "# Time limit: SLURM sends USR1 to this script %d s before it (--signal=B:USR1@%d); the script stops" warningSeconds warningSeconds
          "# skiprnn the same way and requeues the task itself, so a shard longer than the time limit goes on."
          ""
          "set -u"
          sprintf "shard=\"$SLURM_ARRAY_TASK_ID/%d\"" o.Shards
          "echo \"skiprnn shard $shard on $(hostname), attempt $((${SLURM_RESTART_COUNT:-0} + 1)), $(date -Is)\""
          "requeue=no"
          "trap 'requeue=yes; kill -TERM \"$child\" 2>/dev/null' USR1"
          "trap 'kill -TERM \"$child\" 2>/dev/null' TERM"
          sprintf "%s --shard \"$shard\" --workers \"${SLURM_CPUS_PER_TASK:-1}\" &" command
          "child=$!"
          "# A trapped signal ends `wait` early: wait again until skiprnn has checkpointed and exited."
          "while true; do"
          "  wait \"$child\"; status=$?"
          "  kill -0 \"$child\" 2>/dev/null || break"
          "done"
          "if [ \"$requeue\" = yes ] && [ \"$status\" -ne 0 ]; then"
          "  echo \"time limit near: requeueing shard $shard, which resumes from its checkpoint\""
          "  scontrol requeue \"$SLURM_JOB_ID\""
          "fi"
          "exit \"$status\"" ]
    String.concat "\n" lines + "\n"
