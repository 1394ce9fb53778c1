using System.CommandLine;
using System.Globalization;
using PoNet.Model.Mixers;
using PoNet.Cli.Plots;
using PoNet.IO;
using PoNet.Lra;
using PoNet.Runtime;
using PoNet.Lra.Data;
using PoNet.Training;
using Spectre.Console;
using TorchSharp;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet lra TASK</c>: trains and tests one Long Range Arena model (docs/MODEL.md §6), a thin layer over <see cref="LraTrainer"/>.</summary>
internal static class LraCommand
{
    public const string PlotFile = "curves.png";

    /// <summary>
    /// Where each task's data comes from: (--data folder or null, configuration) → train/dev/test.
    /// </summary>
    internal static readonly Dictionary<string, Func<string?, LraConfig, LraSplits>> Loaders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["synthetic"] = (_, config) => SyntheticLra.Create(config),
        ["listops"] = RealTask, ["text"] = RealTask, ["retrieval"] = RealTask, ["image"] = RealTask, ["pathfinder"] = RealTask,
    };

    static LraSplits RealTask(string? dataDir, LraConfig config) =>
        LraTaskData.Load(config, dataDir, DataFetch.DefaultCacheFolder(), message => Console.Error.WriteLine($"ponet: {message}"));

    public static Command Create()
    {
        var task = new Argument<string>("task")
        {
            Description = "listops, text, retrieval, image, pathfinder, or synthetic (a generated majority-token task that needs no data)",
        };
        var mixer = new Option<string>("--mixer") { Description = $"Token mixer: {string.Join(", ", EnumNames.All<MixerKind>())}", DefaultValueFactory = _ => "ponet" };
        mixer.AcceptOnlyFromAmong([.. EnumNames.All<MixerKind>()]);
        var preset = new Option<string>("--preset")
        {
            Description = "paper: the paper's steps, batch, length and schedule for the task (docs/MODEL.md §6); quick: a short run " +
                          "(ListOps: 2000 steps of 32 at N 512, lr 3e-3, 200 warm-up; other tasks: 300 steps of at most 32 at the task's N, lr 1e-3, 30 warm-up)",
            DefaultValueFactory = _ => "quick",
        };
        preset.AcceptOnlyFromAmong([.. LraPresets.Names]);
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
        var evalExamples = new Option<int?>("--eval-examples")
        {
            Description = $"Dev examples per evaluation during training: a fixed seeded subset (default {LraPresets.DefaultEvalExamples}; 0: all). The best step is scored on the full dev and test sets at the end",
        };
        var seed = new Option<long?>("--seed") { Description = "Seed of initialisation, batch order and dropout (default 42)" };
        var accumulate = new Option<int?>("--accumulate") { Description = "Split each batch into this many micro-batches (same effective batch, less memory)" };
        var clip = new Option<double?>("--clip") { Description = "Clip the global gradient norm to this value" };
        var ablate = new Option<string[]>("--ablate")
        {
            Description = $"PoNet branches to remove: {string.Join(", ", EnumNames.All<PoNetBranches>())} (several, or comma-separated)",
            AllowMultipleArgumentsPerToken = true,
        };
        var fusion = new Option<string?>("--fusion") { Description = "PoNet pooling fusion: mul = (g + S) ⊙ O + L (paper), add = g + S + L" };
        fusion.AcceptOnlyFromAmong([.. EnumNames.All<PoNetFusion>()]);
        var attention = new Option<string?>("--attention") { Description = "Transformer attention kernel: sdpa = libtorch's fused kernel (default), explicit = softmax(QKᵀ)V with the N×N weights in memory, as the paper's baseline" };
        attention.AcceptOnlyFromAmong([.. EnumNames.All<AttentionKernel>()]);
        var threads = ThreadsOption.Create();
        var lowMemory = LowMemoryOption.Create();
        var output = new Option<string?>("--out") { Description = "Output folder (default runs/lra-TASK-MIXER)" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, with its saved settings" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Delete the run already in --out (checkpoints and results) and start afresh" };
        var data = new Option<string?>("--data") { Description = "Folder with the task's data (not used by synthetic)" };

        var command = new Command("lra", "Train and test a Long Range Arena classifier (PoNet, Transformer or FNet) as in the paper. " +
                                         "`ponet lra suite` runs every task × mixer (see `ponet lra suite --help`).");
        command.Arguments.Add(task);
        Option[] hyper = [steps, batch, lr, warmup, maxLength, layers, dim, heads, ffn, segments, evalEvery, evalExamples, seed, accumulate, clip, ablate, fusion, attention];
        foreach (var option in new Option[] { mixer, preset }.Concat(hyper).Concat([threads, lowMemory, output, resume, overwrite, data]))
            command.Options.Add(option);

        command.SetAction(parse => ExitCodes.Run(() =>
        {
            NativeMemory.KeepFreedMemory();
            PoolingFusion.Enabled = parse.GetValue(lowMemory);
            var taskName = parse.GetValue(task)!.ToLowerInvariant();
            LraTaskDefaults.For(taskName); // an unknown task fails before anything else
            var mixerKind = EnumNames.Parse<MixerKind>(parse.GetValue(mixer)!, "--mixer");
            var outDir = parse.GetValue(output) ?? Path.Combine("runs", $"lra-{taskName}-{EnumNames.Of(mixerKind)}");
            bool isResume = parse.GetValue(resume);
            if (isResume && parse.GetValue(overwrite)) throw new PoNetInputException("--resume continues the run in --out and --overwrite deletes it: choose one");

            LraConfig config;
            if (isResume)
            {
                var given = hyper.Concat([mixer, preset]).Where(o => parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new PoNetInputException($"--resume continues with the run's saved settings; drop {string.Join(", ", given)}");
                ThreadsOption.ApplyOnResume(parse, threads, outDir, LraTrainer.Kind);
                config = LraTrainer.SavedConfig(outDir);
                if (!config.Task.Equals(taskName, StringComparison.OrdinalIgnoreCase))
                    throw new PoNetInputException($"{outDir}: holds a {config.Task} run, not {taskName}");
            }
            else
            {
                ThreadsOption.Apply(parse, threads);
                config = LraPresets.Resolve(taskName, parse.GetValue(preset)!, mixerKind, new LraOverrides
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr), Warmup = parse.GetValue(warmup),
                    MaxLength = parse.GetValue(maxLength), Layers = parse.GetValue(layers), Dim = parse.GetValue(dim), Heads = parse.GetValue(heads),
                    Ffn = parse.GetValue(ffn), Segments = parse.GetValue(segments), EvalEvery = parse.GetValue(evalEvery),
                    EvalExamples = parse.GetValue(evalExamples), Seed = parse.GetValue(seed), Accumulate = parse.GetValue(accumulate), Clip = parse.GetValue(clip),
                    Ablate = ParseAblations(parse.GetValue(ablate) ?? []),
                    Fusion = parse.GetValue(fusion) is { } f ? EnumNames.Parse<PoNetFusion>(f, "--fusion") : null,
                    Attention = parse.GetValue(attention) is { } a ? EnumNames.Parse<AttentionKernel>(a, "--attention") : null,
                });
                // Before any data is loaded: a finished run with these settings is answered from its results.
                var resultsPath = Path.Combine(outDir, LraTrainer.ResultsFile);
                if (!parse.GetValue(overwrite) && File.Exists(resultsPath))
                {
                    var done = LraResults.Read(resultsPath);
                    if (done.Config == config)
                    {
                        Console.Error.WriteLine($"ponet: {outDir} already holds this finished run (same settings); its results:");
                        PrintResults(done, outDir);
                        return ExitCodes.Ok;
                    }
                    throw new PoNetInputException(
                        $"{outDir}: holds a finished run with other settings; choose another --out, or pass --overwrite to replace it");
                }
                if (!parse.GetValue(overwrite) && RunCheckpoints.Exists(outDir))
                    throw new PoNetInputException($"{outDir}: holds an unfinished run; continue it with --resume, choose another --out, or pass --overwrite to replace it");
                if (parse.GetValue(overwrite)) RemoveRun(outDir);
            }

            if (!Loaders.TryGetValue(taskName, out var load))
                throw new PoNetInputException($"task {taskName}: no data reader; available: {string.Join(", ", Loaders.Keys)}");
            var splits = load(parse.GetValue(data), config);
            using var trainer = isResume ? LraTrainer.Resume(outDir, splits) : LraTrainer.Start(config, splits, outDir);
            return Train(trainer, splits);
        }));
        return command;
    }

    /// <summary>Deletes what a run writes in its folder (and nothing else the user may keep there).</summary>
    static void RemoveRun(string outDir)
    {
        var checkpoints = Path.Combine(outDir, RunCheckpoints.Folder);
        if (Directory.Exists(checkpoints)) Directory.Delete(checkpoints, recursive: true);
        foreach (var file in new[] { LraTrainer.ResultsFile, LraTrainer.MetricsFile, PlotFile })
            File.Delete(Path.Combine(outDir, file));
    }

    static PoNetBranches ParseAblations(IEnumerable<string> values)
    {
        var result = PoNetBranches.None;
        foreach (var value in values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)))
            result |= EnumNames.Parse<PoNetBranches>(value, "--ablate");
        return result;
    }

    internal static int Train(LraTrainer trainer, LraSplits splits)
    {
        var c = trainer.Config;
        var parameters = trainer.Model.parameters().Sum(p => p.numel());
        var what = $"{c.Task} · {EnumNames.Of(c.Mixer)} · N {c.MaxLength} · {parameters:N0} parameters · {c.Steps} steps of {c.BatchSize}" +
                   $" · train/dev/test {splits.Train.Count}/{splits.Dev.Count}/{splits.Test?.Count ?? 0} · {torch.get_num_threads()} threads";
        Console.Error.WriteLine(trainer.Step > 0 ? $"resuming at step {trainer.Step}: {what}" : what);
        if (trainer.Warning is { } warning) Console.Error.WriteLine($"ponet: warning: {warning}");

        LraResults? results = null;
        var console = ConsoleProgress.Console();
        return TrainingRun.Run(cancel => ConsoleProgress.Run(console, Console.IsOutputRedirected, $"LRA {c.Task}", c.Steps, progress =>
            {
                if (trainer.Step > 0) progress.Report(trainer.Step, $"resumed at step {trainer.Step}");
                try
                {
                    results = trainer.Run(new SyncProgress<TrainingProgress>(p =>
                    {
                        if (TrainingRun.Evaluation(p) is { } e) progress.Line(e);
                        progress.Report(p.Step, TrainingRun.Line(p));
                    }), cancel);
                    return true;
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }),
            () => trainer.Step,
            $"ponet lra {c.Task} --out {trainer.OutputDirectory} --resume",
            () =>
            {
                if (TrainingCurves.MissingFontWarning() is { } noFont) Console.Error.WriteLine($"ponet: warning: {noFont}");
                TrainingCurves.SavePng(trainer.History, $"LRA {c.Task}, {EnumNames.Of(c.Mixer)}", Path.Combine(trainer.OutputDirectory, PlotFile));
                PrintResults(results!, trainer.OutputDirectory);
                return ExitCodes.Ok;
            });
    }

    static void PrintResults(LraResults r, string outDir)
    {
        var table = new Table().Title($"LRA {Markup.Escape(r.Task)}").HideHeaders().AddColumn("").AddColumn(new TableColumn("").RightAligned());
        void Row(string name, string value) => table.AddRow(Markup.Escape(name), Markup.Escape(value));
        Row("mixer", EnumNames.Of(r.Mixer));
        Row("steps", r.Steps.ToString(CultureInfo.InvariantCulture));
        Row("best dev step", r.BestStep.ToString(CultureInfo.InvariantCulture));
        Row("dev accuracy", r.DevAccuracy.ToString("P2", CultureInfo.InvariantCulture));
        Row("test accuracy", r.TestAccuracy?.ToString("P2", CultureInfo.InvariantCulture) ?? "(no test split)");
        Row("train time", TrainingRun.Duration(TimeSpan.FromSeconds(r.TrainSeconds)));
        Row("evaluation time", TrainingRun.Duration(TimeSpan.FromSeconds(r.EvalSeconds)));
        Row("tokens/s", TrainingRun.Rate(r.TokensPerSecond));
        Row("steps/s", r.StepsPerSecond.ToString("F2", CultureInfo.InvariantCulture));
        Row("peak memory", r.PeakMemoryMb is { } mb ? $"{mb:F0} MB" : "unknown");
        Row("parameters", r.Parameters.ToString("N0", CultureInfo.InvariantCulture));
        Row("output", outDir);
        ConsoleProgress.Console().Write(table);
    }
}
