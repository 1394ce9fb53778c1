using System.CommandLine;
using System.Globalization;
using PoNet.Glue;
using Spectre.Console;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet glue</c>: fine-tune and score one checkpoint on every GLUE task folder (or the offline suite).</summary>
internal static class GlueCommand
{
    public static Command Create()
    {
        var defaults = new GlueOptions { Data = "", Model = "", Output = "" };
        var data = new Option<string?>("--data") { Description = "The GLUE download (CoLA/, SST-2/, MRPC/, STS-B/, QQP/, MNLI/, QNLI/, RTE/), or with --suite offline the folder ponet data fetch offline-suite filled (default: its cache folder)" };
        var model = new Option<string>("--model") { Description = "Pre-trained checkpoint folder (PoNet, BERT or FNet: from its config.json)", Required = true };
        var output = new Option<string>("--out") { Description = "Run folder: one folder per task, results.json, results.md", Required = true };
        var suite = new Option<string>("--suite") { Description = "glue (the official download's layout) or offline (real labelled data reachable here)", DefaultValueFactory = _ => defaults.Suite };
        suite.AcceptOnlyFromAmong("glue", "offline");
        var tasks = new Option<string?>("--tasks") { Description = "Comma-separated tasks (default: every task folder present; WNLI is left out, as in the paper)" };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per run", DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<string>("--batch-size") { Description = "Batch size, or a comma-separated list to search", DefaultValueFactory = _ => string.Join(",", defaults.BatchSizes) };
        var lr = new Option<string>("--lr") { Description = "Learning rate (AdamW, no warm-up, linear decay), or a comma-separated list to search", DefaultValueFactory = _ => string.Join(",", defaults.LearningRates.Select(x => x.ToString("0.#####e+0", CultureInfo.InvariantCulture))) };
        var grid = new Option<bool>("--grid") { Description = "The paper's grid: batch 8,16,32,64,128 × lr 3e-5,5e-5,1e-4,3e-4 (20 runs per task), best dev per task" };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per example (pair)", DefaultValueFactory = _ => defaults.MaxLength };
        var bf16 = new Option<bool>("--bf16") { Description = "bfloat16 matrix products in training" };
        var seed = new Option<long>("--seed") { Description = "Seed of the classifier weights, batch order and dropout", DefaultValueFactory = _ => defaults.Seed };
        var compare = new Option<string?>("--compare") { Description = "Another ponet glue --out (or its results.json): adds this run's average as a ratio of that one's" };
        var threads = ThreadsOption.Create();

        var command = new Command("glue", "Fine-tune one checkpoint on every GLUE task (or the offline suite) and write the paper's metrics and average.");
        foreach (var option in new Option[] { data, model, output, suite, tasks, epochs, batch, lr, grid, maxLength, bf16, seed, compare, threads })
            command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            ThreadsOption.Apply(parse, threads);
            bool isGrid = parse.GetValue(grid);
            if (isGrid && (parse.GetResult(batch) is { Implicit: false } || parse.GetResult(lr) is { Implicit: false }))
                throw new PoNetInputException("--grid is the paper's batch × lr grid; drop --batch-size and --lr, or give lists to them instead of --grid");
            var suiteName = parse.GetValue(suite)!;
            var dataDir = parse.GetValue(data) ?? (suiteName == "offline"
                ? OfflineSuite.DefaultFolder
                : throw new PoNetInputException("--data is required for --suite glue: the folder of the GLUE download (CoLA/, SST-2/, …)"));
            var options = new GlueOptions
            {
                Data = dataDir,
                Model = parse.GetValue(model)!,
                Output = parse.GetValue(output)!,
                Suite = suiteName,
                Tasks = parse.GetValue(tasks),
                Epochs = parse.GetValue(epochs),
                BatchSizes = isGrid ? GlueOptions.PaperBatchSizes : List(parse.GetValue(batch)!, "--batch-size", int.Parse),
                LearningRates = isGrid ? GlueOptions.PaperLearningRates : List(parse.GetValue(lr)!, "--lr", s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture)),
                MaxLength = parse.GetValue(maxLength),
                BFloat16 = parse.GetValue(bf16),
                Seed = parse.GetValue(seed),
                Compare = parse.GetValue(compare),
            };
            if (suiteName == "offline" && !Directory.Exists(options.Data))
                throw new PoNetInputException($"{options.Data}: no such folder; run ponet data fetch offline-suite first (or pass --data)");
            var runner = new GlueRunner(options, suiteName == "offline" ? OfflineSuite.Tasks : GlueTasks.All);
            var console = ConsoleProgress.Console();
            console.WriteLine($"ponet glue: {runner.ModelType} from {options.Model}; tasks {string.Join(", ", runner.Present.Select(t => t.Name))}" +
                              (runner.Missing.Count > 0 ? $" (no folder: {string.Join(", ", runner.Missing.Select(t => t.Folder))})" : "") +
                              string.Create(CultureInfo.InvariantCulture, $"; {runner.Cells.Count} run(s) per task, {options.Epochs} epochs, max length {options.MaxLength}"));
            string resumeLine = "ponet glue " + string.Join(" ", parse.Tokens.Select(t => t.Value.Contains(' ') ? $"'{t.Value}'" : t.Value)) +
                                " (the same command: finished tasks and runs are skipped, the interrupted run resumes)";
            string where = "";
            return TrainingRun.Run(cancel => ConsoleProgress.Run(console, Console.IsOutputRedirected, "glue", runner.Present.Count, progress =>
                runner.Run(p =>
                {
                    if (p.Step is { } at) where = $"{p.Task} {p.Cell} step {at.Step}";
                    if (p.Line is { } line) progress.Line(line);
                    if (p.Step is { } s)
                    {
                        if (s.Evaluation is { } e)
                            progress.Line(string.Create(CultureInfo.InvariantCulture, $"{p.Task} {p.Cell} epoch {e.Epoch}: train loss {e.TrainLoss:F4}, dev loss {e.DevLoss:F4}, ") +
                                          string.Join(", ", e.Metrics.Select(m => string.Create(CultureInfo.InvariantCulture, $"{m.Key} {m.Value:F4}"))));
                        progress.Report(p.TaskIndex + (p.CellIndex + (double)s.Step / s.Steps) / p.Cells, string.Create(CultureInfo.InvariantCulture,
                            $"task {p.TaskIndex + 1}/{p.Tasks} {p.Task} · run {p.CellIndex + 1}/{p.Cells} {p.Cell} · epoch {s.Epoch}/{s.Epochs} step {s.Step}/{s.Steps} · loss {s.Loss:F4} · {TrainingRun.Rate(s.TokensPerSecond)} tokens/s · run ETA {TrainingRun.Duration(s.Eta)}"));
                    }
                }, cancel)),
                () => 0,
                resumeLine,
                () =>
                {
                    Console.Write(File.ReadAllText(Path.Combine(options.Output, GlueRunner.ResultsMarkdown)));
                    console.WriteLine($"results: {Path.Combine(options.Output, GlueRunner.ResultsJson)}, {Path.Combine(options.Output, GlueRunner.ResultsMarkdown)}");
                    return ExitCodes.Ok;
                },
                position: () => where);
        }));
        return command;
    }

    static List<T> List<T>(string text, string option, Func<string, T> parse)
    {
        var list = new List<T>();
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            try
            {
                list.Add(parse(item));
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                throw new PoNetInputException($"{option} {text}: '{item}' is not a number");
            }
        }
        if (list.Count == 0) throw new PoNetInputException($"{option} {text}: expected a value or a comma-separated list");
        return list;
    }
}
