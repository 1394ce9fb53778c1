using Xunit;
using static TorchSharp.torch;
using PoNet.Randomness;

namespace PoNet.Tests;

public class DropoutMasksTests
{
    /// The masks as the documented rule defines them, one element at a time (the form the
    /// vectorised fill replaced): blocks of 64 Ki elements, one SplitMix64 stream per block, four
    /// 16-bit draws per 64-bit output, element kept when its draw is below the threshold.
    static float[] Reference(long seed, int call, long count, double keep)
    {
        ulong s = SplitMix.Mix((ulong)seed);
        ulong callSeed = SplitMix.Mix(s ^ (ulong)call * 0x9E3779B97F4A7C15UL);
        int threshold = DropoutMasks.Threshold(keep);
        float scale = threshold == 0 ? 0f : (float)(65536.0 / threshold);
        var data = new float[count];
        for (long start = 0, block = 0; start < count; start += 1 << 16, block++)
        {
            ulong state = SplitMix.Mix(callSeed + (ulong)block * 0xD1B54A32D192ED03UL);
            long end = Math.Min(count, start + (1 << 16));
            for (long i = start; i < end; i += 4)
            {
                ulong r = SplitMix.Next(ref state);
                for (int j = 0; j < 4 && i + j < end; j++, r >>= 16)
                    data[i + j] = (int)(r & 0xFFFF) < threshold ? scale : 0f;
            }
        }
        return data;
    }

    [Theory]
    [InlineData(0.9)]
    [InlineData(0.5)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(0.99999)] // threshold 65535: only the draw 0xFFFF is dropped
    public void MasksAreTheDocumentedStreamBitForBit(double keep)
    {
        var masks = new DropoutMasks(12345);
        // 105: not a multiple of 4 or 16; 2·65573: three blocks, the last of 74 elements; 7·16: whole vectors only
        long[][] shapes = [[3, 5, 7], [2, 65573], [7, 16], [1], [3, 65536]];
        for (int call = 1; call <= shapes.Length; call++)
        {
            var shape = shapes[call - 1];
            using var mask = masks.Scale(shape, keep);
            Assert.Equal(shape, mask.shape);
            var got = mask.data<float>().ToArray();
            var want = Reference(12345, call, got.Length, keep);
            Assert.Equal(want, got);
        }
    }

    [Fact]
    public void FillAgreesWithTheScalarRuleAtEveryLengthAndTail()
    {
        var random = new Random(7);
        var draws = new ulong[16];
        for (int k = 0; k < draws.Length; k++) draws[k] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 40);
        draws[3] = ulong.MaxValue; draws[4] = 0; // 0xFFFF and 0 words: the comparison's edges
        foreach (int threshold in new[] { 0, 1, 32768, 65535, 65536 })
            for (int n = 0; n <= 4 * draws.Length; n++)
            {
                var output = new float[n];
                DropoutMasks.Fill(draws, output, threshold, 2.5f);
                for (int i = 0; i < n; i++)
                    Assert.Equal((int)((draws[i / 4] >> (16 * (i % 4))) & 0xFFFF) < threshold ? 2.5f : 0f, output[i]);
            }
    }
}
