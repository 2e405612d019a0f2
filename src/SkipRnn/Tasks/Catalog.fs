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

    /// The built-in tasks.
    let all = standard @ [ ruleReversal ] @ authorsVariants

    let private same (name: string) (a: string) = System.String.Equals(a, name.Trim(), System.StringComparison.OrdinalIgnoreCase)

    // Tasks added by the program that uses the library (SkipRnn.Api.TaskCatalog.Register from C#), in the order
    // registered. Everything that finds a task by name (validation, training, experiments, the store, activity
    // export) finds these too, so a registered task runs with any method through the same code as a built-in one.
    let private registered = ResizeArray<TaskDefinition>()

    /// The tasks registered by the program, in the order registered.
    let added () = lock registered (fun () -> List.ofSeq registered)

    /// A task by its name (Yang et al.'s or the paper's, or a registered task's), ignoring case.
    let tryFind (name: string) =
        match all |> List.tryFind (fun t -> same name t.Name || same name t.PaperName) with
        | Some t -> Some t
        | None -> added () |> List.tryFind (fun t -> same name t.Name || same name t.PaperName)

    /// Adds a task, or replaces the one registered before under its name; Error with one sentence when the name is
    /// empty, not a plain word (it names folders and appears in config.json), or a built-in task's.
    let register (task: TaskDefinition) : Result<unit, string> =
        let name = if isNull task.Name then "" else task.Name
        let plain (c: char) = System.Char.IsAsciiLetterOrDigit c || c = '-' || c = '_'
        if name.Length = 0 || not (Seq.forall plain name) then
            Error(sprintf "a task name must be a non-empty word of letters, digits, '-' and '_', got '%s'" name)
        elif all |> List.exists (fun t -> same name t.Name || same name t.PaperName) then
            Error(sprintf "the task name '%s' is taken by a built-in task" name)
        elif task.InputSize < 1 || task.OutputSize < 1 then
            Error(sprintf "task %s needs at least one input and one output, got %d and %d" name task.InputSize task.OutputSize)
        elif task.BatchTrials < 1 then Error(sprintf "task %s needs at least one trial per batch, got %d" name task.BatchTrials)
        else
            lock registered (fun () ->
                registered.RemoveAll(fun t -> same name t.Name) |> ignore
                registered.Add task)
            Ok()

    /// The names to list in an error message.
    let names () = all @ added () |> List.map (fun t -> t.Name) |> String.concat ", "
