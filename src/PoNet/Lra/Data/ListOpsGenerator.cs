using PoNet.Randomness;
namespace PoNet.Lra.Data;

/// <summary>What a ListOps generation run drew, for the log and for checking the spec's statistics.</summary>
public sealed record ListOpsGenerationStats(long TreesDrawn, long TreesInLengthRange, long Duplicates);

/// <summary>
/// The LRA ListOps generator (google-research/long-range-arena, data/listops.py, task "basic"):
/// the root is at depth 1; a node above depth <see cref="MaxDepth"/> is an operator with
/// probability 0.25, otherwise a digit 0..9; a node at that depth is always a digit; an operator
/// (MIN, MAX, MED, SM, uniform) takes 2..<see cref="MaxArgs"/> arguments (uniform). Trees whose token
/// count (without parentheses) is 501..1999 are kept, duplicates dropped.
/// </summary>
/// <remarks>
/// About 8% of drawn trees pass the length filter, so 100k examples take ~1.2M trees. A tree is
/// written as tokens and evaluated in the same recursive pass and abandoned as soon as it passes
/// 1999 tokens. Trees are drawn in fixed-size chunks, each with its own random stream, merged in
/// chunk order: the result depends on the seed only, not on the thread count.
/// </remarks>
public static class ListOpsGenerator
{
    public const int MaxDepth = 10;
    public const int MaxArgs = 10;
    public const int MinLength = 501;
    public const int MaxLength = 1999;
    private const double OperatorProbability = 0.25;
    private const int TreesPerChunk = 4096;

    public static LraSplit<LraExample> Generate(int train, int dev, int test, long seed) =>
        Generate(train, dev, test, seed, out _);

    /// <summary>
    /// Draws <paramref name="train"/> + <paramref name="dev"/> + <paramref name="test"/> distinct
    /// expressions and splits them in drawing order.
    /// </summary>
    public static LraSplit<LraExample> Generate(int train, int dev, int test, long seed,
        out ListOpsGenerationStats stats, IProgress<string>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(train);
        ArgumentOutOfRangeException.ThrowIfNegative(dev);
        ArgumentOutOfRangeException.ThrowIfNegative(test);
        int total = train + dev + test;

        var kept = new List<byte[]>(total);
        var labels = new List<int>(total);
        var seen = new HashSet<byte[]>(ByteSequenceComparer.Instance);
        long drawn = 0, candidates = 0, duplicates = 0;
        int batch = Math.Max(1, Environment.ProcessorCount);
        for (long firstChunk = 0; kept.Count < total; firstChunk += batch)
        {
            var chunks = new List<(byte[] Tokens, int Label, int Tree)>[batch];
            Parallel.For(0, batch, i => chunks[i] = DrawChunk(seed, firstChunk + i));
            for (int c = 0; c < batch && kept.Count < total; c++)
            {
                drawn = (firstChunk + c + 1) * TreesPerChunk;
                foreach (var (tokens, label, tree) in chunks[c])
                {
                    drawn = (firstChunk + c) * TreesPerChunk + tree + 1;
                    candidates++;
                    if (!seen.Add(tokens))
                    {
                        duplicates++;
                        continue;
                    }
                    kept.Add(tokens);
                    labels.Add(label);
                    if (kept.Count == total)
                        break;
                }
            }
            progress?.Report($"listops: {kept.Count}/{total} expressions from {drawn} trees");
        }
        stats = new ListOpsGenerationStats(drawn, candidates, duplicates);

        var examples = kept.Select((tokens, i) => new LraExample(Array.ConvertAll(tokens, t => (int)t), labels[i])).ToList();
        return new LraSplit<LraExample>(examples[..train], examples[train..(train + dev)], examples[(train + dev)..]);
    }

    /// <summary>One chunk of trees from its own stream; only those within the length filter.</summary>
    internal static List<(byte[] Tokens, int Label, int Tree)> DrawChunk(long seed, long chunk)
    {
        var tree = new TreeWriter(SeededRandom.ForItem(seed, chunk));
        var result = new List<(byte[], int, int)>();
        for (int i = 0; i < TreesPerChunk; i++)
        {
            tree.Length = 0;
            int value = tree.Draw(depth: 1);
            if (value >= 0 && tree.Length >= MinLength)
                result.Add((tree.Buffer[..tree.Length], value, i));
        }
        return result;
    }

    private sealed class TreeWriter(SeededRandom random)
    {
        public readonly byte[] Buffer = new byte[MaxLength];
        public int Length;

        /// <summary>Writes one subtree and returns its value, or -1 once the tree is too long.</summary>
        public int Draw(int depth)
        {
            bool isOperator = depth < MaxDepth && random.NextDouble() < OperatorProbability;
            if (!isOperator)
            {
                int digit = random.Next(10);
                return Append(ListOpsVocabulary.Digit(digit)) ? digit : -1;
            }
            int argumentCount = random.NextInclusive(2, MaxArgs);
            int op = ListOpsVocabulary.Min + random.Next(4);
            if (!Append(op))
                return -1;
            Span<int> values = stackalloc int[argumentCount];
            for (int i = 0; i < argumentCount; i++)
            {
                values[i] = Draw(depth + 1);
                if (values[i] < 0)
                    return -1;
            }
            return Append(ListOpsVocabulary.Close) ? ListOpsExpression.Apply(op, values) : -1;
        }

        private bool Append(int token)
        {
            if (Length == MaxLength)
                return false;
            Buffer[Length++] = (byte)token;
            return true;
        }
    }

    private sealed class ByteSequenceComparer : IEqualityComparer<byte[]>
    {
        public static readonly ByteSequenceComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] bytes)
        {
            var hash = new HashCode();
            hash.AddBytes(bytes);
            return hash.ToHashCode();
        }
    }
}
