using PoNet.Lra;
using PoNet.Training;
using PoNet.Model.Mixers;
using PoNet.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Lra;

public class LraOneCycleTests
{
    [Fact]
    public void PaperListOpsScheduleAtKeySteps()
    {
        var s = new OneCycle(1e-4, 1000, 5000);
        AssertAt(s, 0, 1e-4 / 25, 0.95);
        AssertAt(s, 999, 1e-4, 0.85);       // the warmup-th step uses the peak
        AssertAt(s, 4999, 1e-4 / 25 / 1e4, 0.95);
    }

    [Fact]
    public void MidpointsOfBothPhasesAreLinear()
    {
        // warmup 101: phase one ends at step 100; steps 301: phase two ends at step 300.
        var s = new OneCycle(1e-4, 101, 301);
        AssertAt(s, 50, (1e-4 + 4e-6) / 2, 0.90);
        AssertAt(s, 200, (1e-4 + 4e-10) / 2, 0.90);
        AssertAt(s, 100, 1e-4, 0.85);
        AssertAt(s, 300, 4e-10, 0.95);
        // Monotone within each phase.
        for (int i = 1; i <= 100; i++) Assert.True(s.At(i).LearningRate > s.At(i - 1).LearningRate);
        for (int i = 101; i <= 300; i++) Assert.True(s.At(i).LearningRate < s.At(i - 1).LearningRate);
    }

    [Fact]
    public void OneStepWarmupPeaksAtOnceAndNoWarmupStartsDecaying()
    {
        AssertAt(new OneCycle(1e-3, 1, 10), 0, 1e-3, 0.85);
        var s = new OneCycle(1e-3, 0, 10);
        Assert.True(s.At(0).LearningRate < 1e-3);
        AssertAt(s, 9, 1e-3 / 25 / 1e4, 0.95);
    }

    static void AssertAt(OneCycle s, int step, double lr, double beta1)
    {
        var (l, b) = s.At(step);
        Assert.Equal(lr, l, 1e-16); // PyTorch rounds the same way: (end - start)·1 + start
        Assert.Equal(beta1, b, 1e-12);
    }
}

public class LraChunkTests
{
    [Theory]
    [InlineData(2048, 64, 33)]
    [InlineData(4096, 4096, 2)]
    [InlineData(4000, 64, 63)]
    [InlineData(1024, 32, 33)]
    [InlineData(1024, 1, 1025)]
    [InlineData(10, 3, 4)]
    public void SegmentLengthIsLengthOverSegmentsPlusOne(int n, int segments, int expected) =>
        Assert.Equal(expected, FixedChunks.SegmentLength(n, segments));

    [Fact]
    public void IdsRunInOrderAndTheLastChunkIsShorter()
    {
        using var ids = FixedChunks.SegmentIds(10, 4);
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 2, 2 }, ids.data<long>().ToArray());
    }

    [Theory]
    [InlineData(10, 4)]
    [InlineData(12, 4)]
    [InlineData(7, 8)]
    [InlineData(9, 1)]
    public void ChunkMaxMatchesANaiveLoop(int n, int segLen)
    {
        manual_seed(1);
        using var x = randn(2, n, 3);
        using var fast = SegmentMaxPool.ByChunks(x, segLen);
        var xs = x.data<float>().ToArray();
        var got = fast.contiguous().data<float>().ToArray();
        for (int b = 0; b < 2; b++)
            for (int l = 0; l < n; l++)
                for (int d = 0; d < 3; d++)
                {
                    float max = float.NegativeInfinity;
                    for (int j = l / segLen * segLen; j < Math.Min(n, (l / segLen + 1) * segLen); j++)
                        max = Math.Max(max, xs[(b * n + j) * 3 + d]);
                    Assert.Equal(max, got[(b * n + l) * 3 + d]);
                }
    }

    [Fact]
    public void ChunkMaxAgreesWithTheVerifiedSegmentMaxInValueAndGradient()
    {
        manual_seed(2);
        int n = 11, segLen = 3;
        using var x1 = randn(2, n, 4).requires_grad_();
        using var x2 = x1.detach().clone().requires_grad_();
        using var seg = FixedChunks.SegmentIds(n, segLen).unsqueeze(0).expand(2, n).contiguous();
        using var w = randn(2, n, 4);
        using var a = SegmentMaxPool.ByChunks(x1, segLen);
        using var b = SegmentMaxPool.ByIds(x2, seg, (n + segLen - 1) / segLen);
        Assert.True(a.eq(b).all().item<bool>());
        (a * w).sum().backward();
        (b * w).sum().backward();
        Assert.True(x1.grad!.allclose(x2.grad!, 1e-6, 1e-6));
    }
}
