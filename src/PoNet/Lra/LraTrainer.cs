using System.Diagnostics;
using System.Security.Cryptography;
using PoNet.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PoNet.IO;
using PoNet.Randomness;
using PoNet.Runtime;

namespace PoNet.Lra;

/// <summary>
/// Trains an LRA model as the paper did (docs/MODEL.md §6): AdamW (β 0.9/0.999, ε 1e-6, no weight decay)
/// under the <see cref="OneCycle"/> schedule, cross entropy, dev evaluation every
/// <see cref="LraConfig.EvalEvery"/> steps and at the end, the best-dev weights tested at the end.
/// Deterministic on CPU for a seed (and a thread count): the initial weights come from a generator
/// seeded with it, batch order and each step's dropout from (seed, step), all independent of torch's
/// global generator, so a run stopped and resumed from its checkpoint ends with exactly the weights
/// and results of an uninterrupted one. Writes into the output folder: checkpoints/ (see
/// <see cref="LraCheckpoint"/>), and when finished results.json and metrics.csv. Each train and eval
/// step runs in its own dispose scope.
/// </summary>
public sealed class LraTrainer : IDisposable
{
    public const string ResultsFile = "results.json", MetricsFile = "metrics.csv";

    readonly LraSplits data;
    readonly LraRunState state;
    readonly OneCycle schedule;
    readonly LraBatchOrder order;
    readonly AdamW optimizer;
    Dictionary<string, Tensor>? best;

    public LraConfig Config { get; }
    public string OutputDirectory { get; }
    /// <summary>The model being trained; after <see cref="Run"/> it holds the best-dev weights that were tested.</summary>
    public LraModel Model { get; }
    /// <summary>Optimiser steps done so far.</summary>
    public int Step => state.Step;
    public IReadOnlyList<LraMetricsRow> History => state.History;
    public LraBest? Best => state.Best;
    /// <summary>Something the user should know about this session (e.g. a changed thread count on resume), or null.</summary>
    public string? Warning { get; }

    LraTrainer(LraConfig config, LraSplits data, string outDir, LraRunState? resumed, string? checkpointDir)
    {
        Config = config.Validate();
        this.data = data;
        OutputDirectory = outDir;
        CheckData(config, data);
        var labelHash = LabelHash(data.Train);
        Model = LraModel.Create(config);
        using (var init = new Generator((ulong)config.Seed, CPU))
            Model.ResetParameters(init);
        Model.train();
        optimizer = new AdamW(Model.parameters(), config.LearningRate, 0.9, 0.999, eps: 1e-6, weight_decay: 0);
        schedule = new OneCycle(config.LearningRate, config.Warmup, config.Steps);
        order = new LraBatchOrder(config.Seed, data.Train.Count);
        if (resumed is null)
            state = new LraRunState { Config = config, TrainExamples = data.Train.Count, TrainLabelHash = labelHash };
        else
        {
            if (resumed.TrainExamples != data.Train.Count || resumed.TrainLabelHash != labelHash)
                throw new PoNetInputException(
                    $"{outDir}: the run was trained on {resumed.TrainExamples} examples (label hash {resumed.TrainLabelHash}), " +
                    $"but the training data now has {data.Train.Count} (label hash {labelHash}): resuming needs the same data");
            state = resumed;
            if (resumed.Threads > 0 && resumed.Threads != torch.get_num_threads())
                Warning = $"the checkpoint was written with {resumed.Threads} CPU threads, this session has {torch.get_num_threads()}: " +
                          "the run continues correctly but may not be bit-identical to an uninterrupted one";
            LraCheckpoint.Restore(checkpointDir!, state, Model, optimizer);
            best = LraCheckpoint.ReadBest(checkpointDir!);
        }
    }

    /// <summary>A fresh run in <paramref name="outDir"/>, which must not already hold one.</summary>
    public static LraTrainer Start(LraConfig config, LraSplits data, string outDir)
    {
        if (LraCheckpoint.Find(outDir) is not null || File.Exists(Path.Combine(outDir, ResultsFile)))
            throw new PoNetInputException($"{outDir}: already holds a run; resume it or choose another output folder");
        return new LraTrainer(config, data, outDir, null, null);
    }

    /// <summary>Continues the run in <paramref name="outDir"/> from its latest checkpoint, with its saved configuration.</summary>
    public static LraTrainer Resume(string outDir, LraSplits data)
    {
        var dir = LraCheckpoint.Find(outDir) ?? throw new PoNetInputException($"{outDir}: no checkpoint to resume from ({Path.Combine(outDir, LraCheckpoint.Folder, LraCheckpoint.Latest)} is missing)");
        var state = LraCheckpoint.ReadState(dir);
        return new LraTrainer(state.Config, data, outDir, state, dir);
    }

    /// <summary>The saved configuration of the run in <paramref name="outDir"/>, to load its data before <see cref="Resume"/>.</summary>
    public static LraConfig SavedConfig(string outDir)
    {
        var dir = LraCheckpoint.Find(outDir) ?? throw new PoNetInputException($"{outDir}: no checkpoint to resume from");
        return LraCheckpoint.ReadState(dir).Config;
    }

    /// <summary>
    /// Trains to <see cref="LraConfig.Steps"/>, tests the best-dev weights, writes results.json and
    /// metrics.csv and returns the results. On cancellation it saves a checkpoint first and then
    /// throws <see cref="OperationCanceledException"/>.
    /// </summary>
    public LraResults Run(IProgress<LraProgress>? progress = null, CancellationToken cancel = default)
    {
        Train(Config.Steps, progress, cancel);
        return Finish();
    }

    /// <summary>Trains until <paramref name="step"/> steps are done (at most the configured steps) and saves a checkpoint there.</summary>
    public void RunUntil(int step, IProgress<LraProgress>? progress = null, CancellationToken cancel = default)
    {
        Train(Math.Min(step, Config.Steps), progress, cancel);
        SaveCheckpoint();
    }

    void Train(int until, IProgress<LraProgress>? progress, CancellationToken cancel)
    {
        var clock = new Stopwatch();
        int sessionSteps = 0;
        long sessionTokens = 0;
        double sessionSeconds = 0;
        while (state.Step < until)
        {
            if (cancel.IsCancellationRequested)
            {
                SaveCheckpoint();
                cancel.ThrowIfCancellationRequested();
            }
            clock.Start();
            var lr = TrainStep(state.Step);
            clock.Stop();
            state.Step++;
            sessionSteps++;
            long tokens = (long)Config.BatchSize * Config.MaxLength * (Config.Pair ? 2 : 1);
            sessionTokens += tokens;
            state.TrainTokens += tokens;
            var seconds = clock.Elapsed.TotalSeconds;
            clock.Reset();
            state.TrainSeconds += seconds;
            sessionSeconds += seconds;
            UpdatePeakMemory();

            LraMetricsRow? evaluated = null;
            double trainLoss = state.PendingBatches == 0 ? double.NaN : state.PendingLossSum / state.PendingBatches;
            double trainAcc = state.PendingExamples == 0 ? double.NaN : (double)state.PendingCorrect / state.PendingExamples;
            if (state.Step % Config.EvalEvery == 0 || state.Step == Config.Steps)
            {
                var dev = Evaluate(data.Dev);
                evaluated = new LraMetricsRow(state.Step, trainLoss, trainAcc, dev.Loss, dev.Accuracy, lr);
                state.History.Add(evaluated);
                (state.PendingLossSum, state.PendingBatches, state.PendingCorrect, state.PendingExamples) = (0, 0, 0, 0);
                if (state.Best is null || dev.Accuracy > state.Best.DevAccuracy)
                {
                    state.Best = new LraBest(state.Step, dev.Loss, dev.Accuracy);
                    SetBest();
                }
                SaveCheckpoint();
            }
            var perStep = sessionSeconds / sessionSteps;
            progress?.Report(new LraProgress(state.Step, Config.Steps, trainLoss, trainAcc, lr,
                sessionTokens / Math.Max(sessionSeconds, 1e-9), TimeSpan.FromSeconds(perStep * (Config.Steps - state.Step)), evaluated, state.Best));
        }
    }

    /// <summary>One optimiser step with 0-based index <paramref name="step"/>; returns its learning rate.</summary>
    double TrainStep(int step)
    {
        using var scope = NewDisposeScope();
        var (lr, beta1) = schedule.At(step);
        foreach (var group in optimizer.ParamGroups)
        {
            var options = (AdamW.Options)((ParamGroup)group).Options;
            options.LearningRate = lr;
            options.beta1 = beta1;
        }
        Model.Encoder.DropoutMasks.Reseed(SplitMix.StepSeed(Config.Seed, step)); // this step's dropout masks
        optimizer.zero_grad();
        for (int a = 0; a < Config.Accumulate; a++)
        {
            using var inner = NewDisposeScope();
            var indices = order.MicroBatch(step, a, Config.Accumulate, Config.MicroBatchSize);
            using var batch = GetBatch(data.Train, "train", indices);
            var logits = Model.forward(batch);
            var loss = nn.functional.cross_entropy(logits, batch.Labels);
            (Config.Accumulate == 1 ? loss : loss / Config.Accumulate).backward();
            state.PendingLossSum += loss.item<float>();
            state.PendingBatches++;
            state.PendingCorrect += logits.argmax(-1).eq(batch.Labels).sum().item<long>();
            state.PendingExamples += indices.Length;
        }
        if (Config.Clip is { } clip) nn.utils.clip_grad_norm_(Model.parameters(), clip);
        optimizer.step();
        return lr;
    }

    /// <summary>Loss and accuracy of the current weights on a split, in eval mode (no dropout).</summary>
    public LraEvaluation Evaluate(ILraDataset split, string name = "dev")
    {
        Model.eval();
        try
        {
            using var _ = no_grad();
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
        finally
        {
            Model.train();
        }
    }

    LraResults Finish()
    {
        var test = (LraEvaluation?)null;
        if (best is not null) LraCheckpoint.CopyInto(Model.state_dict(), Clone(best), "best weights");
        if (data.Test is not null) test = Evaluate(data.Test, "test");
        UpdatePeakMemory();
        var b = state.Best!;
        var results = new LraResults
        {
            Task = Config.Task, Mixer = Config.Mixer, Steps = state.Step, BestStep = b.Step,
            DevAccuracy = b.DevAccuracy, DevLoss = b.DevLoss, TestAccuracy = test?.Accuracy, TestLoss = test?.Loss,
            TestExamples = test?.Examples ?? 0,
            TrainSeconds = state.TrainSeconds,
            TokensPerSecond = state.TrainTokens / Math.Max(state.TrainSeconds, 1e-9),
            StepsPerSecond = state.Step / Math.Max(state.TrainSeconds, 1e-9),
            PeakMemoryMb = state.PeakMemoryMb,
            Parameters = Model.parameters().Sum(p => p.numel()),
            Threads = torch.get_num_threads(),
            Config = Config,
        };
        AtomicFile.WriteAllText(Path.Combine(OutputDirectory, MetricsFile), LraMetricsRow.Csv(state.History));
        AtomicFile.WriteAllText(Path.Combine(OutputDirectory, ResultsFile), results.ToJson());
        return results;
    }

    void SaveCheckpoint() => LraCheckpoint.Save(OutputDirectory, state, Model, optimizer, best);

    void SetBest()
    {
        if (best is not null) foreach (var t in best.Values) t.Dispose();
        best = Model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone());
    }

    static Dictionary<string, Tensor> Clone(Dictionary<string, Tensor> weights) =>
        weights.ToDictionary(p => p.Key, p => p.Value.clone());

    void UpdatePeakMemory()
    {
        if (NativeMemory.PeakResidentMegabytes() is { } peak)
            state.PeakMemoryMb = Math.Max(state.PeakMemoryMb ?? 0, peak);
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
        optimizer.Dispose();
        Model.Dispose();
        if (best is not null) foreach (var t in best.Values) t.Dispose();
    }
}
