using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using PoNet.Checkpoints;
using PoNet.Model;
using PoNet.Tokenization;
using PoNet.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PoNet.IO;
using PoNet.Randomness;
using PoNet.Runtime;

namespace PoNet.FineTuning;

/// <summary>A fine-tuning run: data, columns, model and optimisation (docs/MODEL.md §5).</summary>
public sealed record FineTuneOptions
{
    public required string Train { get; init; }
    public required string Dev { get; init; }
    /// <summary>The pre-trained model folder (config.json + weights, and its tokenizer unless --vocab).</summary>
    public required string Init { get; init; }
    /// <summary>The run's folder: best/ (the best model so far), results.json, curves.csv.</summary>
    public required string Output { get; init; }
    public string? Vocab { get; init; }

    public string TextColumn { get; init; } = "text";
    public string? TextPairColumn { get; init; }
    public string LabelColumn { get; init; } = "label";
    /// <summary>tsv, csv or jsonl; from the file extension when null.</summary>
    public string? Format { get; init; }
    public bool NoHeader { get; init; }
    /// <summary>The classes in id order; from the training labels when null.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>classification, regression, or auto: regression when every label is a number and one is not an integer.</summary>
    public string Task { get; init; } = "auto";
    /// <summary>The metric that picks the best epoch; accuracy (classification) or pearson (regression) when null.</summary>
    public string? Metric { get; init; }

    public int Epochs { get; init; } = 3;
    public int BatchSize { get; init; } = 32;
    public double LearningRate { get; init; } = 5e-5;
    public double WeightDecay { get; init; }
    public double ClipGradNorm { get; init; } = 1.0;
    public int MaxLength { get; init; } = 128;
    /// <summary>One segment per sentence (long documents); by default on when positions are tiled and there is no text pair.</summary>
    public bool? SentenceSegments { get; init; }
    public bool BFloat16 { get; init; }
    public long Seed { get; init; } = 42;

    public void Validate()
    {
        if (Epochs < 1) throw new PoNetInputException($"--epochs {Epochs}: expected >= 1");
        if (BatchSize < 1) throw new PoNetInputException($"--batch-size {BatchSize}: expected >= 1");
        if (!(LearningRate > 0)) throw new PoNetInputException($"--lr {LearningRate}: expected a positive number");
        if (MaxLength < 3) throw new PoNetInputException($"--max-length {MaxLength}: expected at least 3");
        if (WeightDecay < 0) throw new PoNetInputException($"--weight-decay {WeightDecay}: expected >= 0");
        if (Task is not ("auto" or "classification" or "regression"))
            throw new PoNetInputException($"--task {Task}: expected auto, classification or regression");
        if (Metric is not null && !GlueMetrics.Classification.Concat(GlueMetrics.Regression).Contains(Metric))
            throw new PoNetInputException($"--metric {Metric}: expected one of {string.Join(", ", GlueMetrics.Classification.Concat(GlueMetrics.Regression))}");
    }
}

/// <summary>Dev-set results after one epoch; <see cref="TrainLoss"/> is the epoch's mean training loss per example.</summary>
public sealed record EpochResult(int Epoch, int Step, double TrainLoss, double DevLoss, IReadOnlyDictionary<string, double> Metrics);

public sealed record FineTuneProgress(int Epoch, int Epochs, int Step, int Steps, double Loss, double LearningRate,
    double TokensPerSecond, TimeSpan Eta, EpochResult? Evaluation);

/// <summary>
/// Fine-tunes <see cref="PoNetForSequenceClassification"/> on a labelled table (docs/MODEL.md §5) on
/// the shared <see cref="Trainer"/>: AdamW, no warm-up, linear decay to 0; evaluation on the dev set
/// after every epoch; the best epoch (by the chosen metric) saved to best/ at the end as a
/// self-contained model folder with id2label/label2id. Checkpoints after every epoch (and on
/// Ctrl+C) make the run resumable, bit for bit; batches of step k are a pure function of (seed, epoch). With
/// --max-length beyond the checkpoint's positions the position table is tiled
/// (<see cref="PositionEmbeddingTiling"/>) and texts get one segment per sentence.
/// </summary>
public sealed class FineTuner
{
    public const string BestDir = "best", ResultsFile = "results.json", CurvesFile = MetricsRow.File;

    readonly BertTokenizer tokenizer;
    readonly TokenizerFiles tokenizerFiles;
    readonly List<TextExample> trainExamples, devExamples;
    readonly List<BertEncoding> trainEncodings, devEncodings;
    readonly long[] trainClasses = [], devClasses = [];
    readonly double[] trainTargets = [], devTargets = [];

    public FineTuner(FineTuneOptions options)
    {
        options.Validate();
        Options = options;
        var config = PoNetConfig.Load(Path.Combine(options.Init, PoNetCheckpoint.ConfigFile));
        tokenizerFiles = TokenizerFiles.Read(options.Vocab ?? options.Init);
        tokenizer = ModelFolder.LoadTokenizer(options.Init, options.Vocab, config);

        var columns = new TextColumns(options.TextColumn, options.TextPairColumn, options.LabelColumn);
        trainExamples = columns.Read(options.Train, options.Format, !options.NoHeader);
        devExamples = columns.Read(options.Dev, options.Format, !options.NoHeader);

        IsRegression = options.Task switch
        {
            "regression" => true,
            "classification" => false,
            _ => options.Labels is null && trainExamples.All(e => double.TryParse(e.Label, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                 && trainExamples.Any(e => !long.TryParse(e.Label, out _)),
        };
        Metric = options.Metric ?? (IsRegression ? GlueMetrics.Pearson : GlueMetrics.Accuracy);
        if (IsRegression)
        {
            if (!GlueMetrics.Regression.Contains(Metric))
                throw new PoNetInputException($"--metric {Metric} is for classification; this is a regression task (pearson or spearman)");
            if (options.Labels is not null) throw new PoNetInputException("--labels is for classification; this is a regression task");
            trainTargets = [.. trainExamples.Select(Number)];
            devTargets = [.. devExamples.Select(Number)];
        }
        else
        {
            LabelSet = options.Labels is { } given ? new LabelSet(given) : LabelSet.FromTraining(trainExamples.Select(e => e.Label!));
            if (!GlueMetrics.Classification.Contains(Metric))
                throw new PoNetInputException($"--metric {Metric} is for regression; this is a classification task (accuracy, f1 or matthews)");
            if (Metric == GlueMetrics.F1 && LabelSet.Count != 2)
                throw new PoNetInputException($"--metric f1 needs two classes; the label set has {LabelSet.Count}");
            trainClasses = [.. trainExamples.Select(e => (long)LabelSet.IdOf(e))];
            devClasses = [.. devExamples.Select(e => (long)LabelSet.IdOf(e))];
        }

        // The model: positions tiled when the texts are longer than the checkpoint's table.
        var weights = new Dictionary<string, Tensor>();
        foreach (var file in PoNetCheckpoint.WeightFiles(options.Init))
            foreach (var (k, v) in PoNetCheckpoint.ReadStateDict(file))
                weights[k] = v;
        TiledFrom = options.MaxLength > config.MaxPositionEmbeddings ? config.MaxPositionEmbeddings : null;
        if (TiledFrom is not null)
            (config, weights) = PositionEmbeddingTiling.Extend(config, weights, options.MaxLength);
        bool sentenceSegments = options.SentenceSegments ?? (TiledFrom is not null && options.TextPairColumn is null);
        if (sentenceSegments && options.TextPairColumn is not null)
            throw new PoNetInputException("sentence segments (long documents) are for single texts; drop --text-pair-column or --sentence-segments");
        config.SentenceSegments = sentenceSegments ? true : null;
        config.Architectures = null;
        if (IsRegression)
        {
            config.SetNumLabels(1);
            config.ProblemType = "regression";
        }
        else
        {
            config.Id2Label = LabelSet!.Id2Label();
            config.Label2Id = LabelSet.Label2Id();
            config.ProblemType = "single_label_classification";
        }
        torch.manual_seed(Seeds.Derive(options.Seed, 1)); // the new classifier's weights
        MemoryBudget.Check("--batch-size × --max-length", $"a training step of {options.BatchSize}×{options.MaxLength} tokens ({config.NumHiddenLayers}×{config.HiddenSize}, ffn {config.IntermediateSize})",
            MemoryBudget.TrainingStepBytes((long)config.EstimatedParameters(), (long)options.BatchSize * options.MaxLength, config.NumHiddenLayers, config.HiddenSize, config.IntermediateSize));
        Model = new PoNetForSequenceClassification(config);
        LoadReport = PoNetCheckpoint.LoadStateDict(Model, weights, options.Init);
        foreach (var t in weights.Values) t.Dispose();

        Encoder = new TextEncoder(tokenizer, options.MaxLength, sentenceSegments);
        trainEncodings = trainExamples.Select(Encoder.Encode).ToList();
        devEncodings = devExamples.Select(Encoder.Encode).ToList();
    }

    static double Number(TextExample e) =>
        double.TryParse(e.Label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw PoNetInputException.AtLine(e.File, e.Line, $"label '{e.Label}' is not a number; a regression task needs numeric labels");

    public FineTuneOptions Options { get; }
    public PoNetForSequenceClassification Model { get; }
    public LoadReport LoadReport { get; }
    public TextEncoder Encoder { get; }
    public bool IsRegression { get; }
    public LabelSet? LabelSet { get; }
    public string Metric { get; }
    /// <summary>The checkpoint's position count when the table was tiled to --max-length, else null.</summary>
    public int? TiledFrom { get; }
    public int TrainCount => trainExamples.Count;
    public int DevCount => devExamples.Count;
    public int StepsPerEpoch => (trainExamples.Count + Options.BatchSize - 1) / Options.BatchSize;
    public int Steps => StepsPerEpoch * Options.Epochs;
    public const string Kind = "finetune";

    /// <summary>The dev results of each epoch evaluated so far.</summary>
    public List<EpochResult> Epochs => trainer is null ? [] : EpochResults();
    public EpochResult? Best => trainer?.Best is { } b ? Epochs.FirstOrDefault(e => e.Step == b.Step) : null;
    public string? Warning => trainer?.Warning;
    public int Step => trainer?.Step ?? 0;
    public IReadOnlyList<MetricsRow> Rows => trainer?.Rows ?? [];

    Trainer? trainer;

    /// <summary>The options saved in the checkpoint of the run in <paramref name="outDir"/> (the output folder may have moved).</summary>
    public static FineTuneOptions SavedOptions(string outDir)
    {
        var (folder, state) = Trainer.Latest(outDir, Kind);
        var file = Path.Combine(folder, RunCheckpoints.StateFile);
        var node = state.Task?["options"] ?? throw new PoNetInputException($"{file}: key 'task.options' is missing");
        try
        {
            var options = node.Deserialize<FineTuneOptions>(Json) ?? throw new JsonException("null");
            return options with { Output = outDir };
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new PoNetInputException($"{file}: key 'task.options': {e.Message.Split('\n')[0]}", e);
        }
    }

    /// <summary>
    /// Trains all epochs (or continues the run in Output with <paramref name="resume"/>), then writes
    /// best/ and results.json. Returns false when <paramref name="cancel"/> stopped it after a checkpoint.
    /// </summary>
    public bool Run(Action<FineTuneProgress>? progress = null, CancellationToken cancel = default, bool resume = false)
    {
        var task = new Task(this);
        var options = new TrainerOptions
        {
            Steps = Steps, Schedule = new LinearSchedule(Options.LearningRate, 0, Steps), Optimizer = AdamWSettings.Bert(Options.WeightDecay),
            EvalEvery = StepsPerEpoch, Clip = Options.ClipGradNorm > 0 ? Options.ClipGradNorm : null, BFloat16 = Options.BFloat16,
            Seed = Options.Seed, TrackBest = true,
        };
        if (resume)
        {
            var (folder, state) = Trainer.Latest(Options.Output, Kind);
            trainer = Trainer.Resume(task, options, Options.Output, folder, state);
        }
        else
        {
            if (File.Exists(Path.Combine(Options.Output, ResultsFile)) || Directory.Exists(Path.Combine(Options.Output, BestDir)))
                throw new PoNetInputException($"{Options.Output}: already holds a fine-tuning run; resume it with --resume or choose another --out");
            trainer = Trainer.Start(task, options, Options.Output, Kind);
        }
        var outcome = trainer.Run(new SyncProgress<TrainingProgress>(p =>
        {
            if (progress is null) return;
            int epoch = (p.Step - 1) / StepsPerEpoch + 1;
            var evaluation = p.Row.Dev is null ? null : Epochs.LastOrDefault(e => e.Step == p.Step);
            progress(new FineTuneProgress(epoch, Options.Epochs, p.Step, p.Steps, evaluation?.TrainLoss ?? p.Row.Train["loss"], p.Row.LearningRate ?? 0,
                p.TokensPerSecond, p.Eta, evaluation));
        }), cancel);
        WriteResults();
        if (outcome == TrainingOutcome.Cancelled) return false;
        trainer.RestoreBest();
        AtomicDirectory.Write(Path.Combine(Options.Output, BestDir), dir => task.SaveModel(dir));
        return true;
    }

    List<EpochResult> EpochResults()
    {
        var rows = trainer!.Rows;
        var results = new List<EpochResult>();
        double lossSum = 0, examples = 0;
        foreach (var row in rows)
        {
            lossSum += row.Train["loss"] * row.Train["examples"];
            examples += row.Train["examples"];
            if (row.Dev is null) continue;
            var metrics = row.Dev.Where(m => m.Key != "loss").ToDictionary();
            results.Add(new EpochResult(row.Step / StepsPerEpoch, row.Step, lossSum / Math.Max(examples, 1), row.Dev["loss"], metrics));
            (lossSum, examples) = (0, 0);
        }
        return results;
    }

    /// <summary>Sequence classification or regression on the shared loop.</summary>
    sealed class Task(FineTuner owner) : ITrainingTask
    {
        int cachedEpoch = -1;
        List<int[]> epochBatches = [];
        readonly List<int> trainLengths = owner.trainEncodings.Select(e => e.Length).ToList();

        public nn.Module Model => owner.Model;

        /// <summary>Batches of similar lengths, shuffled per epoch from (seed, epoch): any step's batch is known without replaying the ones before.</summary>
        int[] Batch(int step)
        {
            int epoch = step / owner.StepsPerEpoch + 1;
            if (epoch != cachedEpoch)
            {
                epochBatches = TextBatches.Shuffled(trainLengths, owner.Options.BatchSize, Seeds.Random(owner.Options.Seed, 100 + epoch));
                cachedEpoch = epoch;
            }
            return epochBatches[step % owner.StepsPerEpoch];
        }

        public StepOutput Forward(int step, int microBatch, int microBatches)
        {
            var indices = Batch(step);
            var inputs = TextBatches.Collate(owner.trainEncodings, indices, owner.tokenizer.PadId);
            var output = owner.Model.forward(inputs, new PoNetLabels(Labels: owner.Targets(owner.trainClasses, owner.trainTargets, indices)));
            long tokens = inputs.AttentionMask!.sum().item<long>();
            return new StepOutput(output.Loss!, new Dictionary<string, double> { ["loss"] = output.Loss!.item<float>(), ["examples"] = indices.Length }, tokens);
        }

        public Evaluation Evaluate()
        {
            var (loss, metrics) = owner.EvaluateDev();
            var all = new Dictionary<string, double>(metrics) { ["loss"] = loss };
            return new Evaluation(all, metrics[owner.Metric]);
        }

        public void SaveModel(string dir) => ModelFolder.WriteInto(owner.Model, owner.tokenizerFiles, dir);

        public void LoadModel(string dir) => ModelFolder.LoadWeightsStrict(owner.Model, dir);

        public JsonNode? SaveState() => new JsonObject
        {
            ["options"] = JsonSerializer.SerializeToNode(owner.Options, Json),
            ["train_examples"] = owner.trainExamples.Count,
        };

        public void RestoreState(JsonNode? state, string file)
        {
            int? count = state?["train_examples"]?.GetValue<int>();
            if (count != owner.trainExamples.Count)
                throw new PoNetInputException($"{file}: the run was trained on {count} examples, {owner.Options.Train} now has {owner.trainExamples.Count}: resuming needs the same data");
        }
    }

    /// <summary>NaN (an undefined correlation) never wins.</summary>
    static bool Better(double candidate, double best) => !double.IsNaN(candidate) && (double.IsNaN(best) || candidate > best);

    Tensor Targets(long[] classes, double[] targets, int[] indices) =>
        IsRegression
            ? tensor(indices.Select(i => (float)targets[i]).ToArray())
            : tensor(indices.Select(i => classes[i]).ToArray());

    /// <summary>Dev loss (mean over examples) and the metrics of the task, in eval mode.</summary>
    public (double Loss, Dictionary<string, double> Metrics) Evaluate()
    {
        Model.eval();
        try
        {
            using (no_grad()) return EvaluateDev();
        }
        finally
        {
            Model.train();
        }
    }

    (double Loss, Dictionary<string, double> Metrics) EvaluateDev()
    {
        var predictedClasses = new int[devExamples.Count];
        var predictedValues = new double[devExamples.Count];
        double lossSum = 0;
        using (no_grad())
        {
            foreach (var indices in TextBatches.Sorted(devEncodings.Select(e => e.Length).ToList(), Options.BatchSize))
            {
                using var scope = NewDisposeScope();
                var inputs = TextBatches.Collate(devEncodings, indices, tokenizer.PadId);
                PoNetTaskOutput output;
                using (Options.BFloat16 ? ComputePrecision.BFloat16() : null)
                    output = Model.forward(inputs, new PoNetLabels(Labels: Targets(devClasses, devTargets, indices)));
                lossSum += output.Loss!.item<float>() * indices.Length;
                if (IsRegression)
                {
                    var values = output.Logits.squeeze(-1).to(ScalarType.Float64).data<double>().ToArray();
                    for (int k = 0; k < indices.Length; k++) predictedValues[indices[k]] = values[k];
                }
                else
                {
                    var classes = output.Logits.argmax(-1).data<long>().ToArray();
                    for (int k = 0; k < indices.Length; k++) predictedClasses[indices[k]] = (int)classes[k];
                }
            }
        }
        var metrics = new Dictionary<string, double>();
        if (IsRegression)
        {
            metrics[GlueMetrics.Pearson] = GlueMetrics.PearsonOf(predictedValues, devTargets);
            metrics[GlueMetrics.Spearman] = GlueMetrics.SpearmanOf(predictedValues, devTargets);
        }
        else
        {
            var gold = devClasses.Select(c => (int)c).ToArray();
            metrics[GlueMetrics.Accuracy] = GlueMetrics.AccuracyOf(predictedClasses, gold);
            if (LabelSet!.Count == 2) metrics[GlueMetrics.F1] = GlueMetrics.F1Of(predictedClasses, gold);
            metrics[GlueMetrics.Matthews] = GlueMetrics.MatthewsOf(predictedClasses, gold);
        }
        return (lossSum / devExamples.Count, metrics);
    }

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>results.json, rewritten after every session so an interrupted run still has one.</summary>
    void WriteResults()
    {
        var state = trainer!.State;
        var best = Best;
        var results = new
        {
            completed = state.Step == Steps,
            task = IsRegression ? "regression" : "classification",
            labels = LabelSet?.Labels,
            metric = Metric,
            best_epoch = best?.Epoch,
            best = best?.Metrics[Metric],
            train_examples = trainExamples.Count,
            dev_examples = devExamples.Count,
            max_length = Options.MaxLength,
            positions_tiled_from = TiledFrom,
            sentence_segments = Encoder.SentenceSegments,
            train_tokens_mean = trainEncodings.Average(e => e.Length),
            train_at_max_length = trainEncodings.Count(e => e.Length == Options.MaxLength),
            step = state.Step,
            steps = Steps,
            train_seconds = state.TrainSeconds,
            eval_seconds = state.EvalSeconds,
            tokens_per_second = state.TrainTokens / Math.Max(state.TrainSeconds, 1e-9),
            peak_memory_mb = state.PeakMemoryMb,
            epochs = Epochs,
            options = Options,
        };
        AtomicFile.WriteAllText(Path.Combine(Options.Output, ResultsFile), JsonSerializer.Serialize(results, Json) + "\n");
    }
}
