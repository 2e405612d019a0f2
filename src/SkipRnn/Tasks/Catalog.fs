namespace SkipRnn.Tasks

/// Every task the command line and the experiments know by name.
module Catalog =

    let private ofStandard (info: TaskInfo) =
        { Name = info.Name
          PaperName = info.PaperName
          LongTermMemory = info.LongTermMemory
          InputSize = StandardTasks.InputSize
          OutputSize = StandardTasks.OutputSize
          Network = PopulationNetwork
          BatchTrials = 20
          Generate = StandardTasks.generate info }

    /// The 16 standard tasks, in the paper's order.
    let standard = StandardTasks.all |> List.map ofStandard

    /// The 9 standard tasks that need long-term memory (Table 1).
    let longTermMemory = standard |> List.filter (fun t -> t.LongTermMemory)

    /// Rule reversal over 5 consecutive trials with feedback (paper §4.1, Table 2).
    let ruleReversal =
        { Name = "rulereversal"
          PaperName = "rulereversal"
          LongTermMemory = true
          InputSize = RuleReversal.InputSize
          OutputSize = RuleReversal.OutputSize
          Network = ChoiceNetwork
          BatchTrials = 40
          Generate = RuleReversal.generate }

    /// dnms, dmc and dnmc as the authors' code defines them (`dnms-authors`, …); the standard ones are corrected.
    let authorsVariants = StandardTasks.authorsVariants |> List.map ofStandard

    let all = standard @ [ ruleReversal ] @ authorsVariants

    /// A task by its name (Yang et al.'s or the paper's), ignoring case.
    let tryFind (name: string) =
        let same (a: string) = System.String.Equals(a, name.Trim(), System.StringComparison.OrdinalIgnoreCase)
        all |> List.tryFind (fun t -> same t.Name || same t.PaperName)

    /// The names to list in an error message.
    let names () = all |> List.map (fun t -> t.Name) |> String.concat ", "
