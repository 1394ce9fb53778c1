using System.Diagnostics;
using Spectre.Console;

namespace PoNet.Cli.Commands;

/// <summary>
/// Progress of a long job: a live Spectre.Console bar on a terminal; when the stream is redirected
/// (a log file, a test) a plain line at most every <see cref="Interval"/> and at the end, since live
/// rendering there would only write escape codes.
/// </summary>
internal sealed class ConsoleProgress
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    readonly IAnsiConsole console;
    readonly bool live;
    readonly Stopwatch sincePrint = new();
    ProgressTask? task;
    string lastDescription = "";

    ConsoleProgress(IAnsiConsole console, bool live)
    {
        this.console = console;
        this.live = live;
    }

    /// <summary>
    /// A Spectre console over the current Console.Out or Console.Error (tests swap them, so it is not
    /// cached). Redirected, it has no colours and no 80-column wrapping: log lines stay whole.
    /// </summary>
    public static IAnsiConsole Console(bool stderr = false)
    {
        bool redirected = stderr ? System.Console.IsErrorRedirected : System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stderr ? System.Console.Error : System.Console.Out),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected) console.Profile.Width = 1000;
        return console;
    }

    /// <summary>Runs <paramref name="work"/>, which reports through the given <see cref="ConsoleProgress"/>.</summary>
    public static T Run<T>(IAnsiConsole console, bool redirected, string title, double total, Func<ConsoleProgress, T> work)
    {
        if (redirected)
        {
            var plain = new ConsoleProgress(console, live: false);
            plain.sincePrint.Start();
            var result = work(plain);
            plain.Flush();
            return result;
        }
        return console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn { Width = 24 },
                new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var progress = new ConsoleProgress(console, live: true) { task = context.AddTask(Markup.Escape(title), maxValue: total) };
                return work(progress);
            });
    }

    /// <summary>Moves the bar to <paramref name="value"/>; <paramref name="description"/> is the plain line printed when redirected.</summary>
    public void Report(double value, string description)
    {
        lastDescription = description;
        if (live)
        {
            task!.Value = value;
            task.Description = Markup.Escape(description);
            return;
        }
        if (sincePrint.Elapsed >= Interval)
            Flush();
    }

    /// <summary>A line that is always printed (an evaluation, a warning), above the live bar on a terminal.</summary>
    public void Line(string text)
    {
        console.WriteLine(text);
    }

    void Flush()
    {
        if (lastDescription.Length == 0) return;
        console.WriteLine(lastDescription);
        lastDescription = "";
        sincePrint.Restart();
    }
}
