using PoNet.Model;
using PoNet.Model.Mixers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

public class PoolGateKernelTests
{
    /// <summary>The mixer's ops path after the fused projection: pads at −10000, chunk max + g2, gate × O, plus the window-3 max.</summary>
    static Tensor Ops(Tensor parts, Tensor g2, Tensor? keep, int segmentLength)
    {
        using var scope = NewDisposeScope();
        long b = parts.shape[0], n = parts.shape[1], d = parts.shape[2] / 3;
        var pieces = parts.split(d, -1);
        var local = keep is null ? pieces[0] : MaskOps.Fill(pieces[0], keep, -10000f);
        var segment = keep is null ? pieces[1] : MaskOps.Fill(pieces[1], keep, -10000f);
        long segLen = Math.Min(segmentLength, n), chunks = (n + segLen - 1) / segLen;
        var gate = SegmentMaxPool.ChunkRows(segment, segLen) + g2.unsqueeze(1);
        var full = FixedChunks.PadToChunks(pieces[2], segLen).view(b, chunks, segLen, d) * gate;
        var y = full.reshape(b, chunks * segLen, d).narrow(1, 0, n) + LocalMaxPool.Fast(local);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Integer-valued P and g2 put ties everywhere (equal maxima in a chunk, equal values in a
    /// window), so the tie rules are checked as well as the formulas: amax shares the gradient among
    /// equal maxima, max_pool1d gives it to the first maximum of the window. Sums of small integers
    /// are exact, so the gradients must agree exactly too.
    /// </summary>
    [Theory]
    [InlineData(12, 2, 8, false)]   // LRA Text's chunks of 2, D a multiple of 8
    [InlineData(11, 2, 8, true)]    // padding, last chunk shorter
    [InlineData(10, 3, 12, true)]   // D with a tail past the 8-wide vectors
    [InlineData(7, 1, 5, false)]    // one-token chunks
    [InlineData(6, 9, 16, true)]    // one chunk longer than N
    [InlineData(1, 2, 3, false)]    // one position
    public void KernelIsTheOpsValuesBitForBitAndTheirGradientsTiesIncluded(int n, int segLen, int d, bool padding)
    {
        manual_seed(31);
        using var p0 = randint(-2, 3, [3, n, 3 * d]).to_type(ScalarType.Float32);
        using var g0 = randint(-2, 3, [3, 1, d]).to_type(ScalarType.Float32);
        using var valid = padding
            ? stack([arange(n).lt(Math.Max(1, n - 3)), ones(n, dtype: ScalarType.Bool), arange(n).lt(1)])
            : ones(3, n, dtype: ScalarType.Bool);
        Tensor? keep = padding ? valid.unsqueeze(-1).to_type(ScalarType.Float32) : null;
        using var weights = randint(-3, 4, [3, n, d]).to_type(ScalarType.Float32);

        using var pk = p0.detach().requires_grad_(true);
        using var gk = g0.detach().requires_grad_(true);
        using var po = p0.detach().requires_grad_(true);
        using var go = g0.detach().requires_grad_(true);
        using var yKernel = PoolGateKernel.Apply(pk, gk, keep, segLen);
        using var yOps = Ops(po, go, keep, segLen);
        Assert.True(yKernel.equal(yOps).all().item<bool>(), "the same values bit for bit");

        var gKernel = autograd.grad([(yKernel * weights).sum()], [pk, gk]);
        var gOps = autograd.grad([(yOps * weights).sum()], [po, go]);
        Golden.AssertClose(gOps[0], gKernel[0], 0, 0, "dP");
        Golden.AssertClose(gOps[1], gKernel[1], 0, 0, "dg2");
    }

    [Fact]
    public void KernelOnRandomValuesAgreesWithTheOpsToRounding()
    {
        manual_seed(32);
        using var p = randn(2, 37, 3 * 24).requires_grad_(true);
        using var g = randn(2, 1, 24).requires_grad_(true);
        using var keep = stack([arange(37).lt(30), ones(37, dtype: ScalarType.Bool)]).unsqueeze(-1).to_type(ScalarType.Float32);
        using var weights = randn(2, 37, 24);
        using var yKernel = PoolGateKernel.Apply(p, g, keep, 4);
        using var yOps = Ops(p, g, keep, 4);
        Assert.True(yKernel.equal(yOps).all().item<bool>(), "the same values bit for bit");
        var gKernel = autograd.grad([(yKernel * weights).sum()], [p, g]);
        var gOps = autograd.grad([(yOps * weights).sum()], [p, g]);
        Golden.AssertClose(gOps[0], gKernel[0], 1e-6, 1e-6, "dP");
        Golden.AssertClose(gOps[1], gKernel[1], 1e-5, 1e-6, "dg2");
    }

    /// <summary>
    /// The node does not keep P: it keeps O, the gate and the maxima's positions. Overwriting P
    /// after the forward (which libtorch would refuse at backward if P were saved) must leave the
    /// gradients those of the original P.
    /// </summary>
    [Fact]
    public void BackwardDoesNotReadPAfterTheForward()
    {
        manual_seed(34);
        using var p0 = randint(-2, 3, [2, 9, 3 * 11]).to_type(ScalarType.Float32);
        using var g0 = randint(-2, 3, [2, 1, 11]).to_type(ScalarType.Float32);
        using var keep = stack([arange(9).lt(7), ones(9, dtype: ScalarType.Bool)]).unsqueeze(-1).to_type(ScalarType.Float32);
        using var weights = randint(-3, 4, [2, 9, 11]).to_type(ScalarType.Float32);
        using var pk = p0.clone().requires_grad_(true);
        using var gk = g0.clone().requires_grad_(true);
        using var po = p0.clone().requires_grad_(true);
        using var go = g0.clone().requires_grad_(true);
        using var yKernel = PoolGateKernel.Apply(pk, gk, keep, 2);
        using (no_grad()) pk.mul_(-3).add_(1);
        var gKernel = autograd.grad([(yKernel * weights).sum()], [pk, gk]);
        var gOps = autograd.grad([(Ops(po, go, keep, 2) * weights).sum()], [po, go]);
        Golden.AssertClose(gOps[0], gKernel[0], 0, 0, "dP");
        Golden.AssertClose(gOps[1], gKernel[1], 0, 0, "dg2");
    }

    [Fact]
    public void NaNPropagatesThroughBothMaximaAsInLibtorch()
    {
        using var p = zeros(1, 4, 3);
        p[0, 1, 0] = tensor(float.NaN);   // L at token 1: the windows of tokens 0, 1 and 2
        p[0, 2, 1] = tensor(float.NaN);   // S at token 2: its chunk (tokens 2, 3)
        using var g = zeros(1, 1, 1);
        using var yKernel = PoolGateKernel.Apply(p, g, null, 2);
        using var yOps = Ops(p, g, null, 2);
        Assert.Equal(yOps.isnan().data<bool>().ToArray(), yKernel.isnan().data<bool>().ToArray());
        Assert.True(yKernel.isnan().sum().item<long>() >= 3);
    }

    [Fact]
    public void TheMixerWithTheKernelHasTheOpsMixersOutputAndGradients()
    {
        manual_seed(33);
        var mixer = TokenMixer.Create(new MixerSpec(MixerKind.PoNet, 16, 2) { OutputProjection = true });
        using var valid = stack([arange(13).lt(9), ones(13, dtype: ScalarType.Bool)]);
        var ctx = MixerContext.FromValid(valid, new FixedChunkSegments(3));
        using var x = randn(2, 13, 16).requires_grad_(true);
        using var weights = randn(2, 13, 16);
        var leaves = new[] { x }.Concat(mixer.parameters()).ToArray();
        bool before = PoolGateKernel.Enabled;
        Tensor yKernel, yOps;
        IList<Tensor> gKernel, gOps;
        try
        {
            PoolGateKernel.Enabled = true;
            yKernel = mixer.forward(x, ctx);
            gKernel = autograd.grad([(yKernel * weights).sum()], leaves);
            PoolGateKernel.Enabled = false;
            yOps = mixer.forward(x, ctx);
            gOps = autograd.grad([(yOps * weights).sum()], leaves);
        }
        finally { PoolGateKernel.Enabled = before; }
        Assert.True(yKernel.equal(yOps).all().item<bool>(), "the same values bit for bit");
        for (int i = 0; i < leaves.Length; i++)
            Golden.AssertClose(gOps[i], gKernel[i], 1e-6, 1e-5, $"gradient {i}");
    }
}
