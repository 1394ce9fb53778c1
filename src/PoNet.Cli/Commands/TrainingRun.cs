using System.Globalization;
using PoNet.Training;

namespace PoNet.Cli.Commands;

/// <summary>
/// What every training command does the same way: Ctrl+C finishes the current step, writes a
/// checkpoint and exits with code 130 after printing the command that resumes the run (a second
/// Ctrl+C kills at once); progress lines carry step, loss, throughput and an ETA that includes evaluations.
/// </summary>
internal static class TrainingRun
{
    public const int Interrupted = 130;

    /// <summary>Runs <paramref name="train"/> (true when it finished) with Ctrl+C wired to its cancellation token.</summary>
    public static int Run(Func<CancellationToken, bool> train, Func<int> stepAtStop, string resumeCommand, Func<int> finish, Func<string>? position = null)
    {
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = !cancel.IsCancellationRequested;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        bool finished;
        try
        {
            finished = train(cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        if (!finished)
        {
            Console.Error.WriteLine($"ponet: interrupted {(position is null ? $"after step {stepAtStop()}" : $"at {position()}")}; checkpoint saved. Continue with: {resumeCommand}");
            return Interrupted;
        }
        return finish();
    }

    /// <summary>The plain progress line of a step: step, training metrics, learning rate, throughput, ETA.</summary>
    public static string Line(TrainingProgress p, string unit = "tokens")
    {
        var train = string.Join(" · ", p.Row.Train.Where(m => m.Key is not ("examples" or "tokens"))
            .Select(m => Invariant($"{m.Key.Replace('_', ' ')} {m.Value:F4}")));
        return Invariant($"step {p.Step}/{p.Steps} · {train} · lr {p.Row.LearningRate:0.00e+0} · {Rate(p.TokensPerSecond)} {unit}/s · ETA {Duration(p.Eta)}");
    }

    /// <summary>The dev metrics of an evaluated step, or null.</summary>
    public static string? Evaluation(TrainingProgress p) => p.Row.Dev is not { } dev ? null :
        Invariant($"eval @ step {p.Step}: ") + string.Join(", ", dev.Select(m => Invariant($"dev {m.Key.Replace('_', ' ')} {m.Value:F4}")));

    public static string Rate(double perSecond) => perSecond >= 1e6
        ? (perSecond / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : (perSecond / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k";

    public static string Duration(TimeSpan? t) => t is not { } d ? "?" : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h{d.Minutes:D2}m" : $"{d.Minutes}m{d.Seconds:D2}s";

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
