using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using PoNet.Checkpoints;
using PoNet.Model;
using PoNet.Tokenization;
using PoNet.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using PoNet.IO;
using PoNet.Randomness;

namespace PoNet.Pretraining;

/// <summary>What the loop reports after every step (and every evaluation).</summary>
public sealed record PretrainProgress(PretrainStepRecord Last, int Steps, double TokensPerSecond, TimeSpan Eta, PretrainEvalRecord? Evaluation);

/// <summary>
/// Pre-trains <see cref="PoNetForPreTraining"/> with MLM + SSO (docs/MODEL.md §4): streamed pairs,
/// dynamic masking, AdamW with linear warm-up and decay, held-out evaluation, atomic checkpoints
/// and exact resumption. Layout of the output folder:
/// <code>
/// checkpoint/   HF model folder + vocab + optimizer.safetensors + trainer_state.json (resumable)
/// model/        the final HF model folder + vocab (for fine-tuning and inference)
/// results.json  summary; curves.csv: one row per step and per evaluation
/// </code>
/// Every random draw of step k (masks, dropout) is seeded from (seed, k), and the data stream is a
/// function of the seed, so a resumed run repeats exactly what an uninterrupted one would have done.
/// </summary>
public sealed class Pretrainer
{
    public const string CheckpointDir = "checkpoint", ModelDir = "model", StateFile = "trainer_state.json",
        OptimizerFile = "optimizer.safetensors", ResultsFile = "results.json", CurvesFile = "curves.csv";

    readonly PretrainState state;
    readonly BertTokenizer tokenizer;
    readonly string tokenizerSource;
    readonly PoNetForPreTraining model;
    readonly AdamW optimizer;
    readonly LinearSchedule schedule;
    PretrainOptions Options => state.Options;

    /// <summary>Loads a new run, or with <paramref name="resume"/> the checkpoint in <see cref="PretrainOptions.Output"/> (whose saved options win).</summary>
    public Pretrainer(PretrainOptions options, bool resume = false)
    {
        var checkpoint = AtomicDirectory.Resolve(Path.Combine(options.Output, CheckpointDir));
        if (resume)
        {
            if (checkpoint is null)
                throw new PoNetInputException($"{options.Output}: no {CheckpointDir}/ to resume from");
            state = ReadState(Path.Combine(checkpoint, StateFile));
            state.Options = state.Options with { Output = options.Output }; // the folder may have moved
            Options.Validate();
            var config = PoNetConfig.Load(Path.Combine(checkpoint, PoNetCheckpoint.ConfigFile));
            tokenizer = ModelFolder.LoadTokenizer(checkpoint, null, config);
            tokenizerSource = checkpoint;
            (model, _) = PoNetCheckpoint.Load(checkpoint, c => new PoNetForPreTraining(c));
            optimizer = AdamWState.Create(model, Options.LearningRate, Options.WeightDecay);
            AdamWState.Restore(model, optimizer, Path.Combine(checkpoint, OptimizerFile), state.OptimizerSteps);
        }
        else
        {
            options.Validate();
            if (checkpoint is not null)
                throw new PoNetInputException($"{options.Output}: already holds a run ({CheckpointDir}/); pass --resume to continue it or choose another --out");
            state = new PretrainState { Options = options };
            torch.manual_seed(Seeds.Derive(options.Seed, 1)); // initial weights
            if (options.Init is { } init)
            {
                var config = PoNetConfig.Load(Path.Combine(init, PoNetCheckpoint.ConfigFile));
                tokenizerSource = options.Vocab ?? init;
                tokenizer = ModelFolder.LoadTokenizer(init, options.Vocab, config);
                (model, var report) = PoNetCheckpoint.Load(init, c => new PoNetForPreTraining(c));
                if (options.Data.MaxLength > model.Config.MaxPositionEmbeddings)
                    throw new PoNetInputException(
                        $"--max-length {options.Data.MaxLength} exceeds the max_position_embeddings ({model.Config.MaxPositionEmbeddings}) of {init}");
                InitReport = report;
            }
            else
            {
                tokenizerSource = options.Vocab ?? throw new PoNetInputException("--vocab is required without --init");
                tokenizer = BertTokenizer.Load(tokenizerSource);
                model = new PoNetForPreTraining(new PoNetConfig
                {
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
            optimizer = AdamWState.Create(model, Options.LearningRate, Options.WeightDecay);
        }
        schedule = new LinearSchedule(Options.LearningRate, Options.Warmup, Options.Steps);
        Corpus = new TextCorpus(Options.Corpus);
        Train = new PretrainingExampleStream(Corpus, tokenizer, Options.Data, CorpusSplit.Train);
        HeldOut = new PretrainingExampleStream(Corpus, tokenizer, Options.Data, CorpusSplit.HeldOut);
    }

    public PoNetForPreTraining Model => model;
    public PretrainState State => state;
    public LoadReport? InitReport { get; }
    public TextCorpus Corpus { get; }
    public PretrainingExampleStream Train { get; }
    public PretrainingExampleStream HeldOut { get; }
    public long ParameterCount => model.parameters().Sum(p => p.numel());

    /// <summary>
    /// Trains until <see cref="PretrainOptions.Steps"/> or until <paramref name="cancel"/> is set (checked
    /// after each step; the run is then checkpointed so --resume continues it). Returns whether it finished.
    /// </summary>
    public bool Run(Action<PretrainProgress>? progress = null, CancellationToken cancel = default)
    {
        var evalBatches = HeldOutBatches();
        try
        {
            return Run(evalBatches, progress, cancel);
        }
        finally
        {
            foreach (var batch in evalBatches) batch.Dispose();
        }
    }

    bool Run(List<PretrainingBatch> evalBatches, Action<PretrainProgress>? progress, CancellationToken cancel)
    {
        using var trainExamples = Repeat(Train).GetEnumerator();
        for (long i = 0; i < state.ExamplesConsumed; i++) trainExamples.MoveNext(); // where the saved run stopped
        if (state.Evaluations.Count == 0)
        {
            var first = Evaluate(evalBatches, 0);
            state.Evaluations.Add(first);
            progress?.Invoke(new PretrainProgress(new PretrainStepRecord(0, 0, double.NaN, double.NaN, double.NaN, 0), Options.Steps, 0, TimeSpan.Zero, first));
        }
        var clock = Stopwatch.StartNew();
        double secondsBefore = state.TrainSeconds; // of the sessions before a resume
        long sessionTokens = 0;
        int sessionSteps = 0;
        model.train();
        while (state.Step < Options.Steps)
        {
            var examples = new List<PretrainingExample>(Options.BatchSize);
            while (examples.Count < Options.BatchSize && trainExamples.MoveNext()) examples.Add(trainExamples.Current);
            var record = TrainStep(examples);
            state.History.Add(record);
            sessionTokens += record.Tokens;
            sessionSteps++;
            PretrainEvalRecord? evaluation = null;
            bool last = state.Step == Options.Steps;
            if (state.Step % Options.EvalEvery == 0 || last)
            {
                evaluation = Evaluate(evalBatches, state.Step);
                state.Evaluations.Add(evaluation);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            progress?.Invoke(new PretrainProgress(record, Options.Steps, sessionTokens / Math.Max(seconds, 1e-9),
                TimeSpan.FromSeconds(seconds / sessionSteps * (Options.Steps - state.Step)), evaluation));
            bool save = last || evaluation is not null || (Options.SaveEvery > 0 && state.Step % Options.SaveEvery == 0);
            if (save || cancel.IsCancellationRequested)
            {
                state.TrainSeconds = secondsBefore + clock.Elapsed.TotalSeconds;
                SaveCheckpoint();
                if (!last && cancel.IsCancellationRequested) return false;
            }
        }
        state.TrainSeconds = secondsBefore + clock.Elapsed.TotalSeconds;
        ModelFolder.Save(model, tokenizerSource, Path.Combine(Options.Output, ModelDir));
        WriteResults();
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

    PretrainStepRecord TrainStep(List<PretrainingExample> examples)
    {
        using var scope = NewDisposeScope();
        int step = state.Step; // 0-based index of this step
        double lr = schedule.At(step);
        AdamWState.SetLearningRate(optimizer, lr);
        torch.manual_seed(Seeds.Derive(Seeds.Derive(Options.Seed, 3), step)); // this step's dropout masks
        using var batch = Collate(examples, Seeds.Random(Seeds.Derive(Options.Seed, 4), step));
        optimizer.zero_grad();
        PoNetTaskOutput output;
        using (Options.BFloat16 ? ComputePrecision.BFloat16() : null)
            output = model.ForwardMaskedPositions(batch.Inputs, batch.Labels);
        output.Loss!.backward();
        if (Options.ClipGradNorm > 0) nn.utils.clip_grad_norm_(model.parameters(), Options.ClipGradNorm);
        optimizer.step();
        state.Step++;
        state.ExamplesConsumed += examples.Count;
        return new PretrainStepRecord(state.Step, lr, output.Loss.item<float>(), output.MlmLoss!.item<float>(), output.SsoLoss!.item<float>(),
            batch.AttentionMask.sum().item<long>());
    }

    PretrainingBatch Collate(IReadOnlyList<PretrainingExample> examples, Random rng) =>
        MlmMasking.Collate(examples, tokenizer.PadId, tokenizer.MaskId, model.Config.VocabSize, id => tokenizer.IsSpecialId((int)id), rng);

    /// <summary>The first EvalExamples held-out pairs, batched and masked once: every evaluation sees the same masks.</summary>
    List<PretrainingBatch> HeldOutBatches()
    {
        var examples = HeldOut.Examples().Take(Options.EvalExamples).ToList();
        if (examples.Count == 0)
            throw new PoNetInputException($"{Options.Corpus}: no held-out examples (every {Options.Data.HeldOutEvery}th document is held out; the corpus has fewer)");
        state.HeldOutSsoLabels = [.. Enumerable.Range(0, 3).Select(l => examples.Count(e => e.SsoLabel == l))];
        var rng = Seeds.Random(Options.Seed, 5);
        return examples.Chunk(Options.BatchSize).Select(chunk => Collate(chunk, rng)).ToList();
    }

    PretrainEvalRecord Evaluate(List<PretrainingBatch> batches, int step)
    {
        model.eval();
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
        model.train();
        return new PretrainEvalRecord(step, lossSum / masked, (double)mlmCorrect / masked, (double)ssoCorrect / examples);
    }

    void SaveCheckpoint()
    {
        ModelFolder.Save(model, tokenizerSource, Path.Combine(Options.Output, CheckpointDir), dir =>
        {
            state.OptimizerSteps = AdamWState.Save(model, optimizer, Path.Combine(dir, OptimizerFile));
            File.WriteAllText(Path.Combine(dir, StateFile), JsonSerializer.Serialize(state, PretrainOptions.Json));
        });
        WriteResults();
    }

    static PretrainState ReadState(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<PretrainState>(File.ReadAllText(path), PretrainOptions.Json)
                   ?? throw new PoNetInputException($"{path}: empty trainer state");
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            throw new PoNetInputException($"{path}: not a readable pre-training state: {e.Message}", e);
        }
    }

    /// <summary>results.json and curves.csv, rewritten at every checkpoint so an interrupted run still has them.</summary>
    void WriteResults()
    {
        var first = state.Evaluations.FirstOrDefault();
        var final = state.Evaluations.LastOrDefault();
        double tokens = state.History.Sum(r => (double)r.Tokens);
        int labelled = state.HeldOutSsoLabels.Sum();
        var results = new
        {
            completed = state.Step == Options.Steps,
            step = state.Step,
            steps = Options.Steps,
            examples_consumed = state.ExamplesConsumed,
            train_seconds = state.TrainSeconds,
            tokens_per_second = tokens / Math.Max(state.TrainSeconds, 1e-9),
            parameters = ParameterCount,
            initial_eval = first,
            final_eval = final,
            held_out_sso_majority_accuracy = labelled == 0 ? 0 : (double)state.HeldOutSsoLabels.Max() / labelled,
            held_out_sso_labels = state.HeldOutSsoLabels,
            options = Options,
        };
        AtomicFile.WriteAllText(Path.Combine(Options.Output, ResultsFile), JsonSerializer.Serialize(results, PretrainOptions.Json) + "\n");

        var csv = new StringBuilder("step,learning_rate,train_loss,train_mlm_loss,train_sso_loss,eval_mlm_loss,eval_mlm_accuracy,eval_sso_accuracy\n");
        static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
        var evals = state.Evaluations.ToDictionary(e => e.Step);
        if (evals.TryGetValue(0, out var e0)) csv.Append($"0,,,,,{F(e0.MlmLoss)},{F(e0.MlmAccuracy)},{F(e0.SsoAccuracy)}\n");
        foreach (var r in state.History)
        {
            csv.Append($"{r.Step},{F(r.LearningRate)},{F(r.Loss)},{F(r.MlmLoss)},{F(r.SsoLoss)},");
            csv.Append(evals.TryGetValue(r.Step, out var e) ? $"{F(e.MlmLoss)},{F(e.MlmAccuracy)},{F(e.SsoAccuracy)}\n" : ",,\n");
        }
        AtomicFile.WriteAllText(Path.Combine(Options.Output, CurvesFile), csv.ToString());
    }
}
