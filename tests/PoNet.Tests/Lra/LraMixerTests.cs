using PoNet.Lra;
using PoNet.Model.Mixers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests.Lra;

public class LraMixerTests
{
    internal static LraConfig Tiny(MixerKind mixer = MixerKind.PoNet) => new()
    {
        Mixer = mixer, Layers = 2, Dim = 8, Heads = 2, Ffn = 16, HeadHidden = 8, VocabSize = 10, Classes = 2,
        MaxLength = 11, Segments = 3, Dropout = 0.1,
    };

    public static TheoryData<string> Kinds() => new() { "ponet", "transformer", "fnet" };

    static MixerKind Kind(string name) => name switch { "transformer" => MixerKind.Transformer, "fnet" => MixerKind.FNet, _ => MixerKind.PoNet };

    /// <summary>The LRA encoder's mixer context: SMP over the config's fixed chunks.</summary>
    static MixerContext Context(LraConfig config, Tensor valid) => MixerContext.FromValid(valid, new FixedChunkSegments(config.SegmentLength));

    /// <summary>Rows 0 and 1 have 7 and 11 real tokens.</summary>
    static Tensor Valid(int n = 11) => stack([arange(n).lt(7), ones(n, dtype: ScalarType.Bool)]);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void OutputShapeIsInputShape(string kind)
    {
        manual_seed(3);
        var config = Tiny(Kind(kind));
        using var mixer = TokenMixer.Create(config.MixerSpec);
        using var x = randn(2, 11, 8);
        using var y = mixer.forward(x, Context(config, Valid()));
        Assert.Equal(new long[] { 2, 11, 8 }, y.shape);
        Assert.False(y.isnan().any().item<bool>());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void RealTokensIgnoreWhateverIsAtPaddedPositions(string kind)
    {
        manual_seed(4);
        var config = Tiny(Kind(kind));
        using var mixer = TokenMixer.Create(config.MixerSpec);
        mixer.eval();
        using var valid = Valid();
        var m = Context(config, valid);
        using var x = randn(2, 11, 8);
        using var noise = randn(2, 11, 8) * 100;
        using var x2 = where(valid.unsqueeze(-1), x, noise);
        using var _ = no_grad();
        using var y1 = mixer.forward(x, m);
        using var y2 = mixer.forward(x2, m);
        using var keep = valid.unsqueeze(-1).expand_as(y1);
        Assert.True(y1.masked_select(keep).allclose(y2.masked_select(keep), 1e-5, 1e-6));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void EncoderIgnoresTokensAtPaddedPositions(string kind)
    {
        manual_seed(5);
        using var encoder = new LraEncoder(Tiny(Kind(kind)));
        encoder.eval();
        using var valid = Valid();
        using var tokens = randint(1, 10, [2, 11]).masked_fill(valid.logical_not(), 0);
        using var other = where(valid, tokens, randint(1, 10, [2, 11]));
        using var _ = no_grad();
        using var h1 = encoder.forward(tokens);           // padding from token 0
        using var h2 = encoder.forward(other, valid);     // same mask, junk tokens under it
        Assert.True(h1.allclose(h2, 1e-5, 1e-6));
        Assert.Equal(0, h1[0, 7..].abs().sum().item<float>()); // padded outputs are zero
    }

    [Theory]
    [InlineData(11, 3, false)]  // seg_len 4: the last chunk is shorter
    [InlineData(12, 4, false)]  // seg_len 4: N a multiple of it
    [InlineData(12, 4, true)]   // no padding at all: the masks are skipped
    [InlineData(12, 1, false)]  // seg_len 13 > N: one chunk
    public void PoNetMixerMatchesANaiveImplementationInEveryVariantWithGradients(int n, int segments, bool full)
    {
        foreach (var fusion in new[] { PoNetFusion.Multiply, PoNetFusion.Add })
            for (int mask = 0; mask < 7; mask++)
            {
                var config = Tiny() with { Ablate = (PoNetBranches)mask, Fusion = fusion, MaxLength = n, Segments = segments };
                manual_seed(6);
                using var mixer = new PoNetMixer(config.MixerSpec);
                using var x = randn(2, n, 8);
                using var valid = full ? ones(2, n, dtype: ScalarType.Bool) : Valid(n);
                var inputs = Context(config, valid);
                Assert.Equal(!full, inputs.HasPadding);
                using var xFast = x.detach().requires_grad_(true);
                using var xSlow = x.detach().requires_grad_(true);
                using var fast = mixer.forward(xFast, inputs);
                using var weights = randn(2, n, 8);
                (fast * weights).sum().backward();
                var fastGrads = mixer.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
                mixer.zero_grad();
                using var slow = NaivePoNet(mixer, config, xSlow, valid);
                (slow * weights).sum().backward();
                var what = $"N {n}, segments {segments}, full {full}, ablate {config.Ablate}, fusion {fusion}";
                Assert.True(fast.allclose(slow, 1e-5, 1e-5), what);
                Assert.True(xFast.grad!.allclose(xSlow.grad!, 1e-4, 1e-4), what + ": dX");
                foreach (var (name, p) in mixer.named_parameters())
                    Assert.True(fastGrads[name].allclose(p.grad!, 1e-4, 1e-4), $"{what}: d{name}");
            }
    }

    [Fact]
    public void AblationsAndFusionChangeTheOutputAndDropTheirProjections()
    {
        var outputs = new List<Tensor>();
        using var x = randn(2, 11, 8);
        using var valid = Valid();
        foreach (var (ablate, fusion) in new[]
        {
            (PoNetBranches.None, PoNetFusion.Multiply), (PoNetBranches.GlobalAggregation, PoNetFusion.Multiply),
            (PoNetBranches.SegmentMaxPooling, PoNetFusion.Multiply), (PoNetBranches.LocalMaxPooling, PoNetFusion.Multiply),
            (PoNetBranches.None, PoNetFusion.Add),
        })
        {
            manual_seed(7);
            using var full = new PoNetMixer(Tiny().MixerSpec);
            using var mixer = new PoNetMixer((Tiny() with { Ablate = ablate, Fusion = fusion }).MixerSpec);
            // Same weights where both have them, so only the formula differs.
            var source = full.state_dict();
            using (no_grad())
                foreach (var (name, p) in mixer.state_dict()) p.copy_(source[name]);
            var names = mixer.state_dict().Keys.ToHashSet();
            Assert.Equal(!ablate.HasFlag(PoNetBranches.GlobalAggregation), names.Contains("dense_q.weight"));
            Assert.Equal(!ablate.HasFlag(PoNetBranches.SegmentMaxPooling), names.Contains("dense_segment.weight"));
            Assert.Equal(!ablate.HasFlag(PoNetBranches.LocalMaxPooling), names.Contains("dense_local.weight"));
            Assert.Equal(fusion == PoNetFusion.Multiply, names.Contains("dense_o.weight"));
            using var _ = no_grad();
            outputs.Add(mixer.forward(x, Context(Tiny(), valid)));
        }
        for (int i = 0; i < outputs.Count; i++)
            for (int j = i + 1; j < outputs.Count; j++)
                Assert.False(outputs[i].allclose(outputs[j], 1e-3, 1e-3), $"variants {i} and {j} agree");
        foreach (var o in outputs) o.Dispose();
    }

    [Fact]
    public void AblatingEveryBranchIsAnInputError() =>
        Assert.Throws<PoNetInputException>(() => (Tiny() with
        {
            Ablate = PoNetBranches.GlobalAggregation | PoNetBranches.SegmentMaxPooling | PoNetBranches.LocalMaxPooling,
        }).Validate());

    [Fact]
    public void FourierMixerIsTheRealPartOfThe2dDft()
    {
        using var mixer = new FourierMixer(Tiny(MixerKind.FNet).MixerSpec);
        using var x = randn(1, 5, 4, dtype: ScalarType.Float64);
        using var valid = ones(1, 5, dtype: ScalarType.Bool);
        using var y = mixer.forward(x, MixerContext.FromValid(valid));
        var xs = x.data<double>().ToArray();
        for (int k = 0; k < 5; k++)
            for (int h = 0; h < 4; h++)
            {
                double re = 0;
                for (int n = 0; n < 5; n++)
                    for (int d = 0; d < 4; d++)
                        re += xs[n * 4 + d] * Math.Cos(2 * Math.PI * ((double)k * n / 5 + (double)h * d / 4));
                Assert.Equal(re, y[0, k, h].item<double>(), 1e-9);
            }
    }

    [Theory]
    [InlineData(AttentionKernel.Sdpa)]
    [InlineData(AttentionKernel.Explicit)]
    public void AttentionMixerMatchesExplicitSoftmaxAttention(AttentionKernel kernel)
    {
        manual_seed(8);
        var config = Tiny(MixerKind.Transformer) with { Attention = kernel };
        using var mixer = new AttentionMixer(config.MixerSpec);
        using var x = randn(2, 11, 8);
        using var valid = Valid();
        using var _ = no_grad();
        using var y = mixer.forward(x, Context(config, valid));
        var p = mixer.state_dict();
        Tensor Proj(string name, Tensor t) => nn.functional.linear(t, p[name + ".weight"], p[name + ".bias"]);
        var q = Proj("query", x).view(2, 11, 2, 4).transpose(1, 2);
        var k = Proj("key", x).view(2, 11, 2, 4).transpose(1, 2);
        var v = Proj("value", x).view(2, 11, 2, 4).transpose(1, 2);
        var scores = q.matmul(k.transpose(-1, -2)) / 2.0;
        scores = scores.masked_fill(valid.logical_not().view(2, 1, 1, 11), double.NegativeInfinity);
        var context = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(2, 11, 8);
        Assert.True(y.allclose(Proj("dense", context), 1e-5, 1e-6));
    }

    /// <summary>docs/MODEL.md §1/§6 written out directly: separate projections, explicit loops for the pools.</summary>
    static Tensor NaivePoNet(PoNetMixer mixer, LraConfig c, Tensor x, Tensor valid)
    {
        var p = mixer.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Tensor Proj(string name) => nn.functional.linear(x, p[name + ".weight"], p[name + ".bias"]);
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        int h = c.Heads, dh = c.HeadDim, segLen = c.SegmentLength;
        var y = zeros(b, n, d);
        bool ga = !c.Ablate.HasFlag(PoNetBranches.GlobalAggregation), smp = !c.Ablate.HasFlag(PoNetBranches.SegmentMaxPooling);
        bool lmp = !c.Ablate.HasFlag(PoNetBranches.LocalMaxPooling), mul = c.Fusion == PoNetFusion.Multiply && (ga || smp);
        var validF = valid.to(ScalarType.Float32);
        var pooled = zeros(b, n, d);
        if (ga)
        {
            var q = Proj("dense_q"); var k = Proj("dense_k");
            for (int i = 0; i < b; i++)
                for (int head = 0; head < h; head++)
                {
                    var cols = arange(head * dh, (head + 1) * dh);
                    var qi = q[i].index_select(1, cols); var ki = k[i].index_select(1, cols);
                    var g = (qi * validF[i].unsqueeze(-1)).sum([0L]) / validF[i].sum();
                    var s = ki.matmul(g) / Math.Sqrt(dh) + (1 - validF[i]) * -10000f;
                    var g2 = (s.softmax(0).unsqueeze(-1) * ki).sum([0L]);
                    pooled[i].index_copy_(1, cols, g2.expand(n, dh).contiguous());
                }
        }
        if (smp)
        {
            var s0 = Proj("dense_segment").masked_fill(valid.logical_not().unsqueeze(-1), -10000f);
            var s = zeros(b, n, d);
            for (int l = 0; l < n; l++)
            {
                int start = l / segLen * segLen, end = (int)Math.Min(n, start + segLen);
                s[.., l] = s0[.., start..end].amax([1]);
            }
            pooled = pooled + s;
        }
        if (ga || smp) y = mul ? pooled * Proj("dense_o") : pooled;
        if (lmp)
        {
            var l0 = Proj("dense_local").masked_fill(valid.logical_not().unsqueeze(-1), -10000f);
            var lm = zeros(b, n, d);
            for (int l = 0; l < n; l++)
                lm[.., l] = l0[.., Math.Max(0, l - 1)..(int)Math.Min(n, l + 2)].amax([1]);
            y = y + lm;
        }
        y = y.masked_fill(valid.logical_not().unsqueeze(-1), 0f);
        return nn.functional.linear(y, p["dense.weight"], p["dense.bias"]);
    }
}

public class MixerContextTests
{
    [Fact]
    public void ZeroAndFillPadsGiveMaskedFillsValuesAndGradientsExactly()
    {
        manual_seed(12);
        using var valid = stack([arange(9).lt(5), ones(9, dtype: ScalarType.Bool)]);
        var m = MixerContext.FromValid(valid);
        using var x = (randn(2, 9, 6) * 1000).requires_grad_(true);
        using var weights = randn(2, 9, 6);
        foreach (var value in new[] { 0f, -10000f })
        {
            using var reference = x.masked_fill(m.Pad, value);
            using var fast = value == 0 ? m.ZeroPads(x) : m.FillPads(x, value);
            Assert.True(reference.eq(fast).all().item<bool>());
            var g1 = torch.autograd.grad([(reference * weights).sum()], [x])[0];
            var g2 = torch.autograd.grad([(fast * weights).sum()], [x])[0];
            Assert.True(g1.eq(g2).all().item<bool>());
        }
        // Without padding both are the input itself.
        var full = MixerContext.FromValid(ones(2, 9, dtype: ScalarType.Bool));
        Assert.False(full.HasPadding);
        Assert.True(full.FillPads(x, -10000f).eq(x).all().item<bool>());
    }
}

public class PoolingFusionTests
{
    /// <summary>
    /// The PoolingFusion node against the same function built from libtorch ops (the D→3D product,
    /// amax over chunks, max_pool1d, element-wise gating, the output projection) under libtorch's
    /// autograd: outputs and the gradients of x, W3, b3, g2, W and b. A projection of integers onto
    /// integer weights makes P integer-valued, so ties are everywhere and the tie rules are checked
    /// too (amax shares the gradient among equal maxima, max_pool1d gives it to the first).
    /// </summary>
    [Theory]
    [InlineData(11, 4, true)]   // last chunk shorter, padding
    [InlineData(12, 4, false)]  // N a multiple of seg_len, no padding
    [InlineData(12, 2, true)]   // seg_len 2 (LRA Text's)
    [InlineData(5, 13, true)]   // seg_len > N: one chunk
    [InlineData(1, 2, false)]   // one position
    public void PoolingFusionNodeHasTheGradientsOfTheOpsItReplacesTiesIncluded(int n, int segLen, bool padding)
    {
        manual_seed(11);
        const int d = 4;
        using var x0 = randint(-1, 2, [2, n, d]).to_type(ScalarType.Float32);
        using var w30 = randint(-1, 2, [3 * d, d]).to_type(ScalarType.Float32);
        using var b30 = randint(-1, 2, [3 * d]).to_type(ScalarType.Float32);
        using var g20 = randint(-1, 2, [2, 1, d]).to_type(ScalarType.Float32);
        using var w0 = randn(d, d);
        using var b0 = randn(d);
        using var valid = padding ? stack([arange(n).lt(Math.Max(1, n - 3)), ones(n, dtype: ScalarType.Bool)]) : ones(2, n, dtype: ScalarType.Bool);
        using var keep = valid.unsqueeze(-1).to_type(ScalarType.Float32);
        using var weights = randn(2, n, d);
        Tensor[] Leaves() => [.. new[] { x0, w30, b30, g20, w0, b0 }.Select(t => t.detach().requires_grad_(true))];

        var fast = Leaves();
        using var yFast = PoolingFusion.Apply(fast[0], fast[1], fast[2], fast[3], fast[4], fast[5], padding ? keep : null, segLen);
        (yFast * weights).sum().backward();

        var slow = Leaves();
        var pieces = nn.functional.linear(slow[0], slow[1], slow[2]).split(d, -1);
        var local = padding ? MaskOps.Fill(pieces[0], keep, -10000f) : pieces[0];
        var segment = padding ? MaskOps.Fill(pieces[1], keep, -10000f) : pieces[1];
        var s = SegmentMaxPool.ByChunks(segment, Math.Min(segLen, n));
        var y = (s + slow[3]) * pieces[2] + LocalMaxPool.Fast(local);
        if (padding) y = y * keep;
        using var ySlow = nn.functional.linear(y, slow[4], slow[5]);
        (ySlow * weights).sum().backward();

        Assert.True(yFast.allclose(ySlow, 1e-5, 1e-5), "output");
        string[] names = ["x", "W3", "b3", "g2", "W", "b"];
        for (int i = 0; i < names.Length; i++)
        {
            Assert.Equal(slow[i].grad!.shape, fast[i].grad!.shape);
            Assert.True(fast[i].grad!.allclose(slow[i].grad!, 1e-5, 1e-5), $"d{names[i]}: {(fast[i].grad! - slow[i].grad!).abs().max().item<float>()}");
        }
        using (no_grad())
        using (var yEval = PoolingFusion.Apply(x0, w30, b30, g20, w0, b0, padding ? keep : null, segLen))
            Assert.True(yEval.allclose(yFast, 1e-6, 1e-6), "no-grad path");
    }

    /// <summary>The whole LRA PoNet mixer with the node (`--low-memory`) against the op-by-op form: values and every parameter's gradient.</summary>
    [Theory]
    [InlineData(11, 3, false)]
    [InlineData(12, 4, true)]
    public void LowMemoryMixerMatchesTheOpByOpMixerWithGradients(int n, int segments, bool full)
    {
        var config = LraMixerTests.Tiny() with { MaxLength = n, Segments = segments };
        manual_seed(13);
        using var mixer = new PoNetMixer(config.MixerSpec);
        using var x = randn(2, n, 8);
        using var valid = full ? ones(2, n, dtype: ScalarType.Bool) : stack([arange(n).lt(7), ones(n, dtype: ScalarType.Bool)]);
        var ctx = MixerContext.FromValid(valid, new FixedChunkSegments(config.SegmentLength));
        using var weights = randn(2, n, 8);
        (Tensor Y, Tensor Dx, Dictionary<string, Tensor> Grads) Run(bool lowMemory)
        {
            var before = PoolingFusion.Enabled;
            PoolingFusion.Enabled = lowMemory;
            try
            {
                mixer.zero_grad();
                var xi = x.detach().requires_grad_(true);
                var y = mixer.forward(xi, ctx);
                (y * weights).sum().backward();
                return (y.detach(), xi.grad!.clone(), mixer.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone()));
            }
            finally { PoolingFusion.Enabled = before; }
        }
        var (y1, dx1, g1) = Run(true);
        var (y0, dx0, g0) = Run(false);
        Assert.True(y1.allclose(y0, 1e-5, 1e-5));
        Assert.True(dx1.allclose(dx0, 1e-4, 1e-4), "dX");
        foreach (var (name, g) in g0) Assert.True(g1[name].allclose(g, 1e-4, 1e-4), $"d{name}");
    }

    /// <summary>
    /// An exception inside a TorchSharp custom backward would end the process, so the node must not
    /// fail on a graph kept for a second backward: it keeps what it saved until the graph goes.
    /// </summary>
    [Fact]
    public void PoolingFusionSupportsASecondBackwardThroughARetainedGraph()
    {
        manual_seed(12);
        using var x = randn(2, 6, 4).requires_grad_(true);
        using var w3 = randn(12, 4).requires_grad_(true);
        using var b3 = randn(12).requires_grad_(true);
        using var g2 = randn(2, 1, 4).requires_grad_(true);
        using var w = randn(4, 4).requires_grad_(true);
        using var b = randn(4).requires_grad_(true);
        using var loss = PoolingFusion.Apply(x, w3, b3, g2, w, b, null, 2).sum();
        loss.backward(retain_graph: true);
        using var once = x.grad!.clone();
        loss.backward();
        Assert.True(x.grad!.allclose(once * 2, 1e-5, 1e-5));
    }
}
