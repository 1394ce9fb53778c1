using PoNet.Pretraining;
using TorchSharp;
using Xunit;

namespace PoNet.Tests.Transfer;

public class MaskingTests
{
    const int Cls = 101, Sep = 102, Pad = 0, Mask = 103, Vocab = 30522;
    static bool IsSpecial(long id) => id is Cls or Sep or Pad or Mask or 100;

    /// <summary>A batch of 64 pairs of different lengths; text ids are 1000 + position, so a changed id is recognisable.</summary>
    static List<PretrainingExample> Examples() =>
        Enumerable.Range(0, 64).Select(r =>
        {
            int length = 20 + r % 40;
            var a = new[] { Enumerable.Range(1000, length / 2).ToArray() };
            var b = new[] { Enumerable.Range(5000, length - length / 2).ToArray() };
            return PretrainingExample.Layout(a, b, Cls, Sep, SsoLabel.Original, r);
        }).ToList();

    [Fact]
    public void FifteenPercentOfTextTokensAreChosenThenEightyTenTen()
    {
        var examples = Examples();
        long candidates = 0, chosen = 0, masked = 0, random = 0, unchanged = 0;
        var rng = new Random(11);
        for (int round = 0; round < 40; round++)
        {
            using var batch = MlmMasking.Collate(examples, Pad, Mask, Vocab, IsSpecial, rng);
            var ids = batch.InputIds.data<long>().ToArray();
            var labels = batch.MlmLabels.data<long>().ToArray();
            var attention = batch.AttentionMask.data<long>().ToArray();
            int n = (int)batch.InputIds.shape[1];
            for (int p = 0; p < ids.Length; p++)
            {
                var e = examples[p / n];
                int c = p % n;
                bool text = c < e.Length && !IsSpecial(e.InputIds[c]);
                if (!text)
                {
                    // Specials and padding: never chosen, never changed.
                    Assert.Equal(MlmMasking.Ignore, labels[p]);
                    Assert.Equal(c < e.Length ? e.InputIds[c] : Pad, ids[p]);
                    Assert.Equal(c < e.Length ? 1 : 0, attention[p]);
                    continue;
                }
                candidates++;
                if (labels[p] == MlmMasking.Ignore)
                {
                    Assert.Equal(e.InputIds[c], ids[p]);
                    continue;
                }
                Assert.Equal(e.InputIds[c], labels[p]);
                chosen++;
                if (ids[p] == Mask) masked++;
                else if (ids[p] == labels[p]) unchanged++;
                else random++;
            }
        }
        Assert.InRange(chosen / (double)candidates, 0.145, 0.155);
        Assert.InRange(masked / (double)chosen, 0.78, 0.82);
        Assert.InRange(random / (double)chosen, 0.085, 0.115);
        Assert.InRange(unchanged / (double)chosen, 0.085, 0.115);
    }

    [Fact]
    public void PaddingIsOneSegmentPastEachRowsLastAndMasksAreReproducible()
    {
        var examples = Examples().Take(3).ToList();
        using var first = MlmMasking.Collate(examples, Pad, Mask, Vocab, IsSpecial, new Random(5));
        using var again = MlmMasking.Collate(examples, Pad, Mask, Vocab, IsSpecial, new Random(5));
        Assert.Equal(first.InputIds.data<long>().ToArray(), again.InputIds.data<long>().ToArray());
        Assert.Equal(first.MlmLabels.data<long>().ToArray(), again.MlmLabels.data<long>().ToArray());
        var segments = first.SegmentIds;
        for (int r = 0; r < 3; r++)
        {
            var e = examples[r];
            long n = segments.shape[1];
            for (int c = e.Length; c < n; c++) Assert.Equal(e.SegmentIds[^1] + 1, segments[r, c].item<long>());
        }
        Assert.Equal([0L, 0L, 0L], first.SsoLabels.data<long>().ToArray());
    }

    [Fact]
    public void ABatchAlwaysHasAtLeastOneMaskedToken()
    {
        var tiny = new List<PretrainingExample> { PretrainingExample.Layout([[1000]], [[1001]], Cls, Sep, SsoLabel.Original, 0) };
        for (int seed = 0; seed < 50; seed++)
        {
            using var batch = MlmMasking.Collate(tiny, Pad, Mask, Vocab, IsSpecial, new Random(seed));
            Assert.True(batch.MlmLabels.ne(MlmMasking.Ignore).sum().item<long>() >= 1);
        }
    }
}
