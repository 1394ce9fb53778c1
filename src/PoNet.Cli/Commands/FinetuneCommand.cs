using System.CommandLine;
using System.Globalization;
using PoNet.FineTuning;
using PoNet.Cli.Plots;
using Spectre.Console;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet finetune</c>: sequence classification / regression / sentence pairs from TSV, CSV or JSONL (docs/MODEL.md §5).</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var defaults = new FineTuneOptions { Train = "", Dev = "", Init = "", Output = "" };
        var train = new Option<string?>("--train") { Description = "Training data: .tsv, .csv or .jsonl (required unless --resume)" };
        var dev = new Option<string?>("--dev") { Description = "Dev data, same format: evaluated after every epoch (required unless --resume)" };
        var init = new Option<string?>("--init") { Description = "Pre-trained model folder (config.json, weights, vocab.txt) (required unless --resume)" };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints/, best/ (best model), results.json, metrics.csv, curves.png", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its last checkpoint, with its saved settings (its data and --init must still be there)" };
        var vocab = new Option<string?>("--vocab") { Description = "Tokenizer, when the --init folder has none" };
        var textColumn = new Option<string>("--text-column") { Description = "Column (header name, JSON key, or 0-based index) of the text", DefaultValueFactory = _ => defaults.TextColumn };
        var pairColumn = new Option<string?>("--text-pair-column") { Description = "Column of the second text, for sentence-pair tasks" };
        var labelColumn = new Option<string>("--label-column") { Description = "Column of the label", DefaultValueFactory = _ => defaults.LabelColumn };
        var format = new Option<string?>("--format") { Description = "tsv, csv or jsonl (default: from the file extension)" };
        var noHeader = new Option<bool>("--no-header") { Description = "TSV/CSV without a header row: name columns by index (e.g. CoLA's train.tsv)" };
        var labels = new Option<string?>("--labels") { Description = "Comma-separated classes in id order (default: sorted training labels)" };
        var task = new Option<string>("--task") { Description = "classification, regression or auto (regression when labels are numbers, not all integers)", DefaultValueFactory = _ => defaults.Task };
        task.AcceptOnlyFromAmong("auto", "classification", "regression");
        var metric = new Option<string?>("--metric") { Description = "Metric that picks the best epoch: accuracy, f1, matthews, pearson, spearman" };
        metric.AcceptOnlyFromAmong([.. GlueMetrics.Classification, .. GlueMetrics.Regression]);
        var epochs = new Option<int>("--epochs") { Description = "Epochs", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Examples per step", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Learning rate (AdamW, no warm-up, linear decay to 0)", DefaultValueFactory = _ => defaults.LearningRate };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => defaults.WeightDecay };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per text; beyond the model's positions the table is tiled (long documents, up to 4096)", DefaultValueFactory = _ => defaults.MaxLength };
        var sentenceSegments = new Option<bool?>("--sentence-segments") { Description = "One segment per sentence (default: on when positions are tiled and there is no text pair)" };
        var bf16 = new Option<bool>("--bf16") { Description = "bfloat16 matrix products" };
        var seed = new Option<long>("--seed") { Description = "Seed of the classifier weights, batch order and dropout", DefaultValueFactory = _ => defaults.Seed };
        var threads = ThreadsOption.Create();

        var command = new Command("finetune", "Fine-tune a PoNet checkpoint for text (pair) classification or regression.");
        foreach (var option in new Option[] { train, dev, init, output, resume, vocab, textColumn, pairColumn, labelColumn, format, noHeader, labels, task, metric,
                     epochs, batchSize, lr, weightDecay, maxLength, sentenceSegments, bf16, seed, threads })
            command.Options.Add(option);

        command.SetAction(parse => ExitCodes.Run(() =>
        {
            if (parse.GetValue(resume))
            {
                var given = command.Options.Where(o => o != output && o != resume && o != threads && parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new PoNetInputException($"--resume continues with the run's saved settings; drop {string.Join(", ", given)}");
                ThreadsOption.ApplyOnResume(parse, threads, parse.GetValue(output)!, FineTuner.Kind);
                return Run(FineTuner.SavedOptions(parse.GetValue(output)!), resume: true);
            }
            ThreadsOption.Apply(parse, threads);
            foreach (var required in new[] { train, dev, init })
                if (parse.GetValue(required) is null) throw new PoNetInputException($"{required.Name} is required (except with --resume)");
            var options = new FineTuneOptions
            {
                // Absolute paths: the saved settings must still find them when resumed from elsewhere.
                Train = Path.GetFullPath(parse.GetValue(train)!),
                Dev = Path.GetFullPath(parse.GetValue(dev)!),
                Init = Path.GetFullPath(parse.GetValue(init)!),
                Output = parse.GetValue(output)!,
                Vocab = parse.GetValue(vocab),
                TextColumn = parse.GetValue(textColumn)!,
                TextPairColumn = parse.GetValue(pairColumn),
                LabelColumn = parse.GetValue(labelColumn)!,
                Format = parse.GetValue(format),
                NoHeader = parse.GetValue(noHeader),
                Labels = parse.GetValue(labels)?.Split(',').Select(l => l.Trim()).ToList(),
                Task = parse.GetValue(task)!,
                Metric = parse.GetValue(metric),
                Epochs = parse.GetValue(epochs),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                WeightDecay = parse.GetValue(weightDecay),
                MaxLength = parse.GetValue(maxLength),
                SentenceSegments = parse.GetValue(sentenceSegments),
                BFloat16 = parse.GetValue(bf16),
                Seed = parse.GetValue(seed),
            };
            return Run(options, resume: false);
        }));
        return command;
    }

    static int Run(FineTuneOptions options, bool resume)
    {
        var console = ConsoleProgress.Console();
        var tuner = new FineTuner(options);
        var config = tuner.Model.Config;
        console.WriteLine($"ponet finetune: {(tuner.IsRegression ? "regression" : $"{tuner.LabelSet!.Count}-class classification ({string.Join(", ", tuner.LabelSet.Labels)})")}, " +
                          $"{tuner.TrainCount} train / {tuner.DevCount} dev examples, max length {options.MaxLength}" +
                          (tuner.TiledFrom is { } p ? $" (position table tiled from {p} to {config.MaxPositionEmbeddings})" : "") +
                          (tuner.Encoder.SentenceSegments ? ", one segment per sentence" : "") + $"; best epoch by {tuner.Metric}" +
                          (resume ? $"; resuming {options.Output}" : ""));
        console.WriteLine($"  {tuner.LoadReport}");
        var png = Path.Combine(options.Output, LraCommand.PlotFile);
        return TrainingRun.Run(cancel => ConsoleProgress.Run(console, Console.IsOutputRedirected, "fine-tuning", tuner.Steps, progress =>
            {
                bool finished = tuner.Run(p =>
                {
                    if (p.Evaluation is { } e)
                        progress.Line(Invariant($"epoch {e.Epoch}: train loss {e.TrainLoss:F4}, dev loss {e.DevLoss:F4}, ") +
                                      string.Join(", ", e.Metrics.Select(m => Invariant($"{m.Key} {m.Value:F4}"))));
                    progress.Report(p.Step, Invariant(
                        $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps} · loss {p.Loss:F4} · lr {p.LearningRate:G3} · {p.TokensPerSecond:F0} tokens/s · ETA {TrainingRun.Duration(p.Eta)}"));
                }, cancel, resume);
                if (tuner.Warning is { } warning) Console.Error.WriteLine($"ponet: warning: {warning}");
                if (TrainingCurves.MissingFontWarning() is { } noFont) console.WriteLine($"warning: {noFont}");
                TrainingCurves.SavePng(tuner.Rows, "PoNet fine-tuning", png);
                return finished;
            }),
            () => tuner.Step,
            $"ponet finetune --out {options.Output} --resume",
            () =>
            {
                var names = tuner.Epochs[0].Metrics.Keys.ToList();
                var best = tuner.Best;
                var table = new Table().Title("fine-tuning (dev)").AddColumn("epoch").AddColumn(new TableColumn("train loss").RightAligned())
                    .AddColumn(new TableColumn("dev loss").RightAligned());
                foreach (var name in names) table.AddColumn(new TableColumn(name).RightAligned());
                foreach (var e in tuner.Epochs)
                    table.AddRow([(e.Step == best?.Step ? "*" : "") + e.Epoch, Invariant($"{e.TrainLoss:F4}"), Invariant($"{e.DevLoss:F4}"),
                        .. names.Select(n => Invariant($"{e.Metrics[n]:F4}"))]);
                console.Write(table);
                console.WriteLine(Invariant($"best: epoch {best!.Epoch}, {tuner.Metric} {best.Metrics[tuner.Metric]:F4}; model: {Path.Combine(options.Output, FineTuner.BestDir)}; results: {Path.Combine(options.Output, FineTuner.ResultsFile)}"));
                return ExitCodes.Ok;
            });
    }

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
