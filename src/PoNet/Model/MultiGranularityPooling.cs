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
    readonly int heads, headDim;

    public MultiGranularityPooling(PoNetConfig config) : base("attention.self")
    {
        var d = config.HiddenSize;
        heads = config.NumAttentionHeads;
        headDim = config.HeadDim;
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

        // Global aggregation: the masked mean of Q is one query per head, which attends over K (keys =
        // values). Per head h (W_h: the head's rows): g_h = mean(X)·W_qhᵀ + b_qh; the score of token l,
        // ⟨g_h, K_lh⟩/√dh = X_l·(W_khᵀ g_h)/√dh + ⟨g_h, b_kh⟩/√dh, has a last term common to all l that
        // the softmax over l ignores (the −10000 padding mask is added, so pads keep their distance);
        // and since the weights sum to 1, Σ_l p_lh K_lh = (Σ_l p_lh X_l)·W_khᵀ + b_kh. Four small
        // batched matmuls over X instead of two N×D projections and their element-wise products.
        var mean = matmul(ctx.Valid.unsqueeze(1).to_type(x.dtype), x) / ctx.ValidCount;          // [B,1,D]
        var g = functional.linear(mean, dense_q.weight!, dense_q.bias).view(b, heads, 1, headDim);  // [B,H,1,dh]
        var wk = dense_k.weight!.view(heads, headDim, d);                                        // [H,dh,D]
        var u = matmul(g, wk).view(b, heads, d) / Math.Sqrt(headDim);                               // [B,H,D]
        var scores = matmul(x, u.transpose(1, 2)) + ctx.AdditiveMask.unsqueeze(-1);                // [B,N,H]
        var p = scores.softmax(1);
        var z = matmul(p.transpose(1, 2), x);                                                      // [B,H,D]
        var g2 = matmul(z.unsqueeze(2), wk.transpose(1, 2)).view(b, 1, d) + dense_k.bias!;          // [B,1,D]

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
