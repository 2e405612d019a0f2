namespace SkipRnn.Tasks

/// Placeholder: the 16 standard tasks (written next).
module StandardTasks =
    let placeholder = ()
