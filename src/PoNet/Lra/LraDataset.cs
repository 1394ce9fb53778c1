using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Lra;

/// <summary>
/// One batch: Tokens int64 [B,N] (0 = padding), Tokens2 the second documents for pair tasks (else
/// null), Labels int64 [B].
/// </summary>
public sealed record LraBatch(Tensor Tokens, Tensor? Tokens2, Tensor Labels) : IDisposable
{
    public long Size => Tokens.shape[0];

    public void Dispose()
    {
        Tokens.Dispose();
        Tokens2?.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// What the trainer reads: a fixed, indexable set of examples. Implementations turn a list of
/// example indices into one padded batch of exactly <c>length</c> positions per document.
/// </summary>
public interface ILraDataset
{
    int Count { get; }

    /// <summary>True when every example is a pair of documents (Retrieval).</summary>
    bool IsPair { get; }

    /// <summary>Label of example <paramref name="index"/>, for validation and class counts.</summary>
    int Label(int index);

    /// <summary>The examples at <paramref name="indices"/>, each document padded with 0 or cut to <paramref name="length"/>.</summary>
    LraBatch GetBatch(IReadOnlyList<int> indices, int length);
}

/// <summary>Some examples of another dataset, in the given order (e.g. the seeded dev subset of evaluations during training).</summary>
public sealed class LraSubset(ILraDataset source, IReadOnlyList<int> indices) : ILraDataset
{
    public int Count => indices.Count;
    public bool IsPair => source.IsPair;
    public int Label(int index) => source.Label(indices[index]);
    public LraBatch GetBatch(IReadOnlyList<int> batch, int length) => source.GetBatch(batch.Select(i => indices[i]).ToArray(), length);

    /// <summary>
    /// <paramref name="count"/> examples of <paramref name="source"/> drawn without replacement by a
    /// generator seeded with <paramref name="seed"/>, in index order; the source itself when it is not larger.
    /// </summary>
    public static ILraDataset Sample(ILraDataset source, int count, long seed)
    {
        if (count <= 0 || count >= source.Count) return source;
        var order = Enumerable.Range(0, source.Count).ToArray();
        Randomness.Seeds.Random(seed, 7).Shuffle(order);
        return new LraSubset(source, order.Take(count).Order().ToArray());
    }
}

/// <summary>Train, dev and (optional) test sets of one task.</summary>
public sealed record LraSplits(ILraDataset Train, ILraDataset Dev, ILraDataset? Test);

/// <summary>
/// Adapts in-memory single-document examples (e.g. the data layer's LraExample records:
/// <c>new LraListDataset(examples.Select(e =&gt; (e.Tokens, e.Label)).ToList())</c>). Token arrays
/// longer than the model's length are truncated at the end. Token 0 is padding wherever it occurs
/// (a data layer whose raw values include 0, such as pixels, must shift them); a document without
/// any non-zero token is an error, since it has nothing to pool.
/// </summary>
public sealed class LraListDataset : ILraDataset
{
    readonly IReadOnlyList<(int[] Tokens, int Label)> examples;

    public LraListDataset(IReadOnlyList<(int[] Tokens, int Label)> examples, string name = "dataset")
    {
        this.examples = examples;
        for (int i = 0; i < examples.Count; i++)
            LraPairListDataset.CheckDocument(examples[i].Tokens, name, i, "");
    }

    public int Count => examples.Count;
    public bool IsPair => false;
    public int Label(int index) => examples[index].Label;

    public LraBatch GetBatch(IReadOnlyList<int> indices, int length)
    {
        var labels = indices.Select(i => (long)examples[i].Label).ToArray();
        return new LraBatch(Pack(indices.Select(i => examples[i].Tokens), indices.Count, length), null, tensor(labels));
    }

    internal static Tensor Pack(IEnumerable<int[]> documents, int count, int length)
    {
        var data = new long[count * length];
        int row = 0;
        foreach (var doc in documents)
        {
            int n = Math.Min(doc.Length, length);
            for (int j = 0; j < n; j++) data[row * length + j] = doc[j];
            row++;
        }
        return tensor(data, [count, length]);
    }
}

/// <summary>Adapts in-memory document pairs (Retrieval); see <see cref="LraListDataset"/>.</summary>
public sealed class LraPairListDataset : ILraDataset
{
    readonly IReadOnlyList<(int[] Tokens1, int[] Tokens2, int Label)> examples;

    public LraPairListDataset(IReadOnlyList<(int[] Tokens1, int[] Tokens2, int Label)> examples, string name = "dataset")
    {
        this.examples = examples;
        for (int i = 0; i < examples.Count; i++)
        {
            CheckDocument(examples[i].Tokens1, name, i, " (first document)");
            CheckDocument(examples[i].Tokens2, name, i, " (second document)");
        }
    }

    public int Count => examples.Count;
    public bool IsPair => true;
    public int Label(int index) => examples[index].Label;

    public LraBatch GetBatch(IReadOnlyList<int> indices, int length)
    {
        var labels = indices.Select(i => (long)examples[i].Label).ToArray();
        return new LraBatch(
            LraListDataset.Pack(indices.Select(i => examples[i].Tokens1), indices.Count, length),
            LraListDataset.Pack(indices.Select(i => examples[i].Tokens2), indices.Count, length),
            tensor(labels));
    }

    internal static void CheckDocument(int[]? tokens, string name, int index, string which)
    {
        if (tokens is null || tokens.Length == 0)
            throw new PoNetInputException($"{name}: example {index}{which} has no tokens");
        bool any = false;
        foreach (var t in tokens)
        {
            if (t < 0) throw new PoNetInputException($"{name}: example {index}{which} has negative token id {t}");
            any |= t != 0;
        }
        if (!any) throw new PoNetInputException($"{name}: example {index}{which} has only token 0, which is padding");
    }
}
