using System.Text.Json;
using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Glue;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Transfer;

/// <summary>
/// <c>ponet glue</c> on fixture folders in the official GLUE download's layout (Data/glue): CoLA without a
/// header, MNLI's 12- and 16-field files, quotes that are text, QQP's broken rows, a BOM.
/// </summary>
[Collection(nameof(ConsoleRedirection))]
public class GlueTests
{
    static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Data", "glue");

    static (int Code, string Out, string Error) Run(params string[] args) => CliRun.Run(args);

    static readonly Lazy<string> TinyModel = new(() =>
    {
        var dir = Path.Combine(TransferTestData.Temp(), "tiny-glue");
        torch.manual_seed(11);
        ModelFolder.Save(new PoNetForPreTraining(new PoNetConfig
        {
            VocabSize = 30522, HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, MaxPositionEmbeddings = 64,
        }), VocabPath, dir);
        return dir;
    });

    static GlueTask Task(string name) => GlueTasks.All.Single(t => t.Name == name);

    static List<TextExample> Read(string task, string file) =>
        Task(task).Reader.Read(Path.Combine(Fixture, Task(task).Folder, file), Task(task).Labels).Examples;

    /// <summary>A copy of the fixture folder that a test may damage.</summary>
    static string CopyOfFixture(params string[] tasks)
    {
        var root = TransferTestData.Temp("ponet-glue-data-");
        foreach (var folder in Directory.GetDirectories(Fixture))
        {
            if (tasks.Length > 0 && !tasks.Contains(Path.GetFileName(folder))) continue;
            var target = Directory.CreateDirectory(Path.Combine(root, Path.GetFileName(folder))).FullName;
            foreach (var file in Directory.GetFiles(folder)) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
        return root;
    }

    [Fact]
    public void ReadersTakeTheFieldsHfsGlueProcessorsTake()
    {
        var lines = File.ReadAllLines(Path.Combine(Fixture, "CoLA", "train.tsv"));
        var cola = Read("cola", "train.tsv");
        Assert.Equal(lines.Length, cola.Count); // no header: the first line is an example
        Assert.Equal(lines[0].Split('\t')[3], cola[0].Text);
        Assert.Equal("The \"more\" you eat, the \"less\" you want .", cola[1].Text); // quotes are text
        Assert.Equal((1L, "0"), (cola[0].Line, cola[0].Label));

        var sst = Read("sst2", "train.tsv");
        Assert.Equal(File.ReadAllLines(Path.Combine(Fixture, "SST-2", "train.tsv")).Length - 1, sst.Count);
        Assert.Equal("a \"great\" film , \" she said ", sst[1].Text); // an unbalanced quote is text too
        Assert.DoesNotContain('\uFEFF', sst[0].Text);

        var mrpc = Read("mrpc", "train.tsv");
        Assert.Equal(("1", 2L), (mrpc[0].Label, mrpc[0].Line));
        Assert.StartsWith("Referring to him as only \" the witness \"", mrpc[0].TextPair);

        var stsb = Read("stsb", "dev.tsv");
        var stsbLine = File.ReadAllLines(Path.Combine(Fixture, "STS-B", "dev.tsv"))[1].Split('\t');
        Assert.Equal((stsbLine[7], stsbLine[8], stsbLine[9]), (stsb[0].Text, stsb[0].TextPair, stsb[0].Label));

        // MNLI: 12 fields in train, 16 in dev; the label is the last (gold_label) in both.
        var train = Read("mnli", "train.tsv");
        var dev = Read("mnli", "dev_matched.tsv");
        var devLine = File.ReadAllLines(Path.Combine(Fixture, "MNLI", "dev_matched.tsv"))[1].Split('\t');
        Assert.Equal(16, devLine.Length);
        Assert.Equal((devLine[8], devLine[9], devLine[15]), (dev[0].Text, dev[0].TextPair, dev[0].Label));
        Assert.Equal(18, train.Count);
        Assert.Equal(["entailment", "neutral", "contradiction"], train.Take(3).Select(e => e.Label));

        // QQP: a question broken over two lines makes two short rows; both are skipped and counted.
        var (qqp, skipped) = Task("qqp").Reader.Read(Path.Combine(Fixture, "QQP", "train.tsv"), Task("qqp").Labels);
        Assert.Equal(2, skipped);
        Assert.Equal(16, qqp.Count);
        Assert.DoesNotContain(qqp, e => e.Text.Contains("Android"));

        var rte = Read("rte", "dev.tsv");
        Assert.Equal(["entailment", "not_entailment"], rte.Take(2).Select(e => e.Label));
    }

    [Fact]
    public void GlueRunsEveryTaskWritesThePapersMetricsAndAverageAndSkipsFinishedTasks()
    {
        var output = TransferTestData.Temp();
        var (code, stdout, error) = Run("glue", "--data", Fixture, "--model", TinyModel.Value, "--out", output,
            "--epochs", "1", "--batch-size", "8", "--lr", "1e-3", "--max-length", "32");
        Assert.True(code == 0, error + stdout);
        Assert.Contains("tasks cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte", stdout); // WNLI is present but left out
        Assert.Contains("2 malformed rows", stdout);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, GlueRunner.ResultsJson))).RootElement;
        Assert.True(results.GetProperty("complete").GetBoolean());
        Assert.Equal("ponet", results.GetProperty("model_type").GetString());
        var tasks = results.GetProperty("tasks");
        var expected = new Dictionary<string, string[]>
        {
            ["cola"] = ["matthews_correlation"], ["sst2"] = ["accuracy"], ["mrpc"] = ["f1", "accuracy"], ["stsb"] = ["pearson", "spearman"],
            ["qqp"] = ["f1", "accuracy"], ["mnli"] = ["mnli", "mnli-mm"], ["qnli"] = ["accuracy"], ["rte"] = ["accuracy"],
        };
        Assert.Equal(expected.Keys.Order(), tasks.EnumerateObject().Select(p => p.Name).Order());
        foreach (var (task, metrics) in expected)
        {
            var scores = tasks.GetProperty(task).GetProperty("scores");
            Assert.Equal(metrics.Order(), scores.EnumerateObject().Select(p => p.Name).Order());
        }
        Assert.Equal(2, tasks.GetProperty("qqp").GetProperty("skipped_rows").GetInt32());
        Assert.Equal(16, tasks.GetProperty("qqp").GetProperty("train_examples").GetInt32());

        // The scores are those of the saved best model on the dev files: recompute one with classify.
        var mrpcScores = tasks.GetProperty("mrpc").GetProperty("scores");
        var best = Path.Combine(output, "mrpc", "b8-lr1e-3", FineTuner.BestDir);
        var predictions = Path.Combine(output, "mrpc-dev.jsonl");
        (code, _, error) = Run("classify", "--model", best, "--input", Path.Combine(output, "mrpc", GlueRunner.DataFolder, "dev.jsonl"),
            "--text-pair-column", "text_pair", "--output", predictions, "--max-length", "32");
        Assert.True(code == 0, error);
        var gold = Read("mrpc", "dev.tsv").Select(e => e.Label == "1" ? 1 : 0).ToList();
        var predicted = File.ReadAllLines(predictions).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("label").GetString() == "1" ? 1 : 0).ToList();
        Assert.Equal(GlueMetrics.AccuracyOf(predicted, gold), mrpcScores.GetProperty("accuracy").GetDouble(), 12);
        Assert.Equal(GlueMetrics.F1Of(predicted, gold), mrpcScores.GetProperty("f1").GetDouble(), 12);

        // The average is the paper's: nine numbers, MNLI-m and MNLI-mm both, F1 for MRPC/QQP, Spearman for STS-B.
        double S(string task, string metric) => tasks.GetProperty(task).GetProperty("scores").GetProperty(metric).GetDouble();
        double[] nine = [S("mnli", "mnli"), S("mnli", "mnli-mm"), S("qqp", "f1"), S("qnli", "accuracy"), S("sst2", "accuracy"),
            S("cola", "matthews_correlation"), S("stsb", "spearman"), S("mrpc", "f1"), S("rte", "accuracy")];
        Assert.Equal(nine.Average(), results.GetProperty("average").GetDouble(), 12);
        var markdown = File.ReadAllText(Path.Combine(output, GlueRunner.ResultsMarkdown));
        Assert.Contains("| mnli | mnli/mnli-mm |", markdown);
        Assert.Contains("76.99/77.21", markdown); // the paper's column

        // A second run skips every finished task and rewrites the same results.
        var before = File.ReadAllText(Path.Combine(output, "cola", GlueRunner.TaskResult));
        (code, stdout, error) = Run("glue", "--data", Fixture, "--model", TinyModel.Value, "--out", output,
            "--epochs", "1", "--batch-size", "8", "--lr", "1e-3", "--max-length", "32", "--compare", output);
        Assert.True(code == 0, error);
        Assert.Equal(8, stdout.Split('\n').Count(l => l.Contains("finished before; skipped")));
        Assert.Equal(before, File.ReadAllText(Path.Combine(output, "cola", GlueRunner.TaskResult)));
        var compared = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, GlueRunner.ResultsJson))).RootElement.GetProperty("compare");
        Assert.Equal(1.0, compared.GetProperty("ratio").GetDouble(), 12);
        Assert.Equal(9, compared.GetProperty("over").GetArrayLength());

        // Other settings into the same folder are refused, not mixed in.
        (code, _, error) = Run("glue", "--data", Fixture, "--model", TinyModel.Value, "--out", output, "--epochs", "2", "--tasks", "rte");
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(output, "rte", GlueRunner.TaskResult), error);
    }

    [Fact]
    public void AGridKeepsTheBestRunPerTaskAndAnInterruptedRunResumes()
    {
        var output = TransferTestData.Temp();
        var options = new GlueOptions
        {
            Data = Fixture, Model = TinyModel.Value, Output = output, Tasks = "sst2", Epochs = 2, BatchSizes = [4, 8], LearningRates = [1e-4, 1e-2], MaxLength = 32,
        };
        // Stop in the middle of the third run (after its first step's checkpoint).
        using var cancel = new CancellationTokenSource();
        var runner = new GlueRunner(options, GlueTasks.All);
        bool finished = runner.Run(p =>
        {
            if (p.CellIndex == 2 && p.Step is { Step: 1 }) cancel.Cancel();
        }, cancel.Token);
        Assert.False(finished);
        Assert.False(File.Exists(Path.Combine(output, "sst2", GlueRunner.TaskResult)));
        Assert.True(File.Exists(Path.Combine(output, "sst2", "b4-lr1e-4", FineTuner.ResultsFile)));

        // The interrupted task's runs are not mixed with other settings.
        var other = Assert.Throws<PoNetInputException>(() => new GlueRunner(options with { Epochs = 3 }, GlueTasks.All).Run());
        Assert.Contains($"{Path.Combine(output, "sst2", "b4-lr1e-4")}: holds a run with other settings (--epochs 2 (asked: 3))", other.Message);

        var resumed = new List<string>();
        Assert.True(new GlueRunner(options, GlueTasks.All).Run(p => { if (p.Line is { } l) resumed.Add(l); }));
        Assert.Contains(resumed, l => l.Contains("b8-lr1e-4") && l.Contains("resuming at step"));
        var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "sst2", GlueRunner.TaskResult))).RootElement.GetProperty("result");
        var cells = new[] { "b4-lr1e-4", "b4-lr1e-2", "b8-lr1e-4", "b8-lr1e-2" }.Select(c =>
            JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "sst2", c, FineTuner.ResultsFile))).RootElement.GetProperty("best").GetDouble()).ToList();
        Assert.Equal(cells.Max(), result.GetProperty("selection_score").GetDouble(), 12);
        int winner = cells.IndexOf(cells.Max());
        Assert.Equal(new[] { 4, 4, 8, 8 }[winner], result.GetProperty("batch_size").GetInt32());
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("fnet")]
    public void BertAndFNetCheckpointsRunThroughGlueByTheirConfig(string arch)
    {
        var model = Path.Combine(TransferTestData.Temp(), arch);
        torch.manual_seed(12);
        ModelFolder.Save(new PoNetForPreTraining(new PoNetConfig
        {
            VocabSize = 30522, HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32, MaxPositionEmbeddings = 64,
        }.WithArchitecture(arch)), VocabPath, model);
        var output = TransferTestData.Temp();
        var (code, stdout, error) = Run("glue", "--data", Fixture, "--model", model, "--out", output, "--tasks", "rte", "--epochs", "1", "--max-length", "32");
        Assert.True(code == 0, error + stdout);
        Assert.Contains($"ponet glue: {arch} from", stdout);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, GlueRunner.ResultsJson))).RootElement;
        Assert.Equal(arch, results.GetProperty("model_type").GetString());
        var best = PoNetConfig.Load(Path.Combine(output, "rte", "b32-lr5e-5", FineTuner.BestDir, "config.json"));
        Assert.Equal(arch, best.ModelType);
    }

    [Theory]
    [InlineData("SST-2/dev.tsv", null, "SST-2/dev.tsv: no such file")]
    [InlineData("CoLA/train.tsv", "gj04\t1\n", "CoLA/train.tsv:1: 2 tab-separated fields, expected at least 4")]
    [InlineData("MNLI/dev_mismatched.tsv", "header\n0\t1\t2\t3\t4\t5\t6\t7\ta\tb\tmaybe\n", "MNLI/dev_mismatched.tsv:2: label 'maybe' is not one of this task's labels ('contradiction', 'entailment', 'neutral')")]
    [InlineData("STS-B/train.tsv", "h\n0\t1\t2\t3\t4\t5\t6\ta\tb\tfive\n", "STS-B/train.tsv:2: label 'five' is not a number")]
    [InlineData("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\t1\n", "RTE/train.tsv:2: label '1' is not one of this task's labels")]
    [InlineData("SST-2/train.tsv", "sentence\tlabel\nok\t0\n\xff\t1\n", "SST-2/train.tsv:3: invalid UTF-8")]
    public void ABadGlueFileIsOneLineNamingFileAndLineAndNothingIsWritten(string file, string? content, string expected)
    {
        var data = CopyOfFixture();
        var path = Path.Combine(data, file);
        if (content is null) File.Delete(path);
        else File.WriteAllBytes(path, content.Contains('\xff') ? System.Text.Encoding.Latin1.GetBytes(content) : System.Text.Encoding.UTF8.GetBytes(content));
        var output = Path.Combine(TransferTestData.Temp(), "out");
        var (code, stdout, error) = Run("glue", "--data", data, "--model", TinyModel.Value, "--out", output, "--epochs", "1");
        Assert.Equal(2, code);
        Assert.Single(error.Trim().Split('\n'));
        var wanted = Path.Combine(data, expected.Split(':')[0]) + expected[expected.IndexOf(':')..];
        Assert.True(error.Contains(wanted), $"expected «{wanted}» in «{error}»");
        Assert.False(Directory.Exists(output), "nothing is written for bad input");
        Assert.Equal("", stdout);
    }

    [Fact]
    public void TaskSelectionAndMissingFoldersAreReported()
    {
        var data = CopyOfFixture("RTE", "CoLA");
        var output = Path.Combine(TransferTestData.Temp(), "out");
        var (code, _, error) = Run("glue", "--data", data, "--model", TinyModel.Value, "--out", output, "--tasks", "rte,mnli");
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(data, "MNLI") + ": no such folder", error);
        (code, _, error) = Run("glue", "--data", data, "--model", TinyModel.Value, "--out", output, "--tasks", "wnli");
        Assert.Equal(2, code);
        Assert.Contains("WNLI is left out, as in the paper", error);
        (code, _, error) = Run("glue", "--data", TransferTestData.Temp(), "--model", TinyModel.Value, "--out", output);
        Assert.Equal(2, code);
        Assert.Contains("holds none of the task folders CoLA, SST-2", error);
        Assert.False(Directory.Exists(output));
    }

    /// <summary>An offline-suite folder: imdb and spam as JSON lines with train/dev/test.</summary>
    static string OfflineFixture()
    {
        var root = TransferTestData.Temp("ponet-offline-");
        string[] good = ["good", "great", "fine"], bad = ["bad", "awful", "poor"];
        foreach (var (task, labels) in new[] { ("imdb", new[] { "neg", "pos" }), ("spam", new[] { "ham", "spam" }) })
        {
            Directory.CreateDirectory(Path.Combine(root, task));
            foreach (var (split, n) in new[] { ("train", 24), ("dev", 8), ("test", 10) })
                File.WriteAllLines(Path.Combine(root, task, split + ".jsonl"), Enumerable.Range(0, n).Select(i =>
                    JsonSerializer.Serialize(new { text = $"the film was {(i % 2 == 1 ? good : bad)[i % 3]} today", label = labels[i % 2], id = i })));
        }
        return root;
    }

    [Fact]
    public void TheOfflineSuiteIsScoredOnTestAndAveragesOneMetricPerTask()
    {
        var data = OfflineFixture();
        var output = TransferTestData.Temp();
        var (code, stdout, error) = Run("glue", "--suite", "offline", "--data", data, "--model", TinyModel.Value, "--out", output,
            "--epochs", "2", "--batch-size", "8", "--lr", "3e-3", "--max-length", "16");
        Assert.True(code == 0, error + stdout);
        Assert.Contains("no folder: hyperpartisan, reuters", stdout);
        var results = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, GlueRunner.ResultsJson))).RootElement;
        Assert.False(results.GetProperty("complete").GetBoolean());
        Assert.Equal(["hyperpartisan", "reuters"], results.GetProperty("missing_tasks").EnumerateArray().Select(e => e.GetString()));
        var imdb = results.GetProperty("tasks").GetProperty("imdb");
        var spam = results.GetProperty("tasks").GetProperty("spam");
        // Scores are the test split's; dev is kept beside it.
        Assert.Equal(imdb.GetProperty("splits").GetProperty("test").GetProperty("accuracy").GetDouble(), imdb.GetProperty("scores").GetProperty("accuracy").GetDouble());
        Assert.True(imdb.GetProperty("splits").TryGetProperty("dev", out _));
        Assert.Equal(spam.GetProperty("splits").GetProperty("test").GetProperty("f1").GetDouble(), spam.GetProperty("scores").GetProperty("f1").GetDouble());
        double average = (imdb.GetProperty("scores").GetProperty("accuracy").GetDouble() + spam.GetProperty("scores").GetProperty("f1").GetDouble()) / 2;
        Assert.Equal(average, results.GetProperty("average").GetDouble(), 12);
        Assert.Contains("scores ×100 on test", File.ReadAllText(Path.Combine(output, GlueRunner.ResultsMarkdown)));

        // A label outside the task's set is refused with file and line, before anything is written.
        File.AppendAllText(Path.Combine(data, "spam", "test.jsonl"), "{\"text\": \"x\", \"label\": \"phishing\"}\n");
        var other = Path.Combine(TransferTestData.Temp(), "out");
        (code, _, error) = Run("glue", "--suite", "offline", "--data", data, "--model", TinyModel.Value, "--out", other);
        Assert.Equal(2, code);
        Assert.Contains(Path.Combine(data, "spam", "test.jsonl") + ":11: label 'phishing' is not one of this task's labels ('ham', 'spam')", error);
        Assert.False(Directory.Exists(other));
    }
}
