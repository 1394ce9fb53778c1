using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model;

/// <summary>What the mixer needs besides X: masks and segments, computed once per forward.</summary>
public sealed record MixerContext(
    Tensor Valid,            // [B,N] bool, true for real tokens
    Tensor AdditiveMask,     // [B,N] float, 0 for real tokens, -10000 for padding
    Tensor ValidCount,       // [B,1,1] float, number of real tokens (at least 1)
    Tensor? Special,         // [B,N,1] bool: [CLS]/[SEP] when clsgsepg, else null
    Tensor SegmentIndex,     // [B,N] int64, compact segment ids 0..S-1
    long NumSegments,
    PoNetTrace? Trace);

/// <summary>
/// PoNet's token mixer (PONET.md §1), state-dict name <c>attention.self</c>: global aggregation,
/// segment max-pooling and local max-pooling fused as (g2 + S) ⊙ O + L. Linear in N: no N×N tensor.
/// </summary>
public sealed class MultiGranularityPooling : Module<Tensor, MixerContext, Tensor>
{
    // Registered in the reference's order; the names are the checkpoint keys.
    readonly Linear dense_local, dense_segment, dense_q, dense_k, dense_o;
    readonly int heads;

    public MultiGranularityPooling(PoNetConfig config) : base("attention.self")
    {
        var d = config.HiddenSize;
        heads = config.NumAttentionHeads;
        dense_local = Linear(d, d);
        dense_segment = Linear(d, d);
        dense_q = Linear(d, d);
        dense_k = Linear(d, d);
        dense_o = Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // L0, S0 and O as one D×3D GEMM. Q and K are linear in X and GA needs them only through a
        // mean and a weighted sum over tokens, so they are formed from X afterwards (see below).
        var weight = cat([dense_local.weight!, dense_segment.weight!, dense_o.weight!], 0);
        var bias = cat([dense_local.bias!, dense_segment.bias!, dense_o.bias!], 0);
        var parts = ComputePrecision.Linear(x, weight, bias).split(d, -1);
        Tensor local = parts[0], segment = parts[1], o = parts[2];
        // 0/1 masks for MaskOps.Fill (masked_fill by arithmetic: the same values, several times faster here).
        var keep = ctx.Valid.unsqueeze(-1).to_type(x.dtype);                                   // [B,N,1]
        var notSpecial = ctx.Special is null ? null : ctx.Special.logical_not().to_type(x.dtype);

        // Global aggregation, with Q and K formed from X's mean and weighted sum (see GlobalAggregation).
        var g2 = GlobalAggregation.FromX(x, ctx.Valid.unsqueeze(1), ctx.ValidCount, ctx.AdditiveMask.unsqueeze(-1),
            dense_q, dense_k, heads);                                                                  // [B,1,D]

        // Segment max-pooling.
        var s = Segments.SegmentMax(MaskOps.Fill(segment, keep, -10000f), ctx.SegmentIndex, ctx.NumSegments);

        // Local max-pooling, window 3, stride 1; max_pool1d pads with -inf, so outside neighbours are ignored.
        var localMasked = MaskOps.Fill(local, notSpecial is null ? keep : keep * notSpecial, -10000f);
        var l = functional.max_pool1d(localMasked.transpose(1, 2), 3, 1, 1).transpose(1, 2);

        if (ctx.Trace is { } trace)
        {
            trace.LocalMax.Add(l.detach().clone().DetachFromDisposeScope());
            trace.SegmentMax.Add(s.detach().clone().DetachFromDisposeScope());
        }
        if (notSpecial is not null)
        {
            s = MaskOps.Fill(s, notSpecial, 0f);
            l = MaskOps.Fill(l, notSpecial, 0f);
        }

        // Pooling fusion.
        var y = MaskOps.Fill((g2 + s) * o + l, keep, 0f);
        ctx.Trace?.AttnContext.Add(y.detach().clone().DetachFromDisposeScope());
        return y.MoveToOuterDisposeScope();
    }
}

/// <summary>Intermediate tensors the golden files record; filled only when a trace is passed.</summary>
public sealed class PoNetTrace : IDisposable
{
    public List<Tensor> HiddenStates { get; } = [];
    public List<Tensor> AttnContext { get; } = [];
    public List<Tensor> LocalMax { get; } = [];
    public List<Tensor> SegmentMax { get; } = [];

    public void Dispose()
    {
        foreach (var t in HiddenStates.Concat(AttnContext).Concat(LocalMax).Concat(SegmentMax)) t.Dispose();
    }
}
