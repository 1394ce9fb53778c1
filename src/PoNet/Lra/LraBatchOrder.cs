using PoNet.Randomness;

namespace PoNet.Lra;

/// <summary>
/// Which training examples each micro-batch takes: the examples run through one permutation per
/// epoch, every permutation a pure function of (seed, epoch). Micro-batch a of step s covers
/// positions (s·accumulate + a)·size … +size of that endless sequence, so any step's batch is known
/// without replaying the ones before it (resuming needs no shuffle state).
/// </summary>
public sealed class LraBatchOrder(long seed, int count)
{
    int cachedEpoch = -1;
    int[] permutation = [];

    public int Count => count;

    public int[] MicroBatch(int step, int microBatch, int accumulate, int size)
    {
        long start = ((long)step * accumulate + microBatch) * size;
        var indices = new int[size];
        for (int j = 0; j < size; j++)
        {
            long position = start + j;
            indices[j] = Permutation((int)(position / count))[(int)(position % count)];
        }
        return indices;
    }

    /// <summary>Fisher–Yates with a SplitMix64 stream seeded by (seed, epoch): the same on every platform and .NET version.</summary>
    public int[] Permutation(int epoch)
    {
        if (epoch == cachedEpoch) return permutation;
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = i;
        ulong state = SplitMix.Mix((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch);
        for (int i = count - 1; i > 0; i--)
        {
            int j = (int)(SplitMix.Next(ref state) % (ulong)(i + 1));
            (p[i], p[j]) = (p[j], p[i]);
        }
        cachedEpoch = epoch;
        return permutation = p;
    }
}
