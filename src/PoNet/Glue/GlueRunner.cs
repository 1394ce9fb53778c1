using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Inference;
using PoNet.IO;
using PoNet.Model;

namespace PoNet.Glue;

/// <summary>What <c>ponet glue</c> runs: a suite of task folders, one model, the fine-tuning settings (PONET.md §5).</summary>
public sealed record GlueOptions
{
    /// <summary>The GLUE download (CoLA/, SST-2/, …) or the offline suite's folder.</summary>
    public required string Data { get; init; }
    public required string Model { get; init; }
    public required string Output { get; init; }
    /// <summary>glue or offline.</summary>
    public string Suite { get; init; } = "glue";
    public string? Tasks { get; init; }
    public int Epochs { get; init; } = 4;
    /// <summary>One run per (batch size, learning rate); the best dev score per task is reported.</summary>
    public IReadOnlyList<int> BatchSizes { get; init; } = [32];
    public IReadOnlyList<double> LearningRates { get; init; } = [5e-5];
    public int MaxLength { get; init; } = 128;
    public bool BFloat16 { get; init; }
    public long Seed { get; init; } = 42;
    public string? Compare { get; init; }

    /// <summary>The paper's grid: batch {8, 16, 32, 64, 128} × lr {3e-5, 5e-5, 1e-4, 3e-4}.</summary>
    public static readonly int[] PaperBatchSizes = [8, 16, 32, 64, 128];
    public static readonly double[] PaperLearningRates = [3e-5, 5e-5, 1e-4, 3e-4];

    public void Validate()
    {
        if (Epochs < 1) throw new PoNetInputException($"--epochs {Epochs}: expected >= 1");
        if (BatchSizes.Count == 0 || BatchSizes.Any(b => b < 1)) throw new PoNetInputException($"--batch-size {string.Join(",", BatchSizes)}: expected positive integers");
        if (LearningRates.Count == 0 || LearningRates.Any(l => !(l > 0) || !double.IsFinite(l)))
            throw new PoNetInputException($"--lr {string.Join(",", LearningRates.Select(Format))}: expected positive numbers");
        if (MaxLength < 3) throw new PoNetInputException($"--max-length {MaxLength}: expected at least 3");
    }

    internal static string Format(double x) => x.ToString("0.#####e+0", CultureInfo.InvariantCulture);

    /// <summary>The settings a finished task must have been run with to be skipped on a re-run.</summary>
    internal JsonObject Settings() => new()
    {
        ["model"] = Path.GetFullPath(Model),
        ["epochs"] = Epochs,
        ["batch_sizes"] = new JsonArray([.. BatchSizes.Select(b => (JsonNode)b)]),
        ["learning_rates"] = new JsonArray([.. LearningRates.Select(l => (JsonNode)l)]),
        ["max_length"] = MaxLength,
        ["bf16"] = BFloat16,
        ["seed"] = Seed,
    };
}

/// <summary>One task's outcome: its scores (0–1) on the report splits, the winning grid cell, what was read.</summary>
public sealed record GlueTaskResult(string Task, IReadOnlyDictionary<string, double> Scores, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Splits,
    int BatchSize, double LearningRate, int BestEpoch, double SelectionScore, int TrainExamples, int SkippedRows, double Seconds);

public sealed record GlueProgress(string Task, int TaskIndex, int Tasks, string Cell, int CellIndex, int Cells, FineTuneProgress? Step, string? Line);

/// <summary>
/// Fine-tunes one model on every task folder present and scores it (<c>ponet glue</c>). Per task:
/// its files are read as the task's reader says and written as JSON lines to OUT/task/data/, one
/// <see cref="FineTuner"/> run per grid cell in OUT/task/bB-lrL/ (resumed from its checkpoint when
/// interrupted), the cell with the best dev score wins, its best epoch is scored on every evaluation
/// split, and OUT/task/result.json is written last, so a task with one is finished and skipped on a
/// re-run with the same settings. OUT/results.json and results.md are rewritten after every task.
/// </summary>
public sealed class GlueRunner
{
    public const string ResultsJson = "results.json", ResultsMarkdown = "results.md", TaskResult = "result.json", DataFolder = "data";

    public GlueRunner(GlueOptions options, IReadOnlyList<GlueTask> suite)
    {
        options.Validate();
        Options = options;
        if (!Directory.Exists(options.Data)) throw new PoNetInputException($"{options.Data}: no such folder (--data)");
        var config = PoNetConfig.Load(Path.Combine(options.Model, PoNetCheckpoint.ConfigFile));
        ModelType = config.ModelType;
        var selected = GlueTasks.Select(suite, options.Tasks);
        Present = selected.Where(t => Directory.Exists(Path.Combine(options.Data, t.Folder))).ToList();
        Missing = selected.Except(Present).ToList();
        if (options.Tasks is not null && Missing.Count > 0)
            throw new PoNetInputException($"{Path.Combine(options.Data, Missing[0].Folder)}: no such folder; --tasks names {Missing[0].Name}");
        if (Present.Count == 0)
            throw new PoNetInputException($"{options.Data}: holds none of the task folders {string.Join(", ", selected.Select(t => t.Folder))}");
        // Every file is checked before any training: a bad file fails in seconds, not after hours.
        foreach (var task in Present)
            foreach (var file in new[] { task.TrainFile }.Concat(task.Evaluations.Select(e => e.File)))
                if (!File.Exists(Path.Combine(options.Data, task.Folder, file)))
                    throw new PoNetInputException($"{Path.Combine(options.Data, task.Folder, file)}: no such file; the {task.Name} task needs {string.Join(", ", new[] { task.TrainFile }.Concat(task.Evaluations.Select(e => e.File)))}");
        if (options.Compare is not null) ReadResults(options.Compare);
        foreach (var task in Present)
            if (CheckFinished(task) is null)
                foreach (var file in new[] { task.TrainFile }.Concat(task.Evaluations.Select(e => e.File)))
                    task.Reader.Read(Path.Combine(options.Data, task.Folder, file), task.Labels);
    }

    public GlueOptions Options { get; }
    public string ModelType { get; }
    public IReadOnlyList<GlueTask> Present { get; }
    public IReadOnlyList<GlueTask> Missing { get; }
    public List<(int BatchSize, double LearningRate)> Cells => [.. Options.BatchSizes.Distinct().SelectMany(b => Options.LearningRates.Distinct().Select(l => (b, l)))];

    static string CellName(int batch, double lr) => $"b{batch}-lr{GlueOptions.Format(lr)}";

    string TaskDir(GlueTask task) => Path.Combine(Options.Output, task.Name);

    /// <summary>The task's result when it finished with these settings; other settings are refused, not mixed in.</summary>
    GlueTaskResult? CheckFinished(GlueTask task)
    {
        var file = Path.Combine(TaskDir(task), TaskResult);
        if (!File.Exists(file)) return null;
        var node = ReadJson(file);
        var settings = node["settings"];
        if (!JsonNode.DeepEquals(settings, Options.Settings()))
            throw new PoNetInputException($"{file}: this task finished with other settings ({settings?.ToJsonString()}); use another --out, or delete {TaskDir(task)} to re-run it");
        try
        {
            return node["result"].Deserialize<GlueTaskResult>(Json) ?? throw new JsonException("null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new PoNetInputException($"{file}: key 'result': {e.Message.Split('\n')[0]}", e);
        }
    }

    static JsonNode ReadJson(string file)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(file, StrictUtf8.Encoding)) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new PoNetInputException($"{file}: not valid JSON ({e.Message.Split(" LineNumber")[0].Trim()})");
        }
    }

    /// <summary>Runs every unfinished task; false when <paramref name="cancel"/> stopped it (after a checkpoint).</summary>
    public bool Run(Action<GlueProgress>? progress = null, CancellationToken cancel = default)
    {
        Directory.CreateDirectory(Options.Output);
        var results = new List<GlueTaskResult>();
        for (int t = 0; t < Present.Count; t++)
        {
            var task = Present[t];
            if (CheckFinished(task) is { } done)
            {
                progress?.Invoke(new GlueProgress(task.Name, t, Present.Count, "", 0, 0, null, $"{task.Name}: finished before; skipped ({Path.Combine(TaskDir(task), TaskResult)})"));
                results.Add(done);
                continue;
            }
            var result = RunTask(task, t, progress, cancel);
            if (result is null)
            {
                WriteResults(results);
                return false;
            }
            results.Add(result);
            WriteResults(results);
        }
        WriteResults(results);
        return true;
    }

    GlueTaskResult? RunTask(GlueTask task, int index, Action<GlueProgress>? progress, CancellationToken cancel)
    {
        var dir = TaskDir(task);
        var (train, evaluations, skipped) = Prepare(task);
        if (skipped > 0)
            progress?.Invoke(new GlueProgress(task.Name, index, Present.Count, "", 0, 0, null,
                $"{task.Name}: {skipped} malformed row{(skipped == 1 ? "" : "s")} of {Path.Combine(Options.Data, task.Folder, task.TrainFile)} skipped (too few fields), as HF's GLUE reader does"));
        var cells = Cells;
        (string Dir, int Batch, double Lr, double Score, int Epoch)? best = null;
        double seconds = 0; // the cells' training and evaluation time, over all sessions
        for (int c = 0; c < cells.Count; c++)
        {
            var (batch, lr) = cells[c];
            var name = CellName(batch, lr);
            var cellDir = Path.Combine(dir, name);
            var resultsFile = Path.Combine(cellDir, FineTuner.ResultsFile);
            var wanted = new FineTuneOptions
            {
                Train = Path.GetFullPath(train),
                Dev = Path.GetFullPath(evaluations[0]),
                Init = Path.GetFullPath(Options.Model),
                Output = cellDir,
                TextColumn = "text",
                TextPairColumn = task.IsPair ? "text_pair" : null,
                LabelColumn = "label",
                Format = "jsonl",
                Labels = task.Labels,
                Task = task.IsRegression ? "regression" : "classification",
                Metric = task.Selection,
                Epochs = Options.Epochs,
                BatchSize = batch,
                LearningRate = lr,
                MaxLength = task.MaxLength ?? Options.MaxLength,
                SentenceSegments = false,
                BFloat16 = Options.BFloat16,
                Seed = Options.Seed,
            };
            bool finished = Directory.Exists(Path.Combine(cellDir, FineTuner.BestDir)) && File.Exists(resultsFile)
                            && ReadJson(resultsFile)["completed"]?.GetValue<bool>() == true;
            if (!finished)
            {
                bool resume = Directory.Exists(cellDir) && PoNet.Training.RunCheckpoints.Find(cellDir) is not null;
                if (!resume && Directory.Exists(cellDir)) Directory.Delete(cellDir, recursive: true); // nothing to resume from
                var options = wanted;
                if (resume)
                {
                    options = FineTuner.SavedOptions(cellDir);
                    CheckSameRun(cellDir, options, wanted);
                }
                var tuner = new FineTuner(options);
                progress?.Invoke(new GlueProgress(task.Name, index, Present.Count, name, c, cells.Count, null,
                    $"{task.Name} {name}: {tuner.TrainCount} train / {tuner.DevCount} {task.Evaluations[0].Name} examples, {tuner.Steps} steps{(resume ? $", resuming at step {tuner.Step}" : "")}"));
                if (!tuner.Run(p => progress?.Invoke(new GlueProgress(task.Name, index, Present.Count, name, c, cells.Count, p, null)), cancel, resume))
                    return null;
            }
            var cell = ReadJson(resultsFile);
            if (finished)
            {
                var saved = cell["options"].Deserialize<FineTuneOptions>(Json) ?? throw new PoNetInputException($"{resultsFile}: key 'options' is missing");
                CheckSameRun(cellDir, saved, wanted);
            }
            double score = cell["best"]?.GetValue<double>() ?? double.NaN;
            int epoch = cell["best_epoch"]?.GetValue<int>() ?? 0;
            seconds += (cell["train_seconds"]?.GetValue<double>() ?? 0) + (cell["eval_seconds"]?.GetValue<double>() ?? 0);
            progress?.Invoke(new GlueProgress(task.Name, index, Present.Count, name, c, cells.Count, null,
                string.Create(CultureInfo.InvariantCulture, $"{task.Name} {name}: best {task.Selection} {score:F4} (epoch {epoch})")));
            if (best is null || (!double.IsNaN(score) && (double.IsNaN(best.Value.Score) || score > best.Value.Score)))
                best = (cellDir, batch, lr, score, epoch);
        }

        // The winner's best epoch on every evaluation split, in full precision.
        var scoring = System.Diagnostics.Stopwatch.StartNew();
        var classifier = new TextClassifier(Path.Combine(best!.Value.Dir, FineTuner.BestDir), maxLength: task.MaxLength ?? Options.MaxLength);
        var splits = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        for (int s = 0; s < task.Evaluations.Count; s++)
        {
            var examples = new JsonlReader(task.IsPair).Read(evaluations[s], task.Labels).Examples;
            var predictions = classifier.Classify(examples, 64);
            splits[task.Evaluations[s].Name] = Score(task, examples, predictions);
        }
        var scores = ReportScores(task, splits);
        var result = new GlueTaskResult(task.Name, scores, splits, best.Value.Batch, best.Value.Lr, best.Value.Epoch, best.Value.Score,
            CountLines(train), skipped, seconds + scoring.Elapsed.TotalSeconds);
        AtomicFile.WriteAllText(Path.Combine(dir, TaskResult), new JsonObject
        {
            ["settings"] = Options.Settings(),
            ["result"] = JsonSerializer.SerializeToNode(result, Json),
        }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return result;
    }

    /// <summary>A run found in a cell folder must be the one these settings ask for; else it is refused, never mixed in.</summary>
    static void CheckSameRun(string cellDir, FineTuneOptions saved, FineTuneOptions wanted)
    {
        var differences = new List<string>();
        void Compare<T>(string name, T have, T want)
        {
            if (!EqualityComparer<T>.Default.Equals(have, want)) differences.Add($"{name} {have} (asked: {want})");
        }
        Compare("--epochs", saved.Epochs, wanted.Epochs);
        Compare("--batch-size", saved.BatchSize, wanted.BatchSize);
        Compare("--lr", saved.LearningRate, wanted.LearningRate);
        Compare("--max-length", saved.MaxLength, wanted.MaxLength);
        Compare("--seed", saved.Seed, wanted.Seed);
        Compare("--bf16", saved.BFloat16, wanted.BFloat16);
        Compare("--model", Path.GetFullPath(saved.Init), wanted.Init);
        if (differences.Count > 0)
            throw new PoNetInputException($"{cellDir}: holds a run with other settings ({string.Join(", ", differences)}); use another --out, or delete that folder to re-run it");
    }

    static int CountLines(string jsonl) => File.ReadLines(jsonl).Count(l => l.Length > 0);

    /// <summary>Reads the task's files, checks them, and writes the JSON lines the fine-tuner reads (atomically, once).</summary>
    (string Train, List<string> Evaluations, int Skipped) Prepare(GlueTask task)
    {
        var dataDir = Path.Combine(TaskDir(task), DataFolder);
        var source = Path.Combine(Options.Data, task.Folder);
        var (trainExamples, skipped) = task.Reader.Read(Path.Combine(source, task.TrainFile), task.Labels);
        if (task.Labels is { } labels)
        {
            var unseen = labels.Where(l => trainExamples.All(e => e.Label != l)).ToList();
            if (unseen.Count == labels.Count - 1)
                throw new PoNetInputException($"{Path.Combine(source, task.TrainFile)}: every example has label '{trainExamples[0].Label}'; a classifier needs examples of at least two classes");
        }
        Directory.CreateDirectory(dataDir);
        var train = Path.Combine(dataDir, "train.jsonl");
        Write(train, trainExamples);
        var evaluations = new List<string>();
        foreach (var split in task.Evaluations)
        {
            var path = Path.Combine(dataDir, split.Name + ".jsonl");
            Write(path, task.Reader.Read(Path.Combine(source, split.File), task.Labels).Examples);
            evaluations.Add(path);
        }
        return (train, evaluations, skipped);
    }

    static void Write(string path, IEnumerable<TextExample> examples)
    {
        var text = new StringBuilder();
        foreach (var e in examples)
        {
            var o = new JsonObject { ["text"] = e.Text };
            if (e.TextPair is not null) o["text_pair"] = e.TextPair;
            o["label"] = e.Label;
            text.Append(o.ToJsonString()).Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    /// <summary>The task's metrics on one split, from the classifier's predictions.</summary>
    static Dictionary<string, double> Score(GlueTask task, List<TextExample> examples, List<Classification> predictions)
    {
        var metrics = new Dictionary<string, double>();
        if (task.IsRegression)
        {
            var gold = examples.Select(e => double.Parse(e.Label!, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
            var predicted = predictions.Select(p => p.Score ?? double.NaN).ToArray();
            metrics[GlueTasks.Pearson] = GlueMetrics.PearsonOf(predicted, gold);
            metrics[GlueTasks.Spearman] = GlueMetrics.SpearmanOf(predicted, gold);
            return metrics;
        }
        var labels = task.Labels!.ToList();
        var goldIds = examples.Select(e => labels.IndexOf(e.Label!)).ToArray();
        var predictedIds = predictions.Select(p => labels.IndexOf(p.Label!)).ToArray();
        metrics[GlueTasks.Accuracy] = GlueMetrics.AccuracyOf(predictedIds, goldIds);
        if (labels.Count == 2) metrics[GlueTasks.F1] = GlueMetrics.F1Of(predictedIds, goldIds);
        metrics[GlueTasks.Matthews] = GlueMetrics.MatthewsOf(predictedIds, goldIds);
        return metrics;
    }

    /// <summary>The task's reported metrics (its <see cref="GlueTask.Metrics"/>) from the splits' scores.</summary>
    static Dictionary<string, double> ReportScores(GlueTask task, Dictionary<string, IReadOnlyDictionary<string, double>> splits)
    {
        var scores = new Dictionary<string, double>();
        var report = splits.ContainsKey("test") ? splits["test"] : splits[task.Evaluations[0].Name];
        foreach (var metric in task.Metrics)
            scores[metric] = metric switch
            {
                GlueTasks.Mnli => splits["dev_matched"][GlueTasks.Accuracy],
                GlueTasks.MnliMismatched => splits["dev_mismatched"][GlueTasks.Accuracy],
                _ => report[metric],
            };
        return scores;
    }

    /// <summary>The paper's average: the mean of each task's average metrics (MNLI counts twice: matched and mismatched).</summary>
    public static (double Average, List<string> Over) Average(IReadOnlyList<GlueTask> suite, IEnumerable<GlueTaskResult> results)
    {
        var values = new List<double>();
        var over = new List<string>();
        foreach (var r in results)
        {
            var task = suite.First(t => t.Name == r.Task);
            foreach (var m in task.AverageMetrics)
            {
                values.Add(r.Scores[m]);
                over.Add(m == GlueTasks.MnliMismatched ? "mnli-mm" : r.Task);
            }
        }
        return (values.Count == 0 ? double.NaN : values.Average(), over);
    }

    /// <summary>Another run's results.json (a file or its OUT folder): task → average metric values.</summary>
    static (JsonNode Node, string File) ReadResults(string other)
    {
        var file = Directory.Exists(other) ? Path.Combine(other, ResultsJson) : other;
        if (!File.Exists(file)) throw new PoNetInputException($"{file}: no such file (--compare takes another ponet glue --out)");
        var node = ReadJson(file);
        if (node["average_scores"] is not JsonObject)
            throw new PoNetInputException($"{file}: key 'average_scores' is missing; --compare takes the results.json of ponet glue");
        return (node, file);
    }

    void WriteResults(List<GlueTaskResult> results)
    {
        var suite = Present.Concat(Missing).ToList();
        var (average, over) = Average(suite, results);
        var averageScores = new JsonObject();
        foreach (var r in results)
            foreach (var m in suite.First(t => t.Name == r.Task).AverageMetrics)
                averageScores[m == GlueTasks.MnliMismatched ? "mnli-mm" : r.Task] = Number(r.Scores[m]);
        var root = new JsonObject
        {
            ["suite"] = Options.Suite,
            ["model"] = Path.GetFullPath(Options.Model),
            ["model_type"] = ModelType,
            ["settings"] = Options.Settings(),
            ["complete"] = results.Count == Present.Count && Missing.Count == 0,
            ["missing_tasks"] = new JsonArray([.. Missing.Select(t => (JsonNode)t.Name)]),
            ["tasks"] = new JsonObject(results.Select(r => KeyValuePair.Create(r.Task, JsonSerializer.SerializeToNode(r, Json)))),
            ["average_scores"] = averageScores,
            ["average"] = Number(average),
        };
        string? compareLine = null;
        if (Options.Compare is { } compare)
        {
            var (other, file) = ReadResults(compare);
            var theirs = other["average_scores"]!.AsObject();
            var common = averageScores.Where(p => p.Value is not null && theirs[p.Key] is not null).Select(p => p.Key).ToList();
            if (common.Count > 0)
            {
                double ours = common.Average(k => averageScores[k]!.GetValue<double>());
                double them = common.Average(k => theirs[k]!.GetValue<double>());
                root["compare"] = new JsonObject
                {
                    ["other"] = Path.GetFullPath(file),
                    ["other_model_type"] = other["model_type"]?.GetValue<string>(),
                    ["over"] = new JsonArray([.. common.Select(k => (JsonNode)k)]),
                    ["average"] = ours,
                    ["other_average"] = them,
                    ["ratio"] = ours / them,
                    ["relative_difference"] = ours / them - 1,
                };
                compareLine = FormattableString.Invariant(
                    $"Against {other["model_type"]?.GetValue<string>() ?? "the other run"} ({file}), over {common.Count} scores: {100 * ours:F2} vs {100 * them:F2} = **{100 * ours / them:F1}%** ({100 * (ours / them - 1):+0.0;-0.0}% relative)") +
                    (Options.Suite == "glue" ? FormattableString.Invariant($"; the paper: PoNet = {GlueTasks.PaperPercentOfBert}% of BERT, +{GlueTasks.PaperRelativeToFNet}% over FNet.") : ".");
            }
        }
        AtomicFile.WriteAllText(Path.Combine(Options.Output, ResultsJson), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AtomicFile.WriteAllText(Path.Combine(Options.Output, ResultsMarkdown), Markdown(suite, results, average, compareLine));
    }

    string Markdown(List<GlueTask> suite, List<GlueTaskResult> results, double average, string? compareLine)
    {
        string P(double x) => double.IsNaN(x) ? "–" : (100 * x).ToString("F2", CultureInfo.InvariantCulture);
        bool glue = Options.Suite == "glue";
        var md = new StringBuilder();
        md.Append($"# ponet glue ({Options.Suite}): {ModelType} from {Options.Model}\n\n");
        md.Append(string.Create(CultureInfo.InvariantCulture, $"{Options.Epochs} epochs, max length {Options.MaxLength}, batch {string.Join("/", Options.BatchSizes)} × lr {string.Join("/", Options.LearningRates.Select(GlueOptions.Format))}, best dev per task; scores ×100 on {(glue ? "dev" : "test (dev picks the epoch and cell)")}.\n\n"));
        md.Append("| task | metrics | score | batch | lr | epoch | train examples | minutes |" + (glue ? " paper (PoNet) |" : "") + "\n");
        md.Append("|---|---|---|---|---|---|---|---|" + (glue ? "---|" : "") + "\n");
        foreach (var task in suite)
        {
            var r = results.FirstOrDefault(x => x.Task == task.Name);
            string paper = !glue ? "" : task.Name == "mnli"
                ? $" {GlueTasks.PaperPoNet["mnli"]:F2}/{GlueTasks.PaperPoNet["mnli-mm"]:F2} |"
                : string.Create(CultureInfo.InvariantCulture, $" {GlueTasks.PaperPoNet[task.Name]:F2} |");
            if (r is null)
            {
                md.Append($"| {task.Name} | {string.Join("/", task.Metrics)} | {(Missing.Contains(task) ? "no folder" : "not run yet")} | | | | | |{paper}\n");
                continue;
            }
            md.Append(string.Create(CultureInfo.InvariantCulture,
                $"| {task.Name} | {string.Join("/", task.Metrics)} | {string.Join("/", task.Metrics.Select(m => P(r.Scores[m])))} | {r.BatchSize} | {GlueOptions.Format(r.LearningRate)} | {r.BestEpoch} | {r.TrainExamples}{(r.SkippedRows > 0 ? $" ({r.SkippedRows} skipped)" : "")} | {r.Seconds / 60:F1} |{paper}\n"));
        }
        md.Append($"| **average** | {(glue ? "the paper's: MNLI-m, MNLI-mm, F1, Spearman, MCC, accuracy" : "main metric per task")} | **{P(average)}** | | | | | |" +
                  (glue ? string.Create(CultureInfo.InvariantCulture, $" {GlueTasks.PaperPoNetAverage:F2} |") : "") + "\n");
        if (compareLine is not null) md.Append('\n').Append(compareLine).Append('\n');
        return md.ToString();
    }

    /// <summary>JSON has no NaN (an undefined correlation): null.</summary>
    static JsonNode? Number(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;

    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
