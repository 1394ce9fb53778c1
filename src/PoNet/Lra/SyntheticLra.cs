using PoNet.Randomness;
namespace PoNet.Lra;

/// <summary>
/// A trivially learnable stand-in task for exercising the LRA pipeline without data files: "majority
/// token". Each document has a random length in [N/4, N]; each position is a noise token (3..V−1)
/// with probability 1/2, else token 1 or 2, where token 1 has probability 0.7 when the label is 1
/// and 0.3 when it is 0 (for pairs: the label says whether both documents share a majority).
/// Any of the mixers should reach well over 90% dev accuracy in a few hundred steps.
/// </summary>
public static class SyntheticLra
{
    public static LraSplits Create(LraConfig config, int train = 2000, int dev = 200, int test = 200, long seed = 1234)
    {
        if (config.VocabSize < 4) throw new PoNetInputException($"the synthetic task needs a vocabulary of at least 4, not {config.VocabSize}");
        ulong state = SplitMix.Mix((ulong)seed);
        if (config.Pair)
        {
            return new LraSplits(
                new LraPairListDataset(Pairs(train, config, ref state), "synthetic train"),
                new LraPairListDataset(Pairs(dev, config, ref state), "synthetic dev"),
                new LraPairListDataset(Pairs(test, config, ref state), "synthetic test"));
        }
        return new LraSplits(
            new LraListDataset(Singles(train, config, ref state), "synthetic train"),
            new LraListDataset(Singles(dev, config, ref state), "synthetic dev"),
            new LraListDataset(Singles(test, config, ref state), "synthetic test"));
    }

    static List<(int[] Tokens, int Label)> Singles(int count, LraConfig config, ref ulong state)
    {
        var examples = new List<(int[], int)>(count);
        for (int i = 0; i < count; i++)
        {
            int label = (int)(SplitMix.Next(ref state) & 1);
            examples.Add((Document(label, config, ref state), label));
        }
        return examples;
    }

    static List<(int[] Tokens1, int[] Tokens2, int Label)> Pairs(int count, LraConfig config, ref ulong state)
    {
        var examples = new List<(int[], int[], int)>(count);
        for (int i = 0; i < count; i++)
        {
            int a = (int)(SplitMix.Next(ref state) & 1), b = (int)(SplitMix.Next(ref state) & 1);
            examples.Add((Document(a, config, ref state), Document(b, config, ref state), a == b ? 1 : 0));
        }
        return examples;
    }

    static int[] Document(int label, LraConfig config, ref ulong state)
    {
        int n = config.MaxLength, min = Math.Max(1, n / 4);
        int length = min + (int)(SplitMix.Next(ref state) % (ulong)(n - min + 1));
        var tokens = new int[length];
        double ones = label == 1 ? 0.7 : 0.3;
        for (int j = 0; j < length; j++)
        {
            double u = Uniform(ref state);
            tokens[j] = u < 0.5
                ? 3 + (int)(SplitMix.Next(ref state) % (ulong)(config.VocabSize - 3))
                : Uniform(ref state) < ones ? 1 : 2;
        }
        return tokens;
    }

    static double Uniform(ref ulong state) => (SplitMix.Next(ref state) >> 11) * (1.0 / (1UL << 53));
}
