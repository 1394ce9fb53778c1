using PoNet.Checkpoints;
using PoNet.FineTuning;
using PoNet.Model;
using PoNet.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Inference;

/// <summary>A classifier's answer for one text: the label and every label's probability, or a score (regression).</summary>
public sealed record Classification(string? Label, IReadOnlyDictionary<string, double>? Probabilities, double? Score);

/// <summary>
/// A fine-tuned <see cref="PoNetForSequenceClassification"/> folder applied to many texts: encoded as at
/// fine-tuning (its max length and segment mode come from the config), batched by length, answered
/// in input order.
/// </summary>
public sealed class TextClassifier
{
    public TextClassifier(string modelDir, string? vocab = null, int? maxLength = null)
    {
        (Model, var report) = PoNetCheckpoint.Load(modelDir, c => new PoNetForSequenceClassification(c));
        if (report.NewlyInitialized.Any(k => k.StartsWith("classifier.", StringComparison.Ordinal)))
            throw new PoNetInputException($"{modelDir}: the checkpoint has no classifier (classifier.*); fine-tune it first with ponet finetune");
        var tokenizer = ModelFolder.LoadTokenizer(modelDir, vocab, Model.Config);
        Encoder = TextInference.Encoder(tokenizer, Model.Config, maxLength);
        Model.eval();
    }

    public PoNetForSequenceClassification Model { get; }
    public TextEncoder Encoder { get; }

    public List<Classification> Classify(IReadOnlyList<TextExample> examples, int batchSize = 32, Action<int>? progress = null)
    {
        var config = Model.Config;
        var labels = Enumerable.Range(0, config.NumLabels).Select(i => config.Id2Label?.GetValueOrDefault(i.ToString()) ?? $"LABEL_{i}").ToArray();
        bool regression = config.ProblemType == "regression" || (config.ProblemType is null && config.NumLabels == 1);
        bool multiLabel = config.ProblemType == "multi_label_classification";
        var results = new Classification[examples.Count];
        TextInference.Run(Encoder, examples, batchSize, progress, inputs => Model.forward(inputs, null).Logits, (index, logits) =>
        {
            if (regression)
            {
                results[index] = new Classification(null, null, logits[0]);
                return;
            }
            double[] p = multiLabel ? logits.Select(x => 1 / (1 + Math.Exp(-x))).ToArray() : Softmax(logits);
            int best = Array.IndexOf(p, p.Max());
            results[index] = new Classification(labels[best], labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => p[x.i]), null);
        });
        return [.. results];
    }

    static double[] Softmax(double[] logits)
    {
        double max = logits.Max();
        var e = logits.Select(x => Math.Exp(x - max)).ToArray();
        double sum = e.Sum();
        return e.Select(x => x / sum).ToArray();
    }
}

/// <summary>Sentence embeddings from any PoNet checkpoint: the last hidden state at [CLS], or the mean over the real tokens.</summary>
public sealed class TextEmbedder
{
    public TextEmbedder(string modelDir, string? vocab = null, int? maxLength = null)
    {
        // Any head loads: only the encoder is used, so the heads' weights may be missing or unused.
        (Model, _) = PoNetCheckpoint.Load(modelDir, c => new PoNetForMaskedLM(c));
        var tokenizer = ModelFolder.LoadTokenizer(modelDir, vocab, Model.Config);
        Encoder = TextInference.Encoder(tokenizer, Model.Config, maxLength);
        Model.eval();
    }

    public PoNetForMaskedLM Model { get; }
    public TextEncoder Encoder { get; }
    public int Dimension => Model.Config.HiddenSize;

    public float[][] Embed(IReadOnlyList<TextExample> examples, string pooling, int batchSize = 32, Action<int>? progress = null)
    {
        if (pooling is not ("cls" or "mean")) throw new PoNetInputException($"--pooling {pooling}: expected cls or mean");
        var results = new float[examples.Count][];
        TextInference.Run(Encoder, examples, batchSize, progress, inputs =>
        {
            var hidden = Model.Encoder.forward(inputs).LastHiddenState;
            if (pooling == "cls") return hidden[.., 0];
            var mask = inputs.AttentionMask!.unsqueeze(-1).to(hidden.dtype);
            return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1);
        }, (index, row) => results[index] = row.Select(x => (float)x).ToArray());
        return results;
    }
}

static class TextInference
{
    public static TextEncoder Encoder(BertTokenizer tokenizer, PoNetConfig config, int? maxLength)
    {
        int length = maxLength ?? config.MaxPositionEmbeddings;
        if (length < 3 || length > config.MaxPositionEmbeddings)
            throw new PoNetInputException($"--max-length {length}: expected 3..{config.MaxPositionEmbeddings} (the model's max_position_embeddings)");
        return new TextEncoder(tokenizer, length, config.SentenceSegments == true);
    }

    /// <summary>Encodes, batches by length, runs <paramref name="forward"/> without gradients and hands each row back under its input index.</summary>
    public static void Run(TextEncoder encoder, IReadOnlyList<TextExample> examples, int batchSize, Action<int>? progress,
        Func<PoNetInputs, Tensor> forward, Action<int, double[]> result)
    {
        if (batchSize < 1) throw new PoNetInputException($"--batch-size {batchSize}: expected >= 1");
        var encodings = examples.Select(encoder.Encode).ToList();
        int done = 0;
        using var _ = no_grad();
        foreach (var indices in TextBatches.Sorted(encodings.Select(e => e.Length).ToList(), batchSize))
        {
            using var scope = NewDisposeScope();
            var output = forward(TextBatches.Collate(encodings, indices, encoder.Tokenizer.PadId));
            var values = output.to(ScalarType.Float64).contiguous().data<double>().ToArray();
            int width = (int)(output.numel() / indices.Length);
            for (int k = 0; k < indices.Length; k++) result(indices[k], values[(k * width)..((k + 1) * width)]);
            done += indices.Length;
            progress?.Invoke(done);
        }
    }
}
