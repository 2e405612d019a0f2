namespace SkipRnn.Experiments

/// How big every experiment is run. All sizes live here, so that retuning a profile (say, once the engine is
/// faster) is one edit. `quick` fits a 2-core laptop in under 45 minutes, `night` in under 8 hours; `paper` is
/// SPEC.md's full scale. An experiment a profile cannot afford to decide anything with has no jobs there (empty
/// task list, or no Table 2 networks), and its report section says so.
type Profile =
    { Name: string
      Description: string
      /// Networks trained side by side in each run (the paper: 100).
      Networks: int
      Seed: uint64
      /// Trials per evaluation and steps between evaluations (the paper: 200 and 10).
      EvaluationTrials: int
      EvaluateEvery: int

      /// Figure 1: control training on these tasks, up to this many steps.
      Figure1Tasks: string list
      Figure1MaxSteps: int

      /// Table 1: these tasks, up to this many steps, θ or β annealed over AnnealSteps.
      Table1Tasks: string list
      Table1MaxSteps: int
      Table1AnnealSteps: int
      /// Some (step count, β0): every method at one fixed setting. None: every method at every setting of
      /// the hyperparameter grid, and the report picks the best (as the paper does).
      Table1Setting: (int * float) option
      /// Stop each run at the 0.99 criterion (the paper), or train every run for Table1MaxSteps (a fixed
      /// budget, where runs are compared by their learning curves and steps to a lower threshold).
      Table1StopAtCriterion: bool

      /// Figure 3: θ and β = 0.5 held for this many training steps, then the dynamics are compared.
      Figure3Tasks: string list
      Figure3Skips: int list
      Figure3TrainingSteps: int

      /// Appendix E: CD with θ0 held, up to this many steps.
      AppendixETasks: string list
      AppendixESkips: float list
      AppendixEMaxSteps: int

      /// The hyperparameter grid (paper §4): step count × skip length × initial ratio, SCTT and DASC (and CD10
      /// with each step count).
      GridTasks: string list
      GridStepCounts: int list
      GridSkipLengths: int list
      GridInitialRatios: float list
      GridMaxSteps: int
      GridAnnealSteps: int

      /// Table 2 (rule reversal, paper §4.1): networks per configuration (0: not run), a fixed training budget
      /// with annealing over its first part, and the evaluation (sequences, every so many steps).
      Table2Networks: int
      Table2Steps: int
      Table2AnnealSteps: int
      Table2EvaluationTrials: int
      Table2EvaluateEvery: int }

module Profiles =

    let private allTasks = SkipRnn.Tasks.Catalog.standard |> List.map (fun t -> t.Name)
    let private longTasks = SkipRnn.Tasks.Catalog.longTermMemory |> List.map (fun t -> t.Name)
    /// The authors' versions of dnms, dmc and dnmc, whose rows the paper's Table 1 reports.
    let private authorsVariants = SkipRnn.Tasks.StandardTasks.authorsVariants |> List.map (fun t -> t.Name)

    /// SPEC.md's scale: 100 networks, 200 evaluation trials every 10 steps, the 40,000-step limit with
    /// annealing over the first 20,000, the full grid on all 16 tasks.
    let paper =
        { Name = "paper"
          Description = "the paper's scale (SPEC.md): 100 networks per run, 40,000-step limit, full grid; cluster-scale work"
          Networks = 100; Seed = 1UL; EvaluationTrials = 200; EvaluateEvery = 10
          Figure1Tasks = allTasks; Figure1MaxSteps = 40000
          // The corrected tasks and, for the paper's own numbers, the authors' versions of dnms, dmc and dnmc.
          Table1Tasks = longTasks @ authorsVariants; Table1MaxSteps = 40000; Table1AnnealSteps = 20000; Table1Setting = None
          Table1StopAtCriterion = true
          Figure3Tasks = allTasks; Figure3Skips = [ 5; 10; 20; 30; 40 ]; Figure3TrainingSteps = 400
          AppendixETasks = allTasks; AppendixESkips = [ 10.0; 20.0; 30.0; 40.0 ]; AppendixEMaxSteps = 400
          GridTasks = allTasks; GridStepCounts = [ 1; 5; 10 ]; GridSkipLengths = [ 10; 20; 40 ]
          GridInitialRatios = [ 0.2; 0.5; 0.8 ]; GridMaxSteps = 40000; GridAnnealSteps = 20000
          // The authors trained rule reversal for 10,000 steps, annealing over the first 5,000, and evaluated on
          // 40 sequences.
          Table2Networks = 100; Table2Steps = 10000; Table2AnnealSteps = 5000; Table2EvaluationTrials = 40
          Table2EvaluateEvery = 10 }

    /// Laptop scale, sized for evidence on a 2-core AVX-512 machine (10 networks of 50 units: 22–40 ms per
    /// training step on the standard tasks with 50 evaluation trials every 20 steps). 10 networks is the fewest
    /// for which the 10th–90th percentile trims anything. It decides what a laptop can: Table 1 as fixed budgets
    /// of 3,000 steps (annealed over the first 1,500, the paper's ratio) of all six methods on dgo and danti, the
    /// tasks where the paper finds control and CD fail, compared by steps to 0.9 and learning curves (C2, C3);
    /// Figure 3 and Appendix E at the paper's 400 steps (C4–C6; after 120 steps, CD held beyond τ/dt had
    /// diverged on dgo's long trials but not yet on go's short ones); Figure 1 as 1,000-step learning curves on all 16 tasks. Not run: the
    /// hyperparameter grid (coverage, not evidence) and Table 2 (rule-reversal networks need thousands of steps
    /// to learn; `night` runs it).
    let quick =
        { Name = "quick"
          Description = "laptop scale (under 45 minutes on 2 cores): 10 networks per run; Table 1 as 3,000-step budgets on dgo and danti; Figure 3 and Appendix E on 2 tasks at 400 steps; 1,000-step learning curves on all 16 tasks; no grid, no Table 2"
          Networks = 10; Seed = 1UL; EvaluationTrials = 50; EvaluateEvery = 20
          Figure1Tasks = allTasks; Figure1MaxSteps = 1000
          Table1Tasks = [ "dlygo"; "dlyanti" ]; Table1MaxSteps = 3000; Table1AnnealSteps = 1500; Table1Setting = Some(5, 0.5)
          Table1StopAtCriterion = false
          Figure3Tasks = [ "go"; "dlygo" ]; Figure3Skips = [ 5; 10; 20; 30; 40 ]; Figure3TrainingSteps = 400
          AppendixETasks = [ "go"; "dlygo" ]; AppendixESkips = [ 10.0; 20.0; 30.0; 40.0 ]; AppendixEMaxSteps = 400
          GridTasks = []; GridStepCounts = [ 1; 5 ]; GridSkipLengths = [ 10; 40 ]
          GridInitialRatios = [ 0.2; 0.5 ]; GridMaxSteps = 400; GridAnnealSteps = 200
          Table2Networks = 0; Table2Steps = 100; Table2AnnealSteps = 50; Table2EvaluationTrials = 40
          Table2EvaluateEvery = 25 }

    /// One night on a 2-core machine (under 8 hours): what `quick` cannot afford. Figure 1 and Table 1 trained
    /// to the 0.99 criterion (limit 10,000 steps, Table 1's control runs shared with Figure 1's), Table 1 on
    /// three long-dependency tasks; Figure 3 and Appendix E on four tasks at 400 steps; Table 2 with 10 networks
    /// per configuration for the authors' 10,000 steps (0.14 s per step of 10 networks on 2 AVX-512 cores), so that
    /// rule-reversal networks can learn (C7, C8).
    let night =
        { Name = "night"
          Description = "one night on 2 cores (under 8 hours): 10 networks per run; Figure 1 and Table 1 (dgo, danti, dmc) to the 0.99 criterion within 10,000 steps; Figure 3 and Appendix E on 4 tasks; Table 2 at the authors' 10,000 steps"
          Networks = 10; Seed = 1UL; EvaluationTrials = 50; EvaluateEvery = 20
          Figure1Tasks = allTasks; Figure1MaxSteps = 10000
          Table1Tasks = [ "dlygo"; "dlyanti"; "dmc" ]; Table1MaxSteps = 10000; Table1AnnealSteps = 5000; Table1Setting = Some(5, 0.5)
          Table1StopAtCriterion = true
          Figure3Tasks = [ "go"; "dm1"; "dlygo"; "dmc" ]; Figure3Skips = [ 5; 10; 20; 30; 40 ]; Figure3TrainingSteps = 400
          AppendixETasks = [ "go"; "dm1"; "dlygo"; "dmc" ]; AppendixESkips = [ 10.0; 20.0; 30.0; 40.0 ]; AppendixEMaxSteps = 400
          GridTasks = []; GridStepCounts = [ 1; 5 ]; GridSkipLengths = [ 10; 40 ]
          GridInitialRatios = [ 0.2; 0.5 ]; GridMaxSteps = 10000; GridAnnealSteps = 5000
          Table2Networks = 10; Table2Steps = 10000; Table2AnnealSteps = 5000; Table2EvaluationTrials = 40
          Table2EvaluateEvery = 25 }

    /// Seconds per experiment, for the test suite: every experiment, a few steps of 2 networks.
    let tiny =
        { Name = "tiny"
          Description = "test scale: 2 networks, a few steps; shows that the pipeline works, not what the paper found"
          Networks = 2; Seed = 1UL; EvaluationTrials = 10; EvaluateEvery = 5
          Figure1Tasks = [ "go"; "dm1"; "dlygo" ]; Figure1MaxSteps = 15
          Table1Tasks = [ "dmc"; "dmc-authors" ]; Table1MaxSteps = 10; Table1AnnealSteps = 6; Table1Setting = Some(1, 0.5)
          Table1StopAtCriterion = true
          Figure3Tasks = [ "go" ]; Figure3Skips = [ 10; 40 ]; Figure3TrainingSteps = 4
          AppendixETasks = [ "go" ]; AppendixESkips = [ 10.0; 40.0 ]; AppendixEMaxSteps = 10
          GridTasks = [ "go" ]; GridStepCounts = [ 1 ]; GridSkipLengths = [ 10; 40 ]
          GridInitialRatios = [ 0.5 ]; GridMaxSteps = 10; GridAnnealSteps = 6
          Table2Networks = 2; Table2Steps = 4; Table2AnnealSteps = 2; Table2EvaluationTrials = 8; Table2EvaluateEvery = 2 }

    let all = [ quick; night; paper; tiny ]

    let tryFind (name: string) =
        all |> List.tryFind (fun p -> p.Name = name.Trim().ToLowerInvariant())

    let names () = all |> List.map (fun p -> p.Name) |> String.concat ", "

    /// The profiles for a help text.
    let choices () = "quick (default; under 45 minutes on 2 cores), night (under 8 hours on 2 cores), paper (the paper's scale) or tiny (tests)"
