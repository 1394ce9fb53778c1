using PoNet.Checkpoints;
using PoNet.Model;
using PoNet.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Inference;

/// <summary>One candidate for a [MASK]: the token, its id and its probability.</summary>
public sealed record MaskCandidate(string Token, int TokenId, double Score);

/// <summary>The candidates for the [MASK] at <see cref="Position"/> (its index in the encoded ids), best first.</summary>
public sealed record MaskPrediction(int Position, IReadOnlyList<MaskCandidate> Candidates);

/// <summary>
/// HF's fill-mask pipeline for PoNet: the text is encoded as [CLS] text [SEP], or [CLS] text [SEP] pair
/// [SEP] as in pre-training (a "[MASK]" written in the text is the mask token), and for every mask the softmax over the vocabulary at its position
/// gives the top-k tokens. Loads any checkpoint with an MLM head (pre-training or masked-LM).
/// </summary>
public sealed class FillMask
{
    public FillMask(string modelDir, string? vocab = null)
    {
        (Model, var report) = PoNetCheckpoint.Load(modelDir, c => new PoNetForMaskedLM(c));
        if (report.NewlyInitialized.Any(k => k.StartsWith("cls.predictions", StringComparison.Ordinal)))
            throw new PoNetInputException($"{modelDir}: the checkpoint has no MLM head (cls.predictions.*); fill-mask needs a pre-training or masked-LM checkpoint");
        Tokenizer = ModelFolder.LoadTokenizer(modelDir, vocab, Model.Config);
        Model.eval();
    }

    public PoNetForMaskedLM Model { get; }
    public BertTokenizer Tokenizer { get; }

    public List<MaskPrediction> Predict(string text, int topK = 5, string? textPair = null)
    {
        if (topK < 1) throw new PoNetInputException($"--top-k {topK}: expected >= 1");
        var encoding = Tokenizer.Encode(text, textPair);
        var positions = Enumerable.Range(0, encoding.Length).Where(i => encoding.InputIds[i] == Tokenizer.MaskId).ToList();
        if (positions.Count == 0)
            throw new PoNetInputException($"the text has no {Tokenizer.Options.MaskToken} token to fill: \"{text}\"{(textPair is null ? "" : $" / \"{textPair}\"")}");
        if (encoding.Length > Model.Config.MaxPositionEmbeddings)
            throw new PoNetInputException($"the text is {encoding.Length} tokens long; the model takes at most {Model.Config.MaxPositionEmbeddings}");

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long[] shape = [1, encoding.Length];
        var inputs = new PoNetInputs(
            tensor(encoding.InputIds.Select(i => (long)i).ToArray(), shape),
            tensor(encoding.AttentionMask.Select(i => (long)i).ToArray(), shape),
            tensor(encoding.TokenTypeIds.Select(i => (long)i).ToArray(), shape),
            tensor(encoding.SegmentIds.Select(i => (long)i).ToArray(), shape));
        var logits = Model.forward(inputs, null).Logits[0];
        // Ids the tokenizer does not have (a model vocabulary padded beyond it) are never proposed.
        var scores = logits.narrow(-1, 0, Math.Min(Tokenizer.VocabSize, Model.Config.VocabSize)).softmax(-1);
        int k = Math.Min(topK, (int)scores.shape[1]);
        var predictions = new List<MaskPrediction>();
        foreach (var position in positions)
        {
            var (values, indices) = scores[position].topk(k);
            var probabilities = values.to(ScalarType.Float64).data<double>().ToArray();
            var ids = indices.data<long>().ToArray();
            predictions.Add(new MaskPrediction(position,
                ids.Select((id, r) => new MaskCandidate(Tokenizer.IdToToken((int)id), (int)id, probabilities[r])).ToList()));
        }
        return predictions;
    }
}
