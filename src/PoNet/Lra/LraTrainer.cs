using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using PoNet.Model.Mixers;
using PoNet.Checkpoints;
using PoNet.IO;
using PoNet.Randomness;
using PoNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Lra;

/// <summary>
/// Trains an LRA model as the paper did (docs/MODEL.md §6) on the shared <see cref="Trainer"/>:
/// AdamW (β 0.9/0.999, ε 1e-6, no weight decay) under the <see cref="OneCycle"/> schedule (β1
/// cycling too), cross entropy, dev evaluation every <see cref="LraConfig.EvalEvery"/> steps and at
/// the end, the best-dev weights tested at the end. Deterministic on CPU for a seed (and a thread
/// count): the initial weights come from a generator seeded with it, batch order and each step's
/// dropout from (seed, step), so a run stopped and resumed from its checkpoint ends with exactly
/// the weights and results of an uninterrupted one. Writes into the output folder: checkpoints/
/// (<see cref="RunCheckpoints"/>), metrics.csv (a row per step) and, when finished, results.json.
/// </summary>
public sealed class LraTrainer : IDisposable
{
    public const string ResultsFile = "results.json", MetricsFile = MetricsRow.File, Kind = "lra";

    readonly LraSplits data;
    readonly ILraDataset devDuringTraining;
    readonly Trainer trainer;

    public LraConfig Config { get; }
    public string OutputDirectory { get; }
    /// <summary>The model being trained; after <see cref="Run"/> it holds the best-dev weights that were tested.</summary>
    public LraModel Model { get; }
    /// <summary>Optimiser steps done so far.</summary>
    public int Step => trainer.Step;
    /// <summary>One row per step (training loss and accuracy, learning rate), with the dev metrics on evaluated steps.</summary>
    public IReadOnlyList<MetricsRow> History => trainer.Rows;
    public LraBest? Best => trainer.Best is { } b ? new LraBest(b.Step, b.Metrics["loss"], b.Metrics["accuracy"]) : null;
    /// <summary>Something the user should know about this session (e.g. a changed thread count on resume), or null.</summary>
    public string? Warning => trainer.Warning;

    LraTrainer(LraConfig config, LraSplits data, string outDir, (string Folder, TrainingState State)? resumed)
    {
        Config = config.Validate();
        this.data = data;
        OutputDirectory = outDir;
        CheckData(config, data);
        devDuringTraining = LraSubset.Sample(data.Dev, config.EvalExamples ?? 0, config.Seed);
        Model = LraModel.Create(config);
        using (var init = new Generator((ulong)config.Seed, CPU))
            Model.ResetParameters(init);
        Model.train();
        var task = new Task(this, LabelHash(data.Train));
        var options = new TrainerOptions
        {
            Steps = config.Steps, Schedule = new OneCycle(config.LearningRate, config.Warmup, config.Steps), Optimizer = AdamWSettings.Lra,
            EvalEvery = config.EvalEvery, Accumulate = config.Accumulate, Clip = config.Clip, Seed = config.Seed, TrackBest = true,
        };
        trainer = resumed is { } r ? Trainer.Resume(task, options, outDir, r.Folder, r.State) : Trainer.Start(task, options, outDir, Kind);
    }

    /// <summary>A fresh run in <paramref name="outDir"/>, which must not already hold one.</summary>
    public static LraTrainer Start(LraConfig config, LraSplits data, string outDir)
    {
        if (File.Exists(Path.Combine(outDir, ResultsFile)) || RunCheckpoints.Exists(outDir))
            throw new PoNetInputException($"{outDir}: already holds a run; resume it with --resume or choose another output folder");
        return new LraTrainer(config, data, outDir, null);
    }

    /// <summary>Continues the run in <paramref name="outDir"/> from its latest checkpoint, with its saved configuration.</summary>
    public static LraTrainer Resume(string outDir, LraSplits data)
    {
        var latest = Trainer.Latest(outDir, Kind);
        return new LraTrainer(SavedConfig(latest), data, outDir, latest);
    }

    /// <summary>The saved configuration of the run in <paramref name="outDir"/>, to load its data before <see cref="Resume"/>.</summary>
    public static LraConfig SavedConfig(string outDir) => SavedConfig(Trainer.Latest(outDir, Kind));

    static LraConfig SavedConfig((string Folder, TrainingState State) latest)
    {
        var file = Path.Combine(latest.Folder, RunCheckpoints.StateFile);
        var node = latest.State.Task?["config"] ?? throw new PoNetInputException($"{file}: key 'task.config' is missing");
        try
        {
            return LraConfig.FromJson(node.ToJsonString(), file + " (key 'task.config')").Validate();
        }
        catch (PoNetInputException e) when (!e.Message.StartsWith(file, StringComparison.Ordinal))
        {
            throw new PoNetInputException($"{file}: key 'task.config': {e.Message}", e);
        }
    }

    /// <summary>
    /// Trains to <see cref="LraConfig.Steps"/>, tests the best-dev weights, writes results.json and
    /// metrics.csv and returns the results. On cancellation it finishes the step, saves a checkpoint
    /// and then throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public LraResults Run(IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        if (trainer.Run(progress, cancel) == TrainingOutcome.Cancelled) throw new OperationCanceledException(cancel);
        return Finish();
    }

    /// <summary>Trains until <paramref name="step"/> steps are done (at most the configured steps) and saves a checkpoint there.</summary>
    public void RunUntil(int step, IProgress<TrainingProgress>? progress = null, CancellationToken cancel = default)
    {
        trainer.Run(progress, cancel, until: step);
        trainer.SaveCheckpoint();
    }

    /// <summary>Loss and accuracy of the current weights on a split, in eval mode (no dropout).</summary>
    public LraEvaluation Evaluate(ILraDataset split, string name = "dev")
    {
        Model.eval();
        try
        {
            using var _ = no_grad();
            return EvaluateSplit(split, name);
        }
        finally
        {
            Model.train();
        }
    }

    LraEvaluation EvaluateSplit(ILraDataset split, string name)
    {
        double lossSum = 0;
        long correct = 0;
        int size = Config.MicroBatchSize;
        for (int start = 0; start < split.Count; start += size)
        {
            using var scope = NewDisposeScope();
            var indices = Enumerable.Range(start, Math.Min(size, split.Count - start)).ToArray();
            using var batch = GetBatch(split, name, indices);
            var logits = Model.forward(batch);
            lossSum += nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(-1).eq(batch.Labels).sum().item<long>();
        }
        int n = Math.Max(split.Count, 1);
        return new LraEvaluation(lossSum / n, (double)correct / n, split.Count);
    }

    LraResults Finish()
    {
        trainer.RestoreBest();
        var b = Best!;
        // The best step was chosen on the dev subset; its weights are scored on the full dev set too.
        var dev = ReferenceEquals(devDuringTraining, data.Dev) ? new LraEvaluation(b.DevLoss, b.DevAccuracy, data.Dev.Count) : Evaluate(data.Dev);
        var test = data.Test is null ? null : Evaluate(data.Test, "test");
        var state = trainer.State;
        var results = new LraResults
        {
            Task = Config.Task, Mixer = Config.Mixer, Steps = state.Step, BestStep = b.Step,
            DevAccuracy = dev.Accuracy, DevLoss = dev.Loss, DevExamples = dev.Examples,
            EvalExamples = devDuringTraining.Count, BestEvalAccuracy = b.DevAccuracy,
            TestAccuracy = test?.Accuracy, TestLoss = test?.Loss,
            TestExamples = test?.Examples ?? 0,
            TrainSeconds = state.TrainSeconds,
            EvalSeconds = state.EvalSeconds,
            TokensPerSecond = state.TrainTokens / Math.Max(state.TrainSeconds, 1e-9),
            StepsPerSecond = state.Step / Math.Max(state.TrainSeconds, 1e-9),
            PeakMemoryMb = state.PeakMemoryMb,
            Parameters = Model.parameters().Sum(p => p.numel()),
            Threads = torch.get_num_threads(),
            Config = Config,
        };
        AtomicFile.WriteAllText(Path.Combine(OutputDirectory, MetricsFile), MetricsRow.Csv(History));
        AtomicFile.WriteAllText(Path.Combine(OutputDirectory, ResultsFile), results.ToJson());
        return results;
    }

    /// <summary>The LRA classification task on the shared loop.</summary>
    sealed class Task(LraTrainer owner, string labelHash) : ITrainingTask
    {
        readonly LraBatchOrder order = new(owner.Config.Seed, owner.data.Train.Count);
        LraConfig Config => owner.Config;

        public nn.Module Model => owner.Model;

        public void BeginStep(int step) => owner.Model.Encoder.DropoutMasks.Reseed(SplitMix.StepSeed(Config.Seed, step));

        public StepOutput Forward(int step, int microBatch, int microBatches)
        {
            var indices = order.MicroBatch(step, microBatch, microBatches, Config.MicroBatchSize);
            var batch = owner.GetBatch(owner.data.Train, "train", indices);
            var logits = owner.Model.forward(batch);
            var loss = nn.functional.cross_entropy(logits, batch.Labels);
            double correct = logits.argmax(-1).eq(batch.Labels).sum().item<long>();
            long tokens = (long)indices.Length * Config.MaxLength * (Config.Pair ? 2 : 1);
            return new StepOutput(loss, new Dictionary<string, double> { ["loss"] = loss.item<float>(), ["accuracy"] = correct / indices.Length }, tokens);
        }

        public Evaluation Evaluate()
        {
            var dev = owner.EvaluateSplit(owner.devDuringTraining, "dev");
            return new Evaluation(new Dictionary<string, double> { ["loss"] = dev.Loss, ["accuracy"] = dev.Accuracy }, dev.Accuracy);
        }

        public void SaveModel(string dir) => SafeTensors.Save(Path.Combine(dir, Trainer.ModelFile), owner.Model.state_dict());

        public void LoadModel(string dir)
        {
            var path = Path.Combine(dir, Trainer.ModelFile);
            StateDictCopy.CopyInto(owner.Model.state_dict(), SafeTensors.Load(path), path);
        }

        public JsonNode? SaveState() => new JsonObject
        {
            ["config"] = JsonNode.Parse(Config.ToJson()),
            ["train_examples"] = owner.data.Train.Count,
            ["train_label_hash"] = labelHash,
        };

        public void RestoreState(JsonNode? state, string file)
        {
            int? examples = state?["train_examples"]?.GetValue<int>();
            string? hash = state?["train_label_hash"]?.GetValue<string>();
            if (examples != owner.data.Train.Count || hash != labelHash)
                throw new PoNetInputException(
                    $"{file}: the run was trained on {examples} examples (label hash {hash}), " +
                    $"but the training data now has {owner.data.Train.Count} (label hash {labelHash}): resuming needs the same data");
        }
    }

    /// <summary>A batch with its token ids and labels checked against the model's vocabulary and classes.</summary>
    LraBatch GetBatch(ILraDataset split, string name, int[] indices)
    {
        var batch = split.GetBatch(indices, Config.MaxLength);
        foreach (var tokens in new[] { batch.Tokens, batch.Tokens2 })
        {
            if (tokens is null) continue;
            using var bad = tokens.ge(Config.VocabSize).logical_or(tokens.lt(0));
            if (bad.any().item<bool>())
            {
                using var at = bad.nonzero();
                long row = at[0, 0].item<long>(), col = at[0, 1].item<long>();
                throw new PoNetInputException(
                    $"{name} example {indices[row]}: token id {tokens[row, col].item<long>()} at position {col} is outside the vocabulary of {Config.VocabSize}");
            }
        }
        return batch;
    }

    static void CheckData(LraConfig config, LraSplits data)
    {
        foreach (var (split, name) in new[] { (data.Train, "train"), (data.Dev, "dev"), (data.Test, "test") })
        {
            if (split is null) continue;
            if (split.Count == 0) throw new PoNetInputException($"the {name} split is empty");
            if (split.IsPair != config.Pair)
                throw new PoNetInputException(config.Pair
                    ? $"task {config.Task} needs document pairs, but the {name} split has single documents"
                    : $"task {config.Task} takes single documents, but the {name} split has pairs");
            for (int i = 0; i < split.Count; i++)
            {
                var label = split.Label(i);
                if (label < 0 || label >= config.Classes)
                    throw new PoNetInputException($"{name} example {i}: label {label} is outside 0..{config.Classes - 1}");
            }
        }
    }

    static string LabelHash(ILraDataset split)
    {
        var bytes = new byte[split.Count * 4];
        for (int i = 0; i < split.Count; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), split.Label(i));
        return Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }

    public void Dispose()
    {
        trainer.Dispose();
        Model.Dispose();
    }
}
