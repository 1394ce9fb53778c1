using System.Reflection;
using PoNet.Model;
using PoNet.Model.Mixers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace PoNet.Tests;

/// <summary>
/// The fast pooling kernels against the forms that read like docs/MODEL.md §1 (values and every
/// gradient), on inputs with and without padding.
/// </summary>
public class ReferenceFormTests
{
    static Tensor Valid(bool padded) => padded
        ? stack([arange(9).lt(6), ones(9, dtype: ScalarType.Bool), arange(9).lt(1)])
        : ones(3, 9, dtype: ScalarType.Bool);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GlobalAggregationFromXIsThePapersFormWithGradients(bool padded)
    {
        manual_seed(21);
        using var query = nn.Linear(8, 8);
        using var key = nn.Linear(8, 8);
        using var valid = Valid(padded);
        var ctx = MixerContext.FromValid(valid);
        using var x = randn(3, 9, 8, dtype: ScalarType.Float32).requires_grad_(true);
        using var weights = randn(3, 1, 8);
        var parameters = new[] { x, query.weight!, query.bias!, key.weight!, key.bias! };

        using var fast = GlobalAggregation.FromX(x, ctx.HasPadding ? ctx.ValidScale.transpose(1, 2) : null, ctx.ValidCount,
            ctx.HasPadding ? (ctx.ValidScale - 1) * 10000f : null, query, key, heads: 2);
        using var reference = GlobalAggregation.Reference(x, valid, query, key, heads: 2);
        Golden.AssertClose(reference, fast, 1e-5, 1e-5, "g2");
        var fastGrads = autograd.grad([(fast * weights).sum()], parameters);
        var referenceGrads = autograd.grad([(reference * weights).sum()], parameters);
        for (int i = 0; i < parameters.Length; i++)
            Golden.AssertClose(referenceGrads[i], fastGrads[i], 1e-4, 1e-4, $"gradient {i}");
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    [InlineData(true, 4)]
    public void GlobalAggregationNodeHasTheValuesAndGradientsOfTheOpsItReplaces(bool padded, int heads)
    {
        // In float64, so that the node's written-out backward must agree to rounding, not to a loose tolerance.
        manual_seed(23);
        using var query = nn.Linear(8, 8, dtype: ScalarType.Float64);
        using var key = nn.Linear(8, 8, dtype: ScalarType.Float64);
        using var valid = Valid(padded);
        var ctx = MixerContext.FromValid(valid);
        Tensor? validRow = ctx.HasPadding ? ctx.ValidScale.transpose(1, 2).to_type(ScalarType.Float64) : null;
        Tensor? scoreMask = ctx.HasPadding ? ((ctx.ValidScale - 1) * 10000f).to_type(ScalarType.Float64) : null;
        using var count = ctx.ValidCount.to_type(ScalarType.Float64);
        using var x = randn(3, 9, 8, dtype: ScalarType.Float64).requires_grad_(true);
        using var weights = randn(3, 1, 8, dtype: ScalarType.Float64);
        var parameters = new[] { x, query.weight!, query.bias!, key.weight!, key.bias! };

        using var node = GlobalAggregation.FromX(x, validRow, count, scoreMask, query, key, heads);
        using var ops = GlobalAggregation.FromXOps(x, validRow, count, scoreMask, query, key, heads);
        Assert.True(node.equal(ops).all().item<bool>(), "the node's forward is the same ops");
        var nodeGrads = autograd.grad([(node * weights).sum()], parameters);
        var opsGrads = autograd.grad([(ops * weights).sum()], parameters);
        string[] names = ["dX", "dWq", "dbq", "dWk", "dbk"];
        for (int i = 0; i < parameters.Length; i++)
            Golden.AssertClose(opsGrads[i], nodeGrads[i], 1e-12, 1e-10, names[i]);
    }

    [Fact]
    public void SegmentMaxPoolingByIdsAndByChunksIsTheSegmentLoopWithGradients()
    {
        manual_seed(22);
        using var x = randn(2, 11, 5).requires_grad_(true);
        using var weights = randn(2, 11, 5);
        // Contiguous runs of different lengths per row, including one-token segments.
        using var ids = tensor(new long[,] { { 0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 4 }, { 0, 1, 1, 1, 1, 2, 3, 3, 4, 5, 5 } });
        using var byIds = SegmentMaxPool.ByIds(x, Segments.Compact(ids, validate: true), 6);
        using var loop = SegmentMaxPool.Reference(x, ids);
        Assert.True(byIds.equal(loop).all().item<bool>(), "max-pooling is exact");
        var g1 = autograd.grad([(byIds * weights).sum()], [x])[0];
        var g2 = autograd.grad([(loop * weights).sum()], [x])[0];
        Golden.AssertClose(g2, g1, 1e-6, 1e-6, "dX by ids");

        foreach (var segLen in new[] { 1, 3, 4, 11, 12 })
        {
            using var chunkIds = FixedChunks.SegmentIds(11, segLen).unsqueeze(0).expand(2, 11).contiguous();
            using var byChunks = SegmentMaxPool.ByChunks(x, segLen);
            using var chunkLoop = SegmentMaxPool.Reference(x, chunkIds);
            Assert.True(byChunks.equal(chunkLoop).all().item<bool>(), $"chunks of {segLen}");
            var c1 = autograd.grad([(byChunks * weights).sum()], [x])[0];
            var c2 = autograd.grad([(chunkLoop * weights).sum()], [x])[0];
            Golden.AssertClose(c2, c1, 1e-6, 1e-6, $"dX, chunks of {segLen}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(10)]
    public void LocalMaxPoolingIsTheMaximumOverTheThreeNeighboursWithGradients(int n)
    {
        manual_seed(23);
        using var x = randn(2, n, 4).requires_grad_(true);
        using var weights = randn(2, n, 4);
        using var fast = LocalMaxPool.Fast(x);
        using var reference = LocalMaxPool.Reference(x);
        Assert.True(fast.equal(reference).all().item<bool>());
        // A window as the spec writes it: max(x[l−1], x[l], x[l+1]), ignoring positions outside.
        for (int l = 0; l < n; l++)
        {
            using var window = x[.., Math.Max(0, l - 1)..Math.Min(n, l + 2)].amax([1]);
            Assert.True(window.equal(fast[.., l]).all().item<bool>(), $"position {l}");
        }
        var g1 = autograd.grad([(fast * weights).sum()], [x])[0];
        var g2 = autograd.grad([(reference * weights).sum()], [x])[0];
        Golden.AssertClose(g2, g1, 1e-6, 1e-6, "dX");
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void PoNetMixerGivesTheSameOutputForFixedChunksAndTheirSegmentIds(bool clsgsepg, bool outputProjection)
    {
        // The fused chunk path (S one row per chunk) and the general path (segment ids, TorchScript scatter).
        manual_seed(24);
        using var mixer = new PoNetMixer(new MixerSpec(MixerKind.PoNet, 8, 2) { ClsGSepG = clsgsepg, OutputProjection = outputProjection });
        using var valid = Valid(padded: true);
        using var x = randn(3, 9, 8);
        using var special = zeros(3, 9, 1, dtype: ScalarType.Bool).index_fill_(1, tensor(new long[] { 0, 4 }), true);
        using var ids = FixedChunks.SegmentIds(9, 4).unsqueeze(0).expand(3, 9).contiguous();
        var byChunks = MixerContext.FromValid(valid, new FixedChunkSegments(4)) with { Special = clsgsepg ? special : null };
        var byIds = MixerContext.FromValid(valid, new SegmentIds(ids, 3)) with { Special = clsgsepg ? special : null };
        using var _ = no_grad();
        using var a = mixer.forward(x, byChunks);
        using var b = mixer.forward(x, byIds);
        Golden.AssertClose(b, a, 1e-6, 1e-6, "fixed chunks vs segment ids");
    }

    [Fact]
    public void TheModelNamespaceDoesNotUseTheLraNamespace()
    {
        // docs/MODEL.md §11: the LRA layout builds on the model, never the other way round.
        var assembly = typeof(PoNetModel).Assembly;
        var offenders = new List<string>();
        bool IsLra(Type? t) => t is not null && (t.Namespace?.StartsWith("PoNet.Lra", StringComparison.Ordinal) == true
            || (t.IsGenericType && t.GetGenericArguments().Any(IsLra)) || (t.HasElementType && IsLra(t.GetElementType())));
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetTypes().Where(t => t.Namespace?.StartsWith("PoNet.Model", StringComparison.Ordinal) == true))
        {
            if (IsLra(type.BaseType) || type.GetInterfaces().Any(IsLra)) offenders.Add(type.FullName!);
            offenders.AddRange(type.GetFields(all).Where(f => IsLra(f.FieldType)).Select(f => $"{type.Name}.{f.Name}"));
            offenders.AddRange(type.GetMethods(all).Where(m => IsLra(m.ReturnType) || m.GetParameters().Any(p => IsLra(p.ParameterType)))
                .Select(m => $"{type.Name}.{m.Name}"));
            offenders.AddRange(type.GetConstructors(all).Where(c => c.GetParameters().Any(p => IsLra(p.ParameterType)))
                .Select(c => $"{type.Name}..ctor"));
        }
        Assert.Empty(offenders);
    }
}
