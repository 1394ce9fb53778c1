using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PoNet.Checkpoints;
using PoNet.IO;
using PoNet.Model;
using PoNet.Randomness;
using PoNet.Runtime;
using PoNet.Tokenization;
using PoNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Pretraining;

/// <summary>What the loop reports after every step (and every evaluation).</summary>
public sealed record PretrainProgress(PretrainStepRecord Last, int Steps, double TokensPerSecond, TimeSpan Eta, PretrainEvalRecord? Evaluation);

/// <summary>Where a run stands (a view of the shared trainer's state).</summary>
public sealed class PretrainState
{
    public required PretrainOptions Options { get; init; }
    public int Step { get; init; }
    /// <summary>Training examples drawn so far; a resumed run regenerates the stream and skips these.</summary>
    public long ExamplesConsumed { get; init; }
    public double TrainSeconds { get; init; }
    public List<PretrainStepRecord> History { get; init; } = [];
    public List<PretrainEvalRecord> Evaluations { get; init; } = [];
    /// <summary>Held-out SSO label counts (0, 1, 2), for the majority-class baseline of SSO accuracy.</summary>
    public int[] HeldOutSsoLabels { get; init; } = [0, 0, 0];
}

/// <summary>
/// Pre-trains <see cref="PoNetForPreTraining"/> with MLM + SSO (docs/MODEL.md §4) on the shared
/// <see cref="Trainer"/>: streamed pairs, dynamic masking, AdamW with linear warm-up and decay,
/// held-out evaluation at step 0 and every EvalEvery steps, checkpoints (<see cref="RunCheckpoints"/>;
/// each checkpoint folder is also a loadable model folder) and exact resumption. Output folder:
/// <code>
/// checkpoints/  resumable checkpoints (config.json, model.safetensors, tokenizer, optimizer, state.json)
/// model/        the final HF model folder + tokenizer (for fine-tuning and inference)
/// results.json  summary; metrics.csv: one row per step (held-out columns at evaluations)
/// </code>
/// Every random draw of step k (masks, dropout) is seeded from (seed, k), and the data stream is a
/// function of the seed, so a resumed run repeats exactly what an uninterrupted one would have done.
/// </summary>
public sealed class Pretrainer : IDisposable
{
    public const string ModelDir = "model", ResultsFile = "results.json", CurvesFile = MetricsRow.File, Kind = "pretrain";

    readonly BertTokenizer tokenizer;
    readonly TokenizerFiles tokenizerFiles;
    readonly PoNetForPreTraining model;
    readonly Trainer trainer;
    readonly Task task;
    public PretrainOptions Options { get; }

    /// <summary>Loads a new run, or with <paramref name="resume"/> the checkpoint in <see cref="PretrainOptions.Output"/> (whose saved options win).</summary>
    public Pretrainer(PretrainOptions options, bool resume = false)
    {
        (string Folder, TrainingState State)? latest = null;
        if (resume)
        {
            latest = Trainer.Latest(options.Output, Kind);
            var file = Path.Combine(latest.Value.Folder, RunCheckpoints.StateFile);
            var saved = latest.Value.State.Task?["options"] ?? throw new PoNetInputException($"{file}: key 'task.options' is missing");
            try
            {
                Options = saved.Deserialize<PretrainOptions>(PretrainOptions.Json) ?? throw new JsonException("null");
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
            {
                throw new PoNetInputException($"{file}: key 'task.options': {e.Message.Split('\n')[0]}", e);
            }
            Options = Options with { Output = options.Output }; // the folder may have moved
            Options.Validate();
            var checkpoint = latest.Value.Folder;
            var config = PoNetConfig.Load(Path.Combine(checkpoint, PoNetCheckpoint.ConfigFile));
            tokenizer = ModelFolder.LoadTokenizer(checkpoint, null, config);
            tokenizerFiles = TokenizerFiles.Read(checkpoint);
            model = new PoNetForPreTraining(config);
        }
        else
        {
            options.Validate();
            Options = options;
            if (RunCheckpoints.Exists(options.Output))
                throw new PoNetInputException($"{options.Output}: already holds a run ({RunCheckpoints.Folder}/); pass --resume to continue it or choose another --out");
            torch.manual_seed(Seeds.Derive(options.Seed, 1)); // initial weights
            if (options.Init is { } init)
            {
                var config = PoNetConfig.Load(Path.Combine(init, PoNetCheckpoint.ConfigFile));
                tokenizer = ModelFolder.LoadTokenizer(init, options.Vocab, config);
                tokenizerFiles = TokenizerFiles.Read(options.Vocab ?? init);
                (model, var report) = PoNetCheckpoint.Load(init, c => new PoNetForPreTraining(c));
                if (options.Data.MaxLength > model.Config.MaxPositionEmbeddings)
                    throw new PoNetInputException(
                        $"--max-length {options.Data.MaxLength} exceeds the max_position_embeddings ({model.Config.MaxPositionEmbeddings}) of {init}");
                InitReport = report;
            }
            else
            {
                var vocab = options.Vocab ?? throw new PoNetInputException("--vocab is required without --init");
                tokenizer = BertTokenizer.Load(vocab);
                tokenizerFiles = TokenizerFiles.Read(vocab);
                model = new PoNetForPreTraining(new PoNetConfig
                {
                    ModelType = ModelFamily.For(options.Arch, "--arch").ModelType,
                    HiddenAct = ModelFamily.For(options.Arch, "--arch").DefaultHiddenAct,
                    VocabSize = tokenizer.VocabSize,
                    HiddenSize = options.Hidden,
                    NumHiddenLayers = options.Layers,
                    NumAttentionHeads = options.Heads,
                    IntermediateSize = options.Ffn,
                    MaxPositionEmbeddings = options.Data.MaxLength,
                    HiddenDropoutProb = options.Dropout,
                    AttentionProbsDropoutProb = options.Dropout,
                    PadTokenId = tokenizer.PadId,
                    ClsTokenId = tokenizer.ClsId,
                    SepTokenId = tokenizer.SepId,
                });
            }
        }
        Objective = Options.Objective ?? "mlm+" + model.Config.Family.SentenceObjective;
        if (Objective == "mlm+sso" && model.Config.Family.SentenceClasses < 3)
            throw new PoNetInputException(
                $"--objective mlm+sso needs a 3-way sentence head; a {model.Config.Family.ModelType} model's cls.seq_relationship has {model.Config.Family.SentenceClasses} classes (NSP): use mlm+nsp or mlm");
        Options = Options with { Objective = Objective, Arch = model.Config.Family.ModelType, Data = Options.Data with { SentenceObjective = Objective == "mlm+nsp" ? "nsp" : "sso" } };
        var c = model.Config;
        long tokens = (long)Options.BatchSize * Options.Data.MaxLength;
        MemoryBudget.Check("--batch-size × --max-length", $"a training step of {Options.BatchSize}×{Options.Data.MaxLength} tokens ({c.NumHiddenLayers}×{c.HiddenSize}, ffn {c.IntermediateSize})",
            MemoryBudget.TrainingStepBytes(ParameterCount, tokens, c.NumHiddenLayers, c.HiddenSize, c.IntermediateSize, (long)(tokens * 0.15) + 1, c.VocabSize));
        Corpus = new TextCorpus(Options.Corpus);
        Train = new PretrainingExampleStream(Corpus, tokenizer, Options.Data, CorpusSplit.Train);
        HeldOut = new PretrainingExampleStream(Corpus, tokenizer, Options.Data, CorpusSplit.HeldOut);
        task = new Task(this);
        var trainerOptions = new TrainerOptions
        {
            Steps = Options.Steps, Schedule = new LinearSchedule(Options.LearningRate, Options.Warmup, Options.Steps),
            Optimizer = AdamWSettings.Bert(Options.WeightDecay), EvalEvery = Options.EvalEvery, SaveEvery = Options.SaveEvery,
            Clip = Options.ClipGradNorm > 0 ? Options.ClipGradNorm : null, BFloat16 = Options.BFloat16, Seed = Options.Seed,
            EvaluateAtStart = true,
        };
        trainer = latest is { } l
            ? Trainer.Resume(task, trainerOptions, Options.Output, l.Folder, l.State)
            : Trainer.Start(task, trainerOptions, Options.Output, Kind);
    }

    public PoNetForPreTraining Model => model;
    /// <summary>mlm, mlm+nsp or mlm+sso (the architecture's published one unless --objective chose).</summary>
    public string Objective { get; }
    /// <summary>The sentence objective's metric prefix ("sso", "nsp"), or null for MLM alone.</summary>
    string? SentenceKey => Objective == "mlm" ? null : Objective[4..];
    public LoadReport? InitReport { get; }
    public TextCorpus Corpus { get; }
    public PretrainingExampleStream Train { get; }
    public PretrainingExampleStream HeldOut { get; }
    public long ParameterCount => model.parameters().Sum(p => p.numel());
    public string? Warning => trainer.Warning;
    /// <summary>metrics.csv's rows: step 0 (held-out only), then one per step.</summary>
    public IReadOnlyList<MetricsRow> Rows => trainer.Rows;

    /// <summary>Where the run stands.</summary>
    public PretrainState State => new()
    {
        Options = Options,
        Step = trainer.Step,
        ExamplesConsumed = task.ExamplesConsumed,
        TrainSeconds = trainer.State.TrainSeconds,
        History = trainer.Rows.Where(r => r.Step > 0).Select(StepRecord).ToList(),
        Evaluations = trainer.Rows.Where(r => r.Dev is not null).Select(EvalRecord).ToList(),
        HeldOutSsoLabels = task.HeldOutSsoLabels,
    };

    PretrainStepRecord StepRecord(MetricsRow r) =>
        new(r.Step, r.LearningRate ?? 0, r.Train["loss"], r.Train["mlm_loss"], r.Train.GetValueOrDefault($"{SentenceKey}_loss", double.NaN), (long)r.Train["tokens"]);

    PretrainEvalRecord EvalRecord(MetricsRow r) => new(r.Step, r.Dev!["mlm_loss"], r.Dev["mlm_accuracy"], r.Dev.GetValueOrDefault($"{SentenceKey}_accuracy", double.NaN));

    /// <summary>
    /// Trains until <see cref="PretrainOptions.Steps"/> or until <paramref name="cancel"/> is set (checked
    /// after each step; the run is then checkpointed so --resume continues it). Returns whether it finished.
    /// </summary>
    public bool Run(Action<PretrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var report = progress is null ? null : new SyncProgress<TrainingProgress>(p => progress(new PretrainProgress(
            p.Row.Step == 0 ? new PretrainStepRecord(0, 0, double.NaN, double.NaN, double.NaN, 0) : StepRecord(p.Row),
            p.Steps, p.TokensPerSecond, p.Eta, p.Row.Dev is null ? null : EvalRecord(p.Row))));
        task.PrepareEvaluation();
        var outcome = trainer.Run(report, cancel);
        WriteResults();
        if (outcome == TrainingOutcome.Cancelled) return false;
        AtomicDirectory.Write(Path.Combine(Options.Output, ModelDir), dir => task.SaveModel(dir));
        return true;
    }

    /// <summary>The training stream, started again whenever its dupe-factor passes run out.</summary>
    static IEnumerable<PretrainingExample> Repeat(PretrainingExampleStream stream)
    {
        while (true)
        {
            bool any = false;
            foreach (var example in stream.Examples())
            {
                any = true;
                yield return example;
            }
            if (!any) throw new PoNetInputException("the corpus gives no training examples (are all its documents held out or empty?)");
        }
    }

    PretrainingBatch Collate(IReadOnlyList<PretrainingExample> examples, Random rng) =>
        MlmMasking.Collate(examples, tokenizer.PadId, tokenizer.MaskId, model.Config.VocabSize, id => tokenizer.IsSpecialId((int)id), rng);

    /// <summary>The first EvalExamples held-out pairs, batched and masked once: every evaluation sees the same masks.</summary>
    List<PretrainingBatch> HeldOutBatches()
    {
        var examples = HeldOut.Examples().Take(Options.EvalExamples).ToList();
        if (examples.Count == 0)
            throw new PoNetInputException($"{Options.Corpus}: no held-out examples (every {Options.Data.HeldOutEvery}th document is held out; the corpus has fewer)");
        heldOutSsoLabels = [.. Enumerable.Range(0, 3).Select(l => examples.Count(e => e.SsoLabel == l))];
        var rng = Seeds.Random(Options.Seed, 5);
        return examples.Chunk(Options.BatchSize).Select(chunk => Collate(chunk, rng)).ToList();
    }

    PretrainEvalRecord Evaluate(List<PretrainingBatch> batches)
    {
        double lossSum = 0;
        long masked = 0, mlmCorrect = 0, ssoCorrect = 0, examples = 0;
        using (no_grad())
        {
            foreach (var batch in batches)
            {
                using var scope = NewDisposeScope();
                PoNetTaskOutput output;
                using (Options.BFloat16 ? ComputePrecision.BFloat16() : null)
                    output = model.ForwardMaskedPositions(batch.Inputs, batch.Labels);
                var labels = batch.MlmLabels.view(-1);
                var targets = labels.index_select(0, labels.ne(MlmMasking.Ignore).nonzero().squeeze(1));
                long count = targets.shape[0];
                lossSum += output.MlmLoss!.item<float>() * count;
                masked += count;
                mlmCorrect += output.Logits.argmax(-1).eq(targets).sum().item<long>();
                ssoCorrect += output.SsoLogits!.argmax(-1).eq(batch.SsoLabels).sum().item<long>();
                examples += batch.SsoLabels.shape[0];
            }
        }
        return new PretrainEvalRecord(trainer.Step, lossSum / Math.Max(masked, 1), (double)mlmCorrect / Math.Max(masked, 1), (double)ssoCorrect / Math.Max(examples, 1));
    }

    /// <summary>MLM + SSO pre-training on the shared loop.</summary>
    sealed class Task(Pretrainer owner) : ITrainingTask
    {
        IEnumerator<PretrainingExample>? examples;
        List<PretrainingBatch>? evalBatches;
        public long ExamplesConsumed { get; private set; }
        public int[] HeldOutSsoLabels => owner.heldOutSsoLabels;

        public nn.Module Model => owner.model;

        public StepOutput Forward(int step, int microBatch, int microBatches)
        {
            if (examples is null)
            {
                examples = Repeat(owner.Train).GetEnumerator();
                for (long i = 0; i < ExamplesConsumed; i++) examples.MoveNext(); // where the saved run stopped
            }
            var batchExamples = new List<PretrainingExample>(owner.Options.BatchSize);
            while (batchExamples.Count < owner.Options.BatchSize && examples.MoveNext()) batchExamples.Add(examples.Current);
            ExamplesConsumed += batchExamples.Count;
            var batch = owner.Collate(batchExamples, Seeds.Random(Seeds.Derive(owner.Options.Seed, 4), step));
            var output = owner.model.ForwardMaskedPositions(batch.Inputs, owner.SentenceKey is null ? batch.Labels with { SsoLabels = null } : batch.Labels);
            var metrics = new Dictionary<string, double> { ["loss"] = output.Loss!.item<float>(), ["mlm_loss"] = output.MlmLoss!.item<float>() };
            if (owner.SentenceKey is { } key) metrics[$"{key}_loss"] = output.SsoLoss!.item<float>();
            long tokens = batch.AttentionMask.sum().item<long>();
            metrics["tokens"] = tokens;
            return new StepOutput(output.Loss, metrics, tokens);
        }

        /// <summary>The held-out batches, made once outside any step's dispose scope.</summary>
        public void PrepareEvaluation() => evalBatches ??= owner.HeldOutBatches();

        public void DisposeEvaluation()
        {
            foreach (var batch in evalBatches ?? []) batch.Dispose();
            evalBatches = null;
        }

        public Evaluation Evaluate()
        {
            var e = owner.Evaluate(evalBatches ?? throw new InvalidOperationException("PrepareEvaluation first"));
            var metrics = new Dictionary<string, double> { ["mlm_loss"] = e.MlmLoss, ["mlm_accuracy"] = e.MlmAccuracy };
            if (owner.SentenceKey is { } key) metrics[$"{key}_accuracy"] = e.SsoAccuracy;
            return new Evaluation(metrics, -e.MlmLoss);
        }

        public void SaveModel(string dir) => ModelFolder.WriteInto(owner.model, owner.tokenizerFiles, dir);

        public void LoadModel(string dir) => ModelFolder.LoadWeightsStrict(owner.model, dir);

        public JsonNode? SaveState() => new JsonObject
        {
            ["options"] = JsonSerializer.SerializeToNode(owner.Options, PretrainOptions.Json),
            ["examples_consumed"] = ExamplesConsumed,
            ["held_out_sso_labels"] = new JsonArray(owner.heldOutSsoLabels.Select(c => (JsonNode)c).ToArray()),
        };

        public void RestoreState(JsonNode? state, string file)
        {
            long consumed = state?["examples_consumed"]?.GetValue<long>() ?? -1;
            if (consumed < 0 || consumed > (long)owner.Options.BatchSize * owner.Options.Steps)
                throw new PoNetInputException($"{file}: key 'task.examples_consumed' is {consumed}, expected 0..{(long)owner.Options.BatchSize * owner.Options.Steps}");
            ExamplesConsumed = consumed;
        }
    }

    int[] heldOutSsoLabels = [0, 0, 0];

    /// <summary>results.json, rewritten after every session so an interrupted run still has one.</summary>
    void WriteResults()
    {
        var state = State;
        var first = state.Evaluations.FirstOrDefault();
        var final = state.Evaluations.LastOrDefault();
        double tokens = trainer.State.TrainTokens;
        int labelled = heldOutSsoLabels.Sum();
        var results = new
        {
            completed = state.Step == Options.Steps,
            step = state.Step,
            steps = Options.Steps,
            examples_consumed = state.ExamplesConsumed,
            train_seconds = state.TrainSeconds,
            eval_seconds = trainer.State.EvalSeconds,
            tokens_per_second = tokens / Math.Max(state.TrainSeconds, 1e-9),
            peak_memory_mb = trainer.State.PeakMemoryMb,
            parameters = ParameterCount,
            initial_eval = first,
            final_eval = final,
            held_out_sso_majority_accuracy = labelled == 0 ? 0 : (double)heldOutSsoLabels.Max() / labelled,
            held_out_sso_labels = heldOutSsoLabels,
            options = Options,
        };
        AtomicFile.WriteAllText(Path.Combine(Options.Output, ResultsFile), JsonSerializer.Serialize(results, PretrainOptions.Json) + "\n");
    }

    public void Dispose()
    {
        task.DisposeEvaluation();
        trainer.Dispose();
        model.Dispose();
    }
}
