using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using PoNet.Cli.Plots;
using PoNet.Lra;
using PoNet.Model.Mixers;
using Spectre.Console;
using TorchSharp;
using PoNet.Runtime;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet lra TASK</c>: trains and tests one Long Range Arena model (docs/MODEL.md §6).</summary>
internal static class LraCommand
{
    public const string PlotFile = "curves.png";

    /// <summary>
    /// Where each task's data comes from: (--data folder or null, configuration) → train/dev/test.
    /// The readers of the real tasks are registered here as they become available.
    /// </summary>
    internal static readonly Dictionary<string, Func<string?, LraConfig, LraSplits>> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["synthetic"] = (_, config) => SyntheticLra.Create(config),
        ["listops"] = RealTask, ["text"] = RealTask, ["retrieval"] = RealTask, ["image"] = RealTask, ["pathfinder"] = RealTask,
    };

    static LraSplits RealTask(string? dataDir, LraConfig config) =>
        LraTaskData.Load(config, dataDir, PoNet.Lra.Data.DataFetch.DefaultCacheFolder(), message => Console.Error.WriteLine($"ponet: {message}"));

    public static Command Create()
    {
        var task = new Argument<string>("task")
        {
            Description = "listops, text, retrieval, image, pathfinder, or synthetic (a generated majority-token task that needs no data)",
        };
        var mixer = new Option<string>("--mixer") { Description = "Token mixer", DefaultValueFactory = _ => "ponet" };
        mixer.AcceptOnlyFromAmong("ponet", "transformer", "fnet");
        var preset = new Option<string>("--preset")
        {
            Description = "paper: the paper's steps, batch and schedule for the task; quick: 300 steps at lr 1e-3 on the same data shapes",
            DefaultValueFactory = _ => "quick",
        };
        preset.AcceptOnlyFromAmong("paper", "quick");
        var steps = new Option<int?>("--steps") { Description = "Optimiser steps (warm-up and evaluation interval scale with it unless given)" };
        var batch = new Option<int?>("--batch-size") { Description = "Examples per optimiser step" };
        var lr = new Option<double?>("--lr") { Description = "Peak learning rate of the one-cycle schedule" };
        var warmup = new Option<int?>("--warmup") { Description = "Steps to reach the peak learning rate" };
        var maxLength = new Option<int?>("--max-length") { Description = "N: documents are padded or cut to this many tokens" };
        var layers = new Option<int?>("--layers") { Description = "Encoder blocks (paper: 2)" };
        var dim = new Option<int?>("--dim") { Description = "Hidden size D (paper: 64)" };
        var heads = new Option<int?>("--heads") { Description = "Heads (paper: 2)" };
        var ffn = new Option<int?>("--ffn") { Description = "Feed-forward size (paper: 128)" };
        var segments = new Option<int?>("--segments") { Description = "PoNet segment_num: SMP pools chunks of N / segments + 1 tokens" };
        var evalEvery = new Option<int?>("--eval-every") { Description = "Evaluate on dev (and checkpoint) every this many steps" };
        var seed = new Option<long?>("--seed") { Description = "Seed of initialisation, batch order and dropout (default 42)" };
        var accumulate = new Option<int?>("--accumulate") { Description = "Split each batch into this many micro-batches (same effective batch, less memory)" };
        var clip = new Option<double?>("--clip") { Description = "Clip the global gradient norm to this value" };
        var ablate = new Option<string[]>("--ablate")
        {
            Description = "PoNet branches to remove: ga, smp, lmp (several, or comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var fusion = new Option<string?>("--fusion") { Description = "PoNet pooling fusion: mul = (g + S) ⊙ O + L (paper), add = g + S + L" };
        fusion.AcceptOnlyFromAmong("mul", "add");
        var attention = new Option<string?>("--attention") { Description = "Transformer attention kernel: sdpa = libtorch's fused kernel (default), explicit = softmax(QKᵀ)V with the N×N weights in memory, as the paper's baseline" };
        attention.AcceptOnlyFromAmong("sdpa", "explicit");
        var threads = new Option<int?>("--threads") { Description = "CPU threads for libtorch (results are reproducible for a fixed count)" };
        var output = new Option<string?>("--out") { Description = "Output folder (default runs/lra-TASK-MIXER)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, with its saved settings" };
        var data = new Option<string?>("--data") { Description = "Folder with the task's data (not used by synthetic)" };

        var command = new Command("lra", "Train and test a Long Range Arena classifier (PoNet, Transformer or FNet) as in the paper.");
        command.Arguments.Add(task);
        Option[] hyper = [steps, batch, lr, warmup, maxLength, layers, dim, heads, ffn, segments, evalEvery, seed, accumulate, clip, ablate, fusion, attention];
        foreach (var option in new Option[] { mixer, preset }.Concat(hyper).Concat([threads, output, resume, data]))
            command.Options.Add(option);

        command.SetAction(parse => ExitCodes.Run(() =>
        {
            NativeMemory.KeepFreedMemory();
            if (parse.GetValue(threads) is { } n)
            {
                if (n < 1) throw new PoNetInputException($"--threads {n}: expected >= 1");
                torch.set_num_threads(n);
            }
            var taskName = parse.GetValue(task)!.ToLowerInvariant();
            var defaults = LraTaskDefaults.For(taskName);
            var mixerKind = parse.GetValue(mixer) switch { "transformer" => MixerKind.Transformer, "fnet" => MixerKind.FNet, _ => MixerKind.PoNet };
            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"lra-{taskName}-{parse.GetValue(mixer)}");

            LraConfig config;
            if (parse.GetValue(resume))
            {
                var given = hyper.Concat([mixer, preset]).Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new PoNetInputException($"--resume continues with the run's saved settings; drop {string.Join(", ", given)}");
                config = LraTrainer.SavedConfig(outDir);
                if (!config.Task.Equals(taskName, StringComparison.OrdinalIgnoreCase))
                    throw new PoNetInputException($"{outDir}: holds a {config.Task} run, not {taskName}");
            }
            else
            {
                var baseConfig = parse.GetValue(preset) == "quick" ? defaults.Quick(mixerKind) : defaults.Paper(mixerKind);
                var ablations = ParseAblations(parse.GetValue(ablate) ?? []);
                var fusionValue = parse.GetValue(fusion);
                if (mixerKind != MixerKind.PoNet && (ablations != PoNetBranches.None || fusionValue is not null))
                    throw new PoNetInputException("--ablate and --fusion change the PoNet mixer; they need --mixer ponet");
                var attentionValue = parse.GetValue(attention);
                if (mixerKind != MixerKind.Transformer && attentionValue is not null)
                    throw new PoNetInputException("--attention chooses the Transformer's attention kernel; it needs --mixer transformer");
                var stepCount = parse.GetValue(steps) ?? baseConfig.Steps;
                config = (baseConfig with
                {
                    Steps = stepCount,
                    BatchSize = parse.GetValue(batch) ?? baseConfig.BatchSize,
                    LearningRate = parse.GetValue(lr) ?? baseConfig.LearningRate,
                    // A shorter run keeps the preset's warm-up fraction unless --warmup says otherwise.
                    Warmup = parse.GetValue(warmup) ?? (int)Math.Round((double)baseConfig.Warmup * stepCount / baseConfig.Steps),
                    MaxLength = parse.GetValue(maxLength) ?? baseConfig.MaxLength,
                    Layers = parse.GetValue(layers) ?? baseConfig.Layers,
                    Dim = parse.GetValue(dim) ?? baseConfig.Dim,
                    Heads = parse.GetValue(heads) ?? baseConfig.Heads,
                    Ffn = parse.GetValue(ffn) ?? baseConfig.Ffn,
                    Segments = parse.GetValue(segments) ?? baseConfig.Segments,
                    EvalEvery = parse.GetValue(evalEvery) ?? (parse.GetValue(steps) is null ? baseConfig.EvalEvery : Math.Max(1, stepCount / 10)),
                    Seed = parse.GetValue(seed) ?? baseConfig.Seed,
                    Accumulate = parse.GetValue(accumulate) ?? baseConfig.Accumulate,
                    Clip = parse.GetValue(clip) ?? baseConfig.Clip,
                    Ablate = ablations,
                    Fusion = fusionValue == "add" ? PoNetFusion.Add : PoNetFusion.Multiply,
                    Attention = attentionValue == "explicit" ? AttentionKernel.Explicit : AttentionKernel.Sdpa,
                }).Validate();
            }

            if (!Loaders.TryGetValue(taskName, out var load))
                throw new PoNetInputException($"task {taskName}: no data reader is wired in yet; available: {string.Join(", ", Loaders.Keys)}");
            var splits = load(parse.GetValue(data), config);
            using var trainer = parse.GetValue(resume) ? LraTrainer.Resume(outDir, splits) : LraTrainer.Start(config, splits, outDir);
            return Train(trainer, splits);
        }));
        return command;
    }

    static PoNetBranches ParseAblations(IEnumerable<string> values)
    {
        var result = PoNetBranches.None;
        foreach (var value in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            result |= value.ToLowerInvariant() switch
            {
                "ga" => PoNetBranches.GlobalAggregation,
                "smp" => PoNetBranches.SegmentMaxPooling,
                "lmp" => PoNetBranches.LocalMaxPooling,
                _ => throw new PoNetInputException($"--ablate {value}: expected ga, smp or lmp"),
            };
        return result;
    }

    static int Train(LraTrainer trainer, LraSplits splits)
    {
        var c = trainer.Config;
        var parameters = trainer.Model.parameters().Sum(p => p.numel());
        var what = $"{c.Task} · {Name(c.Mixer)} · N {c.MaxLength} · {parameters:N0} parameters · {c.Steps} steps of {c.BatchSize}" +
                   $" · train/dev/test {splits.Train.Count}/{splits.Dev.Count}/{splits.Test?.Count ?? 0} · {torch.get_num_threads()} threads";
        Console.Error.WriteLine(trainer.Step > 0 ? $"resuming at step {trainer.Step}: {what}" : what);
        if (trainer.Warning is { } warning) Console.Error.WriteLine($"ponet: warning: {warning}");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;          // stop after the current step, with a checkpoint
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        LraResults results;
        try
        {
            results = Console.IsOutputRedirected ? TrainWithLogLines(trainer, cancel.Token) : TrainWithProgressBar(trainer, cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"ponet: interrupted at step {trainer.Step}; checkpoint saved. Continue with: ponet lra {c.Task} --out {trainer.OutputDirectory} --resume");
            return 130;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var plot = Path.Combine(trainer.OutputDirectory, PlotFile);
        if (TrainingCurves.MissingFontWarning() is { } noFont) Console.Error.WriteLine($"ponet: warning: {noFont}");
        TrainingCurves.SavePng(trainer.History, $"LRA {c.Task}, {Name(c.Mixer)}", plot);
        PrintResults(results, trainer.OutputDirectory);
        return ExitCodes.Ok;
    }

    static LraResults TrainWithProgressBar(LraTrainer trainer, CancellationToken cancel)
    {
        LraResults? results = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new ProgressBarColumn { Width = 16 }, new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn())
            .Start(ctx =>
            {
                var bar = ctx.AddTask(Markup.Escape($"step {trainer.Step}/{trainer.Config.Steps}"), maxValue: trainer.Config.Steps);
                bar.Value = trainer.Step;
                results = trainer.Run(new Reporter(p =>
                {
                    bar.Value = p.Step;
                    bar.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                        $"{p.Step}/{p.TotalSteps} loss {p.Loss:F3} acc {p.Accuracy:P1} best dev {p.Best?.DevAccuracy:P1} · {Tokens(p.TokensPerSecond)} tok/s · ETA {Duration(p.Eta)}"));
                }), cancel);
            });
        return results!;
    }

    static LraResults TrainWithLogLines(LraTrainer trainer, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        return trainer.Run(new Reporter(p =>
        {
            if (p.Evaluated is { } e)
            {
                Console.WriteLine($"{Line(p)} · dev loss {e.DevLoss:F4} · dev accuracy {e.DevAccuracy:P2}");
                last = clock.Elapsed;
            }
            else if (clock.Elapsed - last >= TimeSpan.FromSeconds(15) || p.Step == 1)
            {
                Console.WriteLine(Line(p));
                last = clock.Elapsed;
            }
        }), cancel);
    }

    static string Line(LraProgress p) => string.Create(CultureInfo.InvariantCulture,
        $"step {p.Step}/{p.TotalSteps} · loss {p.Loss:F4} · accuracy {p.Accuracy:P1} · lr {p.LearningRate:0.00e+0} · {Tokens(p.TokensPerSecond)} tokens/s · ETA {Duration(p.Eta)}");

    static void PrintResults(LraResults r, string outDir)
    {
        var table = new Table().Title($"LRA {Markup.Escape(r.Task)}").HideHeaders().AddColumn("").AddColumn(new TableColumn("").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("mixer", Name(r.Mixer));
        Row("steps", r.Steps.ToString(CultureInfo.InvariantCulture));
        Row("best dev step", r.BestStep.ToString(CultureInfo.InvariantCulture));
        Row("dev accuracy", r.DevAccuracy.ToString("P2", CultureInfo.InvariantCulture));
        Row("test accuracy", r.TestAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "(no test split)");
        Row("train time", Duration(TimeSpan.FromSeconds(r.TrainSeconds)));
        Row("tokens/s", Tokens(r.TokensPerSecond));
        Row("steps/s", r.StepsPerSecond.ToString("F2", CultureInfo.InvariantCulture));
        Row("peak memory", r.PeakMemoryMb is { } mb ? $"{mb:F0} MB" : "unknown");
        Row("parameters", r.Parameters.ToString("N0", CultureInfo.InvariantCulture));
        Row("output", outDir);
        AnsiConsole.Write(table);
    }

    static string Name(MixerKind m) => m switch { MixerKind.Transformer => "transformer", MixerKind.FNet => "fnet", _ => "ponet" };

    static string Tokens(double perSecond) => perSecond >= 1e6
        ? (perSecond / 1e6).ToString("F2", CultureInfo.InvariantCulture) + "M"
        : (perSecond / 1e3).ToString("F1", CultureInfo.InvariantCulture) + "k";

    static string Duration(TimeSpan? t) => t is not { } d ? "?" : d.TotalHours >= 1 ? $"{(int)d.TotalHours}h{d.Minutes:D2}m" : $"{d.Minutes}m{d.Seconds:D2}s";

    /// <summary>Calls back on the training thread (System.Progress would post to the thread pool).</summary>
    sealed class Reporter(Action<LraProgress> report) : IProgress<LraProgress>
    {
        public void Report(LraProgress value) => report(value);
    }
}
