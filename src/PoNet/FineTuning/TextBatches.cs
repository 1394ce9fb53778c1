using PoNet.Model;
using PoNet.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.FineTuning;

/// <summary>
/// Batches of encoded texts with little padding. Training: a shuffled order, cut into windows of 50
/// batches, each window sorted by length and cut into batches, the batches shuffled again — so each
/// batch holds texts of similar length while the order stays random. Inference: sorted by length;
/// callers put the results back in input order through the batch indices.
/// </summary>
public static class TextBatches
{
    const int WindowBatches = 50;

    public static List<int[]> Shuffled(IReadOnlyList<int> lengths, int batchSize, Random rng)
    {
        var order = Enumerable.Range(0, lengths.Count).ToArray();
        rng.Shuffle(order);
        var batches = new List<int[]>();
        foreach (var window in order.Chunk(batchSize * WindowBatches))
            batches.AddRange(window.OrderBy(i => lengths[i]).Chunk(batchSize));
        var shuffled = batches.ToArray();
        rng.Shuffle(shuffled);
        return [.. shuffled];
    }

    public static List<int[]> Sorted(IReadOnlyList<int> lengths, int batchSize) =>
        Enumerable.Range(0, lengths.Count).OrderBy(i => lengths[i]).ThenBy(i => i).Chunk(batchSize).ToList();

    /// <summary>
    /// The encodings at <paramref name="indices"/> padded to the longest of them: [PAD], token type 0,
    /// attention 0, and one segment past each row's last. Tensors belong to the current dispose scope.
    /// </summary>
    public static PoNetInputs Collate(IReadOnlyList<BertEncoding> encodings, IReadOnlyList<int> indices, int padId)
    {
        var batch = PaddedBatch.Of(encodings, indices, padId);
        long[] shape = [batch.Rows, batch.Length];
        return new PoNetInputs(tensor(batch.InputIds, shape), tensor(batch.AttentionMask, shape), tensor(batch.TokenTypeIds, shape), tensor(batch.SegmentIds, shape));
    }
}

/// <summary>
/// How a model's texts are encoded: truncated to <see cref="MaxLength"/>, with segments from
/// [CLS]/[SEP] (GLUE, docs/MODEL.md §5) or, for long documents, one segment per sentence.
/// </summary>
public sealed record TextEncoder(BertTokenizer Tokenizer, int MaxLength, bool SentenceSegments)
{
    public BertEncoding Encode(TextExample example)
    {
        try
        {
            if (!SentenceSegments) return Tokenizer.Encode(example.Text, example.TextPair, MaxLength);
            if (example.TextPair is not null)
                throw new PoNetInputException("sentence segments are for single documents, but the record has a text pair");
            return Tokenizer.EncodeDocument(example.Text, MaxLength);
        }
        catch (PoNetInputException e)
        {
            throw PoNetInputException.AtLine(example.File, example.Line, e.Message);
        }
    }
}
