// Loads a trained SkipRnn run, evaluates its networks and writes the activity of one of them.
//   dotnet run --project examples/CSharpActivity -- runs/go activity.npz
using SkipRnn.Analysis;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: CSharpActivity <run folder> <activity.npz> [network] [trials]");
    return 2;
}

TrainedRun run;
try
{
    run = TrainedRun.Load(args[0]);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var network = args.Length > 2 ? int.Parse(args[2]) : 0;
var trials = args.Length > 3 ? int.Parse(args[3]) : 20;

double[] performance = run.Evaluate(trials, 7);
Console.WriteLine($"{run.Task}: {run.Networks} networks of {run.Units} units; performance on {trials} fresh trials: " +
                  string.Join(" ", performance.Select(p => p.ToString("F3"))));

float[] w = run.RecurrentWeights(network);
Console.WriteLine($"network {network}: mean |W| = {w.Average(Math.Abs):F4}");

var activity = run.WriteActivity(network, trials, 7, args[1]);
Console.WriteLine($"wrote {args[1]}: {activity.Batch.Trials} trials, {activity.Batch.Steps} steps, " +
                  $"performance {activity.Recording.Performance:F3}");
return 0;
