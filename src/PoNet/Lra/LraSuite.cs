using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PoNet.Model.Mixers;
using PoNet.IO;
using PoNet.Training;

namespace PoNet.Lra;

/// <summary>
/// The paper's Table 1 as a grid of runs: every task × mixer is one ordinary LRA run in its own
/// folder (OUT/TASK-MIXER), so a cell is skipped when it has finished with the same settings,
/// resumed when it was interrupted, and started otherwise.
/// </summary>
public static class LraSuite
{
    public static readonly IReadOnlyList<string> Tasks = ["listops", "text", "retrieval", "image", "pathfinder"];
    public static readonly IReadOnlyList<string> Budgets = ["cpu", "paper"];
    public const string TableMarkdown = "table.md", TableJson = "table.json", TablePng = "table.png";

    /// <summary>
    /// Test accuracy (%) of the paper's Table 1 (docs/MODEL.md §6); null where the paper reports that
    /// the model failed to learn (FNet on Pathfinder).
    /// </summary>
    public static double? Paper(string task, MixerKind mixer) => (task, mixer) switch
    {
        ("listops", MixerKind.PoNet) => 37.80, ("text", MixerKind.PoNet) => 69.82, ("retrieval", MixerKind.PoNet) => 80.35,
        ("image", MixerKind.PoNet) => 46.88, ("pathfinder", MixerKind.PoNet) => 70.39,
        ("listops", MixerKind.Transformer) => 37.10, ("text", MixerKind.Transformer) => 65.02, ("retrieval", MixerKind.Transformer) => 79.35,
        ("image", MixerKind.Transformer) => 38.20, ("pathfinder", MixerKind.Transformer) => 74.16,
        ("listops", MixerKind.FNet) => 37.40, ("text", MixerKind.FNet) => 62.52, ("retrieval", MixerKind.FNet) => 76.94,
        ("image", MixerKind.FNet) => 35.55, ("pathfinder", MixerKind.FNet) => null,
        _ => throw new ArgumentOutOfRangeException(nameof(task), task, "not an LRA task"),
    };

    /// <summary>
    /// The configuration of one cell. <c>paper</c>: docs/MODEL.md §6 for every task. <c>cpu</c>: a
    /// reduced budget that finishes all fifteen cells on a 2-core CPU in about five to six hours,
    /// planned from the speeds `ponet bench` measured there (the Transformer at N = 1024 runs about
    /// 0.66 steps/s, so it sets the pace): the same steps and batch for the three mixers of a task;
    /// ListOps at N = 512 (expressions cut after 512 tokens, the quick preset), Text and Retrieval
    /// documents cut to 1024 bytes (the full 4096 would take the Transformer about 3 hours per 1000
    /// steps here), Image and Pathfinder at their full 1024 pixels; batch 32 and lr 1e-3 everywhere
    /// except ListOps (the quick preset's 3e-3); warm-up 10 % of the steps; evaluation five times on
    /// a seeded subset of 1000 dev examples.
    /// </summary>
    public static LraConfig Budget(string budget, string task, MixerKind mixer)
    {
        if (!Tasks.Contains(task)) throw new PoNetInputException($"--tasks {task}: expected some of {string.Join(", ", Tasks)}");
        return budget switch
        {
            "paper" => LraTaskDefaults.For(task).Paper(mixer) with { EvalExamples = LraPresets.DefaultEvalExamples },
            "cpu" => CpuBudget(task, mixer),
            _ => throw new PoNetInputException($"--budget {budget}: expected one of {string.Join(", ", Budgets)}"),
        };
    }

    static LraConfig CpuBudget(string task, MixerKind mixer)
    {
        var (length, steps, lr) = task switch
        {
            "listops" => (512, 2000, 3e-3),
            "text" => (1024, 2000, 1e-3),
            "retrieval" => (1024, 1000, 1e-3),
            "image" => (1024, 2000, 1e-3),
            _ => (1024, 2000, 1e-3), // pathfinder
        };
        return (LraTaskDefaults.For(task).Paper(mixer) with
        {
            MaxLength = length, Steps = steps, BatchSize = 32, LearningRate = lr, Warmup = steps / 10,
            EvalEvery = steps / 5, EvalExamples = 1000,
            // Text's 4096 segments give chunks of 2 tokens at N = 4096; keep that chunk length at N = 1024.
            Segments = task == "text" ? 1024 : LraTaskDefaults.For(task).Segments,
        }).Validate();
    }

    public static string CellFolder(string outDir, string task, MixerKind mixer) => Path.Combine(outDir, $"{task}-{EnumNames.Of(mixer)}");
}

/// <summary>One cell of the suite's table: our result (when finished) next to the paper's.</summary>
public sealed record LraSuiteCell
{
    [JsonPropertyName("task")] public required string Task { get; init; }
    [JsonPropertyName("mixer")] public required MixerKind Mixer { get; init; }
    /// <summary>"finished", "interrupted" (a checkpoint to resume), or "not run".</summary>
    [JsonPropertyName("status")] public required string Status { get; init; }
    [JsonPropertyName("paper_test_accuracy")] public double? PaperTestAccuracy { get; init; }
    [JsonPropertyName("test_accuracy")] public double? TestAccuracy { get; init; }
    [JsonPropertyName("dev_accuracy")] public double? DevAccuracy { get; init; }
    [JsonPropertyName("steps")] public int Steps { get; init; }
    [JsonPropertyName("max_length")] public int MaxLength { get; init; }
    [JsonPropertyName("train_seconds")] public double? TrainSeconds { get; init; }
    [JsonPropertyName("eval_seconds")] public double? EvalSeconds { get; init; }
    [JsonPropertyName("tokens_per_second")] public double? TokensPerSecond { get; init; }
    [JsonPropertyName("peak_memory_mb")] public double? PeakMemoryMb { get; init; }
    [JsonPropertyName("threads")] public int? Threads { get; init; }
    [JsonPropertyName("folder")] public required string Folder { get; init; }

    /// <summary>The cell's state as its folder shows it.</summary>
    public static LraSuiteCell Read(string outDir, string task, MixerKind mixer, LraConfig config)
    {
        var folder = LraSuite.CellFolder(outDir, task, mixer);
        var results = Path.Combine(folder, LraTrainer.ResultsFile);
        var r = File.Exists(results) ? LraResults.Read(results) : null;
        if (r is not null && r.Config != config) r = null; // another budget's run: not this cell
        return new LraSuiteCell
        {
            Task = task, Mixer = mixer, Folder = folder, Steps = config.Steps, MaxLength = config.MaxLength,
            Status = r is not null ? "finished" : RunCheckpoints.Exists(folder) ? "interrupted" : "not run",
            PaperTestAccuracy = LraSuite.Paper(task, mixer),
            TestAccuracy = r?.TestAccuracy * 100, DevAccuracy = r?.DevAccuracy * 100,
            TrainSeconds = r?.TrainSeconds, EvalSeconds = r?.EvalSeconds, TokensPerSecond = r?.TokensPerSecond,
            PeakMemoryMb = r?.PeakMemoryMb, Threads = r?.Threads,
        };
    }
}

/// <summary>table.md and table.json of a suite: ours beside the paper's, per task and on average.</summary>
public static class LraSuiteTable
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static void Write(string outDir, string budget, IReadOnlyList<LraSuiteCell> cells)
    {
        AtomicFile.WriteAllText(Path.Combine(outDir, LraSuite.TableJson),
            JsonSerializer.Serialize(new { budget, cells, averages = Averages(cells) }, Json) + "\n");
        AtomicFile.WriteAllText(Path.Combine(outDir, LraSuite.TableMarkdown), Markdown(budget, cells));
    }

    /// <summary>Per mixer: our mean test accuracy over the tasks it finished, and the paper's over the same tasks where it has a number (the paper's FNet average, 53.10, leaves out its failed Pathfinder too).</summary>
    public static IReadOnlyList<object> Averages(IReadOnlyList<LraSuiteCell> cells) =>
        cells.GroupBy(c => c.Mixer).Select(g =>
        {
            var done = g.Where(c => c.TestAccuracy is not null).ToList();
            return (object)new
            {
                mixer = EnumNames.Of(g.Key),
                tasks = done.Count,
                test_accuracy = done.Count == 0 ? (double?)null : done.Average(c => c.TestAccuracy!.Value),
                paper_test_accuracy = PaperAverage(done),
            };
        }).ToList();

    public static string Markdown(string budget, IReadOnlyList<LraSuiteCell> cells)
    {
        static string F(double? v, string format = "F2") => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "–";
        static string Time(double? s) => s is { } x ? TimeSpan.FromSeconds(x).ToString(x >= 3600 ? @"h\hmm\m" : @"m\mss\s", CultureInfo.InvariantCulture) : "–";
        var tasks = cells.Select(c => c.Task).Distinct().ToList();
        var mixers = cells.Select(c => c.Mixer).Distinct().ToList();
        var md = new StringBuilder($"# Long Range Arena, budget `{budget}`: test accuracy (%), ours / paper\n\n");
        md.Append("| mixer | ").Append(string.Join(" | ", tasks)).Append(" | average |\n|---|").Append(string.Concat(tasks.Select(_ => "---|"))).Append("---|\n");
        foreach (var m in mixers)
        {
            md.Append("| ").Append(EnumNames.Of(m));
            foreach (var t in tasks)
            {
                var c = cells.First(x => x.Task == t && x.Mixer == m);
                md.Append(" | ").Append(c.TestAccuracy is { } a ? F(a) : c.Status).Append(" / ").Append(c.PaperTestAccuracy is { } p ? F(p) : "fail");
            }
            var done = cells.Where(c => c.Mixer == m && c.TestAccuracy is not null).ToList();
            md.Append(" | ").Append(done.Count == 0 ? "–" : $"{F(done.Average(c => c.TestAccuracy!.Value))} / {F(PaperAverage(done))}");
            if (done.Count > 0 && done.Count < tasks.Count) md.Append(done.Count == 1 ? " (1 task)" : $" ({done.Count} tasks)");
            md.Append(" |\n");
        }
        md.Append("\n| task | mixer | status | steps | N | train time | eval time | tokens/s | peak memory | threads |\n|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var c in cells)
            md.Append($"| {c.Task} | {EnumNames.Of(c.Mixer)} | {c.Status} | {c.Steps} | {c.MaxLength} | {Time(c.TrainSeconds)} | {Time(c.EvalSeconds)} | " +
                      $"{(c.TokensPerSecond is { } tps ? F(tps / 1000, "F1") + "k" : "–")} | {(c.PeakMemoryMb is { } mb ? F(mb, "F0") + " MB" : "–")} | {c.Threads?.ToString(CultureInfo.InvariantCulture) ?? "–"} |\n");
        md.Append("\nAverages are over the tasks finished here; the paper's over the same tasks where it reports a number (it reports FNet's Pathfinder as failed and leaves it out of its average).\n");
        return md.ToString();
    }

    static double? PaperAverage(IEnumerable<LraSuiteCell> cells)
    {
        var paper = cells.Where(c => c.PaperTestAccuracy is not null).ToList();
        return paper.Count == 0 ? null : paper.Average(c => c.PaperTestAccuracy!.Value);
    }
}
