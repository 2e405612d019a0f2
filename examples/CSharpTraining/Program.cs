// Defines a task in C# (TwoIntervalComparison), trains control and DASC on it for a fixed budget, prints both
// criteria and writes the activity of one network; then runs the same two configurations as an experiment into a
// results store (SkipRnn.Experiments), as `skiprnn experiment run` runs the paper's.
//   dotnet run --project examples/CSharpTraining -- <output folder>
using CSharpTraining;
using SkipRnn.Api;
using SkipRnn.Training;

var output = args.Length > 0 ? args[0] : "csharp-training";
Directory.CreateDirectory(output);

TaskCatalog.Register(new TwoIntervalComparison());

// Bad options are refused with the message `skiprnn train` prints for them.
if (!new RunOptions { Task = TwoIntervalComparison.TaskName, Method = "dasc", Skip = 2.5 }.TryBuild(out _, out var error))
    Console.WriteLine($"refused: {error}");

RunOptions Options(string method) => new()
{
    Task = TwoIntervalComparison.TaskName,
    Method = method,
    Skip = 10,
    InitRatio = 0.5,
    StepCount = 2,
    AnnealSteps = 150,
    MaxSteps = 300,
    StopAtCriterion = false,
    Networks = 4,
    Units = 32,
    Seed = 3,
    EvaluateEvery = 100,
    EvaluationTrials = 40,
    BurnIn = 0.2,
    Fixation = 0.2,
    Stimulus = 0.2,
    Delay = 0.4,
    Response = 0.2,
    Grace = 0.05,
    Jitter = 0.02,
};

var configurations = new[] { "control", "dasc" }.Select(method => Options(method).Build()).ToList();
var results = new Dictionary<string, TrainingResult>();
foreach (var configuration in configurations)
{
    var method = configuration.Method;
    var progress = new ConsoleProgress(configuration.Label);
    var result = configuration.Train(progress, CancellationToken.None);
    Console.WriteLine($"{configuration.Label}: {result.Outcome} after {result.Steps} steps, criterion {result.Criterion:F3}");
    result.Save(Path.Combine(output, method));
    results[method] = result;
}

var dasc = results["dasc"];
var best = Array.IndexOf(dasc.Performances, dasc.Performances.Max());
var activityPath = Path.Combine(output, "activity.npz");
var activity = dasc.WriteActivity(best, 8, 7, activityPath);
var w = dasc.Weights(best);
Console.WriteLine($"DASC network {best}: {w.Units} units, mean |W| = {w.Recurrent.Average(Math.Abs):F4}; " +
                  $"wrote {activityPath}: {activity.Batch.Trials} trials, {activity.Batch.Steps} steps, performance {activity.Recording.Performance:F3}");

// The same configurations as an experiment: trained into results/runs/<key>/ and stored in results/skiprnn.duckdb;
// a second run of this program trains nothing there.
var experiment = new ExperimentDefinition("twointerval-methods", "Control and DASC on a two-interval comparison");
foreach (var configuration in configurations) experiment.Add(configuration);
var stored = experiment.Run(Path.Combine(output, "results"), null, CancellationToken.None);
foreach (var run in stored.Runs)
    Console.WriteLine($"stored {run.Label}: {run.Outcome} after {run.Steps} steps, criterion {run.Criterion:F3}");
return 0;

/// <summary>Prints every evaluation as it happens (synchronously, unlike Progress&lt;T&gt;).</summary>
sealed class ConsoleProgress(string label) : IProgress<Evaluation>
{
    public void Report(Evaluation e) => Console.WriteLine($"  {label} step {e.Step}: criterion {e.Criterion:F3}");
}
