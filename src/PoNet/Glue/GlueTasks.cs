using System.Globalization;
using System.Text;
using PoNet.FineTuning;

namespace PoNet.Glue;

/// <summary>One evaluation split of a task: its name in results (dev, dev_mismatched, test) and its file.</summary>
public sealed record GlueSplit(string Name, string File);

/// <summary>
/// A transfer task: where its files are, how a line becomes an example, its classes (null: regression),
/// the metrics it reports and the one that enters the average and picks the best run.
/// </summary>
public sealed record GlueTask
{
    /// <summary>The name on the command line and in results (cola, sst2, …).</summary>
    public required string Name { get; init; }
    /// <summary>The folder of the official GLUE download (CoLA, SST-2, …), or of an offline-suite task.</summary>
    public required string Folder { get; init; }
    public required string TrainFile { get; init; }
    /// <summary>The splits scored after training; the first picks the best epoch and grid cell.</summary>
    public required IReadOnlyList<GlueSplit> Evaluations { get; init; }
    public required IGlueReader Reader { get; init; }
    /// <summary>The classes in id order; null for a regression task (STS-B).</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Result keys in the order of the table: matthews_correlation, accuracy, f1, pearson, spearman, mnli, mnli-mm.</summary>
    public required IReadOnlyList<string> Metrics { get; init; }
    /// <summary>The metrics that enter the average (one per task; MNLI both accuracies).</summary>
    public required IReadOnlyList<string> AverageMetrics { get; init; }
    /// <summary>FineTuner's name of the metric that picks the best epoch and grid cell.</summary>
    public required string Selection { get; init; }
    public int? MaxLength { get; init; }
    public string? Description { get; init; }
    public bool IsRegression => Labels is null;
    public bool IsPair => Reader.IsPair;
}

/// <summary>Reads one task file into examples: text, optional text pair, label, with file and line.</summary>
public interface IGlueReader
{
    bool IsPair { get; }

    /// <summary>The examples of <paramref name="path"/>, and the number of malformed rows skipped (QQP only).</summary>
    (List<TextExample> Examples, int Skipped) Read(string path, IReadOnlyList<string>? labels);
}

/// <summary>
/// The official GLUE TSV files as HF transformers' GLUE processors read them
/// (<c>transformers/data/processors/glue.py</c>): lines split at tabs with no quoting (a quote
/// character is text), a leading BOM dropped, the header skipped where the file has one, fields taken
/// by position (the label of MNLI, QNLI, RTE and STS-B is the last field, so MNLI's train (12 fields)
/// and dev (16 fields) read alike). Where HF skips a row (QQP's rows with too few fields, its
/// IndexError), so do we, and count it; everywhere else a short row is an error naming the line.
/// </summary>
public sealed record GlueTsvReader(bool Header, int Text, int? Pair, int Label, bool SkipShortRows = false) : IGlueReader
{
    public bool IsPair => Pair is not null;

    static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public (List<TextExample> Examples, int Skipped) Read(string path, IReadOnlyList<string>? labels)
    {
        if (!File.Exists(path)) throw new PoNetInputException($"{path}: no such file");
        PoNet.IO.StrictUtf8.Check(path); // names the line of a bad byte (the reader below decodes ahead)
        var examples = new List<TextExample>();
        int skipped = 0;
        long lineNumber = 0;
        int needed = Math.Max(Text, Math.Max(Pair ?? 0, Label < 0 ? 0 : Label)) + 1;
        int minimum = Label < 0 ? Math.Max(needed, 1 - Label) : needed;
        using var reader = new StreamReader(path, Utf8, detectEncodingFromByteOrderMarks: true);
        while (true)
        {
            string? line;
            try
            {
                line = reader.ReadLine();
            }
            catch (DecoderFallbackException)
            {
                throw PoNetInputException.AtLine(path, lineNumber + 1, "invalid UTF-8; GLUE files are UTF-8 text");
            }
            if (line is null) break;
            lineNumber++;
            if (Header && lineNumber == 1) continue;
            if (line.Length == 0) continue;
            var fields = line.Split('\t');
            if (fields.Length < minimum)
            {
                if (SkipShortRows)
                {
                    skipped++;
                    continue;
                }
                throw PoNetInputException.AtLine(path, lineNumber,
                    $"{fields.Length} tab-separated field{(fields.Length == 1 ? "" : "s")}, expected at least {minimum} (the text in field {Text + 1}" +
                    (Pair is { } p ? $", the second text in field {p + 1}" : "") + (Label < 0 ? ", the label last)" : $", the label in field {Label + 1})"));
            }
            string label = Label < 0 ? fields[^(-Label)] : fields[Label];
            examples.Add(new TextExample(path, lineNumber, fields[Text], Pair is { } pair ? fields[pair] : null, label));
        }
        if (examples.Count == 0)
            throw new PoNetInputException($"{path}: no examples{(skipped > 0 ? $" ({skipped} malformed rows skipped)" : "")}; expected the GLUE TSV layout");
        GlueLabels.Check(examples, labels);
        return (examples, skipped);
    }
}

/// <summary>JSON lines {"text", optional "text_pair", "label"}: the offline suite's files.</summary>
public sealed record JsonlReader(bool Pair) : IGlueReader
{
    public bool IsPair => Pair;

    public (List<TextExample> Examples, int Skipped) Read(string path, IReadOnlyList<string>? labels)
    {
        var examples = new TextColumns("text", Pair ? "text_pair" : null, "label").Read(path, "jsonl");
        GlueLabels.Check(examples, labels);
        return (examples, 0);
    }
}

public static class GlueLabels
{
    /// <summary>Every label in the task's set (classification) or a finite number (regression); else file:line.</summary>
    public static void Check(IEnumerable<TextExample> examples, IReadOnlyList<string>? labels)
    {
        foreach (var e in examples)
        {
            if (labels is null)
            {
                if (!double.TryParse(e.Label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v))
                    throw PoNetInputException.AtLine(e.File, e.Line, $"label '{e.Label}' is not a number; this task's label is a similarity score");
            }
            else if (!labels.Contains(e.Label!))
                throw PoNetInputException.AtLine(e.File, e.Line,
                    $"label '{e.Label}' is not one of this task's labels ({string.Join(", ", labels.Select(l => $"'{l}'"))})");
        }
    }
}

/// <summary>The eight GLUE tasks of the paper (WNLI is left out, as there), in the official download's layout.</summary>
public static class GlueTasks
{
    public const string Matthews = "matthews_correlation", Accuracy = "accuracy", F1 = "f1", Pearson = "pearson", Spearman = "spearman",
        Mnli = "mnli", MnliMismatched = "mnli-mm";

    static readonly string[] Binary = ["0", "1"];
    static readonly string[] Entailment = ["entailment", "not_entailment"];

    public static readonly IReadOnlyList<GlueTask> All =
    [
        new() { Name = "cola", Folder = "CoLA", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: false, Text: 3, Pair: null, Label: 1), Labels = Binary,
            Metrics = [Matthews], AverageMetrics = [Matthews], Selection = GlueMetrics.Matthews },
        new() { Name = "sst2", Folder = "SST-2", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 0, Pair: null, Label: 1), Labels = Binary,
            Metrics = [Accuracy], AverageMetrics = [Accuracy], Selection = GlueMetrics.Accuracy },
        new() { Name = "mrpc", Folder = "MRPC", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 3, Pair: 4, Label: 0), Labels = Binary,
            Metrics = [F1, Accuracy], AverageMetrics = [F1], Selection = GlueMetrics.F1 },
        new() { Name = "stsb", Folder = "STS-B", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 7, Pair: 8, Label: -1), Labels = null,
            Metrics = [Pearson, Spearman], AverageMetrics = [Spearman], Selection = GlueMetrics.Spearman },
        new() { Name = "qqp", Folder = "QQP", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 3, Pair: 4, Label: 5, SkipShortRows: true), Labels = Binary,
            Metrics = [F1, Accuracy], AverageMetrics = [F1], Selection = GlueMetrics.F1 },
        new() { Name = "mnli", Folder = "MNLI", TrainFile = "train.tsv",
            Evaluations = [new("dev_matched", "dev_matched.tsv"), new("dev_mismatched", "dev_mismatched.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 8, Pair: 9, Label: -1), Labels = ["contradiction", "entailment", "neutral"],
            Metrics = [Mnli, MnliMismatched], AverageMetrics = [Mnli, MnliMismatched], Selection = GlueMetrics.Accuracy },
        new() { Name = "qnli", Folder = "QNLI", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 1, Pair: 2, Label: -1), Labels = Entailment,
            Metrics = [Accuracy], AverageMetrics = [Accuracy], Selection = GlueMetrics.Accuracy },
        new() { Name = "rte", Folder = "RTE", TrainFile = "train.tsv", Evaluations = [new("dev", "dev.tsv")],
            Reader = new GlueTsvReader(Header: true, Text: 1, Pair: 2, Label: -1), Labels = Entailment,
            Metrics = [Accuracy], AverageMetrics = [Accuracy], Selection = GlueMetrics.Accuracy },
    ];

    /// <summary>The paper's dev scores (PONET.md §5), ×100, by task and metric.</summary>
    public static readonly IReadOnlyDictionary<string, double> PaperPoNet = new Dictionary<string, double>
    {
        ["mnli"] = 76.99, ["mnli-mm"] = 77.21, ["qqp"] = 87.55, ["qnli"] = 84.33, ["sst2"] = 89.22,
        ["cola"] = 45.36, ["stsb"] = 84.57, ["mrpc"] = 81.76, ["rte"] = 64.26,
    };

    public const double PaperPoNetAverage = 76.80, PaperPercentOfBert = 95.7, PaperRelativeToFNet = 4.5;

    /// <summary>The tasks named in <paramref name="names"/> (comma-separated; null: all), WNLI refused with the reason.</summary>
    public static List<GlueTask> Select(IReadOnlyList<GlueTask> tasks, string? names, string option = "--tasks")
    {
        if (names is null) return [.. tasks];
        var selected = new List<GlueTask>();
        foreach (var raw in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var name = raw.ToLowerInvariant().Replace("-", "");
            if (name == "wnli")
                throw new PoNetInputException($"{option} {names}: WNLI is left out, as in the paper (and BERT's): its dev set is adversarial to the training set");
            var task = tasks.FirstOrDefault(t => t.Name == name)
                       ?? throw new PoNetInputException($"{option} {names}: unknown task '{raw}'; expected {string.Join(", ", tasks.Select(t => t.Name))}");
            if (!selected.Contains(task)) selected.Add(task);
        }
        if (selected.Count == 0) throw new PoNetInputException($"{option} {names}: no task named");
        return selected;
    }
}
