using System.CommandLine;
using System.Globalization;
using PoNet.Cli.Plots;
using PoNet.Pretraining;
using Spectre.Console;

namespace PoNet.Cli.Commands;

/// <summary><c>ponet pretrain</c>: MLM + SSO pre-training on a folder of text (docs/MODEL.md §4).</summary>
internal static class PretrainCommand
{
    public const string PlotFile = "curves.png";

    public static Command Create()
    {
        var defaults = new PretrainOptions { Corpus = "", Output = "" };
        var data = defaults.Data;
        var corpus = new Option<string?>("--corpus") { Description = "Folder (or file) of UTF-8 text: documents separated by blank lines" };
        var vocab = new Option<string?>("--vocab") { Description = "vocab.txt, tokenizer.json or a folder with one (default: the --init folder)" };
        var init = new Option<string?>("--init") { Description = "Continue pre-training this checkpoint folder instead of starting from random weights" };
        var output = new Option<string>("--out") { Description = "Run folder: checkpoints/, model/, results.json, metrics.csv, curves.png", Required = true };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its checkpoint, with its saved settings" };
        var arch = new Option<string>("--arch") { Description = "Architecture from scratch (HF model_type): ponet, bert or fnet", DefaultValueFactory = _ => defaults.Arch };
        arch.AcceptOnlyFromAmong([.. PoNet.Model.ModelFamily.All.Select(f => f.ModelType)]);
        var objective = new Option<string?>("--objective") { Description = "mlm, mlm+nsp or mlm+sso (default: PoNet mlm+sso, BERT and FNet mlm+nsp, as published)" };
        objective.AcceptOnlyFromAmong("mlm", "mlm+nsp", "mlm+sso");
        var layers = new Option<int>("--layers") { Description = "Encoder layers (from scratch)", DefaultValueFactory = _ => defaults.Layers };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size (from scratch)", DefaultValueFactory = _ => defaults.Hidden };
        var heads = new Option<int>("--heads") { Description = "Heads (from scratch)", DefaultValueFactory = _ => defaults.Heads };
        var ffn = new Option<int>("--ffn") { Description = "Feed-forward size (from scratch)", DefaultValueFactory = _ => defaults.Ffn };
        var dropout = new Option<double>("--dropout") { Description = "hidden_dropout_prob (from scratch)", DefaultValueFactory = _ => defaults.Dropout };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per example; from scratch also max_position_embeddings", DefaultValueFactory = _ => data.MaxLength };
        var steps = new Option<int>("--steps") { Description = "Optimiser steps", DefaultValueFactory = _ => defaults.Steps };
        var batchSize = new Option<int>("--batch-size") { Description = "Examples per step", DefaultValueFactory = _ => defaults.BatchSize };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate (AdamW, β 0.9/0.999, ε 1e-8)", DefaultValueFactory = _ => defaults.LearningRate };
        var warmup = new Option<int>("--warmup") { Description = "Linear warm-up steps, then linear decay to 0", DefaultValueFactory = _ => defaults.Warmup };
        var weightDecay = new Option<double>("--weight-decay") { Description = "AdamW weight decay", DefaultValueFactory = _ => defaults.WeightDecay };
        var clip = new Option<double>("--clip") { Description = "Clip the global gradient norm (0: off)", DefaultValueFactory = _ => defaults.ClipGradNorm };
        var bf16 = new Option<bool>("--bf16") { Description = "bfloat16 matrix products (about 2x faster on CPUs with AVX512-BF16)" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Evaluate on held-out documents (and checkpoint) every this many steps", DefaultValueFactory = _ => defaults.EvalEvery };
        var evalExamples = new Option<int>("--eval-examples") { Description = "Held-out examples per evaluation", DefaultValueFactory = _ => defaults.EvalExamples };
        var saveEvery = new Option<int>("--save-every") { Description = "Also checkpoint every this many steps (0: at evaluations only)", DefaultValueFactory = _ => defaults.SaveEvery };
        var dupeFactor = new Option<int>("--dupe-factor") { Description = "Passes over the corpus, each with fresh randomness", DefaultValueFactory = _ => data.DupeFactor };
        var shortSeq = new Option<double>("--short-seq-prob") { Description = "Probability of a shorter random target length", DefaultValueFactory = _ => data.ShortSequenceProbability };
        var pool = new Option<int>("--document-pool") { Description = "Recent documents kept for SSO label 2 (B from another document)", DefaultValueFactory = _ => data.DocumentPoolSize };
        var shuffle = new Option<int>("--shuffle-buffer") { Description = "Examples in the shuffle buffer", DefaultValueFactory = _ => data.ShuffleBufferSize };
        var heldOut = new Option<int>("--held-out-every") { Description = "Hold out every k-th document for evaluation", DefaultValueFactory = _ => data.HeldOutEvery };
        var seed = new Option<long>("--seed") { Description = "Seed of weights, data order, masks and dropout", DefaultValueFactory = _ => data.Seed };
        var threads = ThreadsOption.Create();

        var command = new Command("pretrain", "Pre-train PoNet (MLM + sentence structural objective), BERT or FNet (MLM + next-sentence prediction) on a folder of text files.");
        foreach (var option in new Option[] { corpus, vocab, init, output, resume, arch, objective, layers, hidden, heads, ffn, dropout, maxLength, steps, batchSize, lr,
                     warmup, weightDecay, clip, bf16, evalEvery, evalExamples, saveEvery, dupeFactor, shortSeq, pool, shuffle, heldOut, seed, threads })
            command.Options.Add(option);

        command.SetAction(parse => ExitCodes.Run(() =>
        {
            bool isResume = parse.GetValue(resume);
            var outDir = parse.GetValue(output)!;
            if (isResume)
            {
                var given = command.Options.Where(o => o != output && o != resume && o != threads && parse.GetResult(o) is { Implicit: false }).Select(o => o.Name).ToList();
                if (given.Count > 0)
                    throw new PoNetInputException($"--resume continues with the run's saved settings; drop {string.Join(", ", given)}");
                ThreadsOption.ApplyOnResume(parse, threads, outDir, Pretrainer.Kind);
            }
            else ThreadsOption.Apply(parse, threads);
            if (!isResume && parse.GetValue(corpus) is null) throw new PoNetInputException("--corpus is required (except with --resume)");
            var options = new PretrainOptions
            {
                // Absolute paths: the saved settings must still find them when resumed from elsewhere.
                Corpus = FullPath(parse.GetValue(corpus)) ?? "",
                Output = outDir,
                Vocab = FullPath(parse.GetValue(vocab)),
                Init = FullPath(parse.GetValue(init)),
                Arch = parse.GetValue(arch)!,
                Objective = parse.GetValue(objective),
                Layers = parse.GetValue(layers),
                Hidden = parse.GetValue(hidden),
                Heads = parse.GetValue(heads),
                Ffn = parse.GetValue(ffn),
                Dropout = parse.GetValue(dropout),
                Steps = parse.GetValue(steps),
                BatchSize = parse.GetValue(batchSize),
                LearningRate = parse.GetValue(lr),
                Warmup = parse.GetValue(warmup),
                WeightDecay = parse.GetValue(weightDecay),
                ClipGradNorm = parse.GetValue(clip),
                BFloat16 = parse.GetValue(bf16),
                EvalEvery = parse.GetValue(evalEvery),
                EvalExamples = parse.GetValue(evalExamples),
                SaveEvery = parse.GetValue(saveEvery),
                Data = new PretrainingDataOptions
                {
                    MaxLength = parse.GetValue(maxLength),
                    DupeFactor = parse.GetValue(dupeFactor),
                    ShortSequenceProbability = parse.GetValue(shortSeq),
                    DocumentPoolSize = parse.GetValue(pool),
                    ShuffleBufferSize = parse.GetValue(shuffle),
                    HeldOutEvery = parse.GetValue(heldOut),
                    Seed = parse.GetValue(seed),
                },
            };
            return Run(options, isResume);
        }));
        return command;
    }

    static int Run(PretrainOptions options, bool resume)
    {
        var console = ConsoleProgress.Console();
        using var trainer = new Pretrainer(options, resume);
        var o = trainer.Options;
        var config = trainer.Model.Config;
        var start = trainer.State;
        console.WriteLine(resume
            ? $"ponet pretrain: resuming {o.Output} at step {start.Step}/{o.Steps} with its saved settings"
            : $"ponet pretrain: {(o.Init is null ? "new" : "from " + o.Init)} {config.Family.ClassPrefix} ({trainer.Objective}), {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, " +
              $"{config.NumAttentionHeads} heads, FFN {config.IntermediateSize}, vocab {config.VocabSize}, {trainer.ParameterCount / 1e6:F2} M parameters; " +
              $"{o.Steps} steps of {o.BatchSize} × {o.Data.MaxLength} tokens{(o.BFloat16 ? ", bf16" : "")}; corpus {o.Corpus} ({trainer.Corpus.Files.Count} files)");
        if (trainer.InitReport is { } report) console.WriteLine($"  {report}");
        if (trainer.Warning is { } warning) Console.Error.WriteLine($"ponet: warning: {warning}");

        var png = Path.Combine(o.Output, PlotFile);
        return TrainingRun.Run(cancel => ConsoleProgress.Run(console, Console.IsOutputRedirected, "pre-training", o.Steps, progress =>
            {
                if (start.Step > 0) progress.Report(start.Step, "resumed");
                bool finished = trainer.Run(p =>
                {
                    if (p.Evaluation is { } e)
                        progress.Line(Invariant($"eval @ step {e.Step}: held-out MLM loss {e.MlmLoss:F4}, MLM accuracy {e.MlmAccuracy:F4}") +
                                      (double.IsNaN(e.SsoAccuracy) ? "" : Invariant($", {trainer.Objective[4..].ToUpperInvariant()} accuracy {e.SsoAccuracy:F4}")));
                    if (p.Last.Step > 0)
                        progress.Report(p.Last.Step, Invariant(
                            $"step {p.Last.Step}/{p.Steps} · loss {p.Last.Loss:F4} (MLM {p.Last.MlmLoss:F4}{(double.IsNaN(p.Last.SsoLoss) ? "" : $", sentence {p.Last.SsoLoss:F4}")}) · lr {p.Last.LearningRate:G3} · {p.TokensPerSecond:F0} tokens/s · ETA {TrainingRun.Duration(p.Eta)}"));
                }, cancel);
                if (TrainingCurves.MissingFontWarning() is { } noFont) console.WriteLine($"warning: {noFont}");
                TrainingCurves.SavePng(trainer.Rows, $"{config.Family.ClassPrefix} pre-training ({trainer.Objective})", png);
                return finished;
            }),
            () => trainer.State.Step,
            $"ponet pretrain --out {o.Output} --resume",
            () =>
            {
                var state = trainer.State;
                var first = state.Evaluations[0];
                var last = state.Evaluations[^1];
                var table = new Table().Title("pre-training (held-out)").AddColumn("").AddColumn(new TableColumn("step 0").RightAligned())
                    .AddColumn(new TableColumn($"step {last.Step}").RightAligned());
                table.AddRow("MLM loss", Invariant($"{first.MlmLoss:F4}"), Invariant($"{last.MlmLoss:F4}"));
                table.AddRow("MLM accuracy", Invariant($"{first.MlmAccuracy:F4}"), Invariant($"{last.MlmAccuracy:F4}"));
                if (trainer.Objective != "mlm")
                {
                    var name = trainer.Objective[4..].ToUpperInvariant();
                    table.AddRow($"{name} accuracy", Invariant($"{first.SsoAccuracy:F4}"), Invariant($"{last.SsoAccuracy:F4}"));
                    int labelled = state.HeldOutSsoLabels.Sum();
                    table.AddRow($"{name} majority class", "", Invariant($"{(double)state.HeldOutSsoLabels.Max() / Math.Max(labelled, 1):F4}"));
                }
                double tokens = state.History.Sum(r => (double)r.Tokens);
                table.AddRow("train time", "", Invariant($"{TimeSpan.FromSeconds(state.TrainSeconds):hh\\:mm\\:ss}"));
                table.AddRow("tokens/s", "", Invariant($"{tokens / Math.Max(state.TrainSeconds, 1e-9):F0}"));
                console.Write(table);
                console.WriteLine($"model: {Path.Combine(o.Output, Pretrainer.ModelDir)}; results: {Path.Combine(o.Output, Pretrainer.ResultsFile)}, " +
                                  $"{Path.Combine(o.Output, Pretrainer.CurvesFile)}, {png}");
                return ExitCodes.Ok;
            });
    }

    static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
