using SkipRnn.Api;
using SkipRnn.Tasks;

namespace CSharpTraining;

/// <summary>
/// A two-interval delayed comparison (after Romo et al., 1999), defined outside the library: two stimuli of
/// amplitude f1 and f2 separated by a delay, then a report of which was larger. Inputs: fixation and the
/// stimulus amplitude; outputs: fixation, "f1 &gt; f2" and "f1 &lt; f2". Scored by choice: the largest output
/// must be the target's at every loss-weighted step (fixation before the response, the answer in it).
/// </summary>
public sealed class TwoIntervalComparison : ICustomTask
{
    /// <summary>The name configurations give it.</summary>
    public const string TaskName = "twointerval";

    /// <inheritdoc />
    public string Name => TaskName;
    /// <inheritdoc />
    public int InputSize => 2;
    /// <inheritdoc />
    public int OutputSize => 3;
    /// <inheritdoc />
    public TaskNetwork Network => TaskNetwork.Population;
    /// <inheritdoc />
    public TaskScoring Scoring => TaskScoring.ByChoice;
    /// <inheritdoc />
    public int BatchTrials => 20;

    /// <summary>fixation, f1, delay, f2, response; the configuration's timing sets every duration.</summary>
    public IReadOnlyList<TaskPeriod> Periods(Timing timing) =>
    [
        new("fixation", timing.Fixation),
        new("stimulus1", timing.Stimulus),
        new("delay", timing.Delay),
        new("stimulus2", timing.Stimulus),
        new("response", timing.Response),
    ];

    /// <inheritdoc />
    public void WriteTrial(TrialWriter trial)
    {
        // f1 in [0.2, 1), f2 at least 0.1 away from it, above or below with equal chance.
        var f1 = trial.Uniform(0.2, 1.0);
        var difference = trial.Uniform(0.1, 0.3);
        var f2 = trial.Bernoulli(0.5) ? f1 + difference : f1 - difference;
        var firstLarger = f1 > f2;

        foreach (var period in new[] { "fixation", "stimulus1", "delay", "stimulus2" })
        {
            trial.SetInput(period, 0, 1f);
            trial.SetTarget(period, 0, 0.85f);
            trial.SetTarget(period, 1, 0.05f);
            trial.SetTarget(period, 2, 0.05f);
        }
        trial.SetInput("stimulus1", 1, (float)f1);
        trial.SetInput("stimulus2", 1, (float)f2);
        trial.SetTarget("response", 0, 0.05f);
        trial.SetTarget("response", 1, firstLarger ? 0.85f : 0.05f);
        trial.SetTarget("response", 2, firstLarger ? 0.05f : 0.85f);
        trial.Choose(firstLarger ? 0 : 1);
    }
}
