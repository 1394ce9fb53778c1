using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model.Mixers;

/// <summary>
/// PoNet's multi-granularity pooling (docs/MODEL.md §1), for both layouts. With Q, K, O, S0, L0 the
/// projections of X, per head:
/// <list type="bullet">
/// <item>GA: g = masked mean of Q; g2 = Σ_l softmax_l(⟨g, K_l⟩/√dh, pads −10000) · K_l.</item>
/// <item>SMP: S = max of S0 over the segment (pads −10000 first); segments from the context:
/// ids (from [CLS]/[SEP] or given) or fixed chunks.</item>
/// <item>LMP: L = max of L0 over the window l−1..l+1 (pads, and with clsgsepg [CLS]/[SEP], −10000 first).</item>
/// </list>
/// Fusion <see cref="PoNetFusion.Multiply"/> (the paper): Y = (g2 + S) ⊙ O + L;
/// <see cref="PoNetFusion.Add"/>: Y = g2 + S + L, with no O projection. An ablated branch is dropped
/// from the sum together with its projections. With clsgsepg, S and L are 0 at [CLS]/[SEP]. Then
/// Y[pad] = 0, and with an output projection (LRA) out = Y·Wᵀ + b.
/// </summary>
public sealed class PoNetMixer : TokenMixer
{
    // Registered in the reference's order; the names are the checkpoint keys (attention.self.dense_*
    // in the pretrained layout, encoder.layers.{i}.mixer.dense_* in LRA). Ablated projections are null
    // and so neither registered nor trained.
    readonly Linear? dense_local, dense_segment, dense_q, dense_k, dense_o, dense;
    readonly int heads;
    readonly bool clsgsepg;

    public PoNetMixer(MixerSpec spec) : base(nameof(PoNetMixer))
    {
        int d = spec.Dim;
        heads = spec.Heads;
        clsgsepg = spec.ClsGSepG;
        UsesGlobal = !spec.Ablate.HasFlag(PoNetBranches.GlobalAggregation);
        UsesSegment = !spec.Ablate.HasFlag(PoNetBranches.SegmentMaxPooling);
        UsesLocal = !spec.Ablate.HasFlag(PoNetBranches.LocalMaxPooling);
        if (!(UsesGlobal || UsesSegment || UsesLocal))
            throw new PoNetInputException("PoNet needs at least one of ga, smp, lmp");
        Multiplies = spec.Fusion == PoNetFusion.Multiply && (UsesGlobal || UsesSegment);
        if (UsesLocal) dense_local = Linear(d, d);
        if (UsesSegment) dense_segment = Linear(d, d);
        if (UsesGlobal) { dense_q = Linear(d, d); dense_k = Linear(d, d); }
        if (Multiplies) dense_o = Linear(d, d);
        if (spec.OutputProjection) dense = Linear(d, d);
        RegisterComponents();
    }

    /// <summary>Q, K, O, S0, L0 (those the ablation keeps) and the output projection when there is one.</summary>
    public override int CostModelProjections => new[] { dense_local, dense_segment, dense_q, dense_k, dense_o, dense }.Count(l => l is not null);

    /// <summary>L0, S0 and O as one fused product, then the output projection; Q and K are never formed per token (GlobalAggregation.FromX).</summary>
    public override IReadOnlyList<int> ProjectionWidths =>
        [.. new[] { new[] { dense_local, dense_segment, dense_o }.Count(l => l is not null), dense is null ? 0 : 1 }.Where(w => w > 0)];

    public bool UsesGlobal { get; }
    public bool UsesSegment { get; }
    public bool UsesLocal { get; }
    /// <summary>True when (g2 + S) is multiplied by O.</summary>
    public bool Multiplies { get; }

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // L0, S0 and O as one D×kD GEMM (§10.4); Q and K are never formed per token (GA from X, §10.3).
        Linear[] perToken = new[] { dense_local, dense_segment, dense_o }.OfType<Linear>().ToArray();
        Tensor? local = null, segment = null, o = null;
        var notSpecial = clsgsepg
            ? (ctx.Special ?? throw new ArgumentException("clsgsepg needs the [CLS]/[SEP] positions in the mixer context")).logical_not().to_type(x.dtype)
            : null;
        // The LRA mixer with every branch: one autograd node for the rest (PoolingFusion, §10.8).
        if (PoolingFusion.Enabled && ctx.Segments is FixedChunkSegments fixedChunks && UsesGlobal && UsesSegment && UsesLocal && Multiplies
            && dense is not null && notSpecial is null && ctx.Trace is null && !ComputePrecision.IsBFloat16)
        {
            var (w3, b3) = Stacked(perToken);
            return PoolingFusion.Apply(x, w3, b3, Global(x, ctx), dense.weight!, dense.bias!, ctx.HasPadding ? ctx.ValidScale : null, fixedChunks.Length)
                .MoveToOuterDisposeScope();
        }
        if (perToken.Length > 0)
        {
            var (w3, b3) = Stacked(perToken);
            var parts = ComputePrecision.Linear(x, w3, b3);
            // The LRA mixer with every branch: pools and gate as one C# pass each way (PoolGateKernel, §10.9).
            if (ctx.Segments is FixedChunkSegments chunked && UsesGlobal && UsesSegment && UsesLocal && Multiplies
                && notSpecial is null && ctx.Trace is null && PoolGateKernel.Supports(parts))
            {
                var pooled = PoolGateKernel.Apply(parts, Global(x, ctx), ctx.HasPadding ? ctx.ValidScale : null, chunked.Length);
                pooled = ctx.ZeroPads(pooled);
                if (dense is not null) pooled = dense.Forward(pooled);
                return pooled.MoveToOuterDisposeScope();
            }
            // split, not narrow: split's backward concatenates the gradients in one pass, where each
            // narrow would scatter its gradient into a zero tensor of the full width.
            var pieces = parts.split(d, -1);
            int next = 0;
            // Pads (and with clsgsepg [CLS]/[SEP] for LMP) become −10000 before either max pool (§10.1).
            if (UsesLocal)
                local = notSpecial is null ? ctx.FillPads(pieces[next++], -10000f) : MaskOps.Fill(pieces[next++], ctx.ValidScale * notSpecial, -10000f);
            if (UsesSegment) segment = ctx.FillPads(pieces[next++], -10000f);
            if (Multiplies) o = pieces[next++];
        }

        Tensor? g2 = UsesGlobal ? Global(x, ctx) : null;                                                   // [B,1,D]
        Tensor? y = null;
        if (UsesSegment)
        {
            var segments = ctx.Segments ?? throw new ArgumentException("segment max-pooling needs segments in the mixer context");
            if (segments is FixedChunkSegments chunks && notSpecial is null && ctx.Trace is null)
                y = FusedChunks(segment!, g2, o, chunks.Length);
            else
            {
                var s = segments switch
                {
                    SegmentIds ids => SegmentMaxPool.ByIds(segment!, ids.Index, ids.Count),
                    FixedChunkSegments c => SegmentMaxPool.ByChunks(segment!, Math.Min(c.Length, n)),
                    _ => throw new ArgumentException($"unknown segmentation {segments}"),
                };
                ctx.Trace?.SegmentMax.Add(s.detach().clone().DetachFromDisposeScope());
                if (notSpecial is not null) s = MaskOps.Fill(s, notSpecial, 0f);
                y = g2 is null ? s : g2 + s;
                if (Multiplies) y = y * o!;
            }
        }
        else if (g2 is not null)
        {
            y = Multiplies ? o! * g2 : g2;
        }
        if (UsesLocal)
        {
            var l = LocalMaxPool.Fast(local!);
            ctx.Trace?.LocalMax.Add(l.detach().clone().DetachFromDisposeScope());
            if (notSpecial is not null) l = MaskOps.Fill(l, notSpecial, 0f);
            y = y is null ? l : y + l;
        }
        y = ctx.ZeroPads(y!.expand(b, n, d));
        ctx.Trace?.AttnContext.Add(y.detach().clone().DetachFromDisposeScope());
        if (dense is not null) y = dense.Forward(y);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The per-token projections' weights and biases stacked, for one D×kD product (§10.4).</summary>
    static (Tensor Weight, Tensor Bias) Stacked(Linear[] perToken) =>
        (cat(perToken.Select(l => (Tensor)l.weight!).ToArray(), 0), cat(perToken.Select(l => (Tensor)l.bias!).ToArray(), 0));

    /// <summary>GA's g2 [B,1,D] from X (§10.3), with the padding masks of the context.</summary>
    Tensor Global(Tensor x, MixerContext ctx) =>
        GlobalAggregation.FromX(x, ctx.HasPadding ? ctx.ValidScale.transpose(1, 2) : null, ctx.ValidCount,
            ctx.HasPadding ? (ctx.ValidScale - 1) * 10000f : null, dense_q!, dense_k!, heads);

    /// <summary>
    /// (g2 + S) ⊙ O (or g2 + S) over fixed chunks with S kept as one row per chunk, [B,C,1,D]: it is
    /// broadcast over the chunk only where it meets O (§10.5).
    /// </summary>
    static Tensor FusedChunks(Tensor segment, Tensor? g2, Tensor? o, int segmentLength)
    {
        long b = segment.shape[0], n = segment.shape[1], d = segment.shape[2];
        long segLen = Math.Min(segmentLength, n), chunks = (n + segLen - 1) / segLen;
        var chunkMax = SegmentMaxPool.ChunkRows(segment, segLen);
        var gate = g2 is null ? chunkMax : chunkMax + g2.unsqueeze(1);
        var full = o is null
            ? gate.expand(b, chunks, segLen, d)
            : FixedChunks.PadToChunks(o, segLen).view(b, chunks, segLen, d) * gate;
        var y = full.reshape(b, chunks * segLen, d);
        return chunks * segLen != n ? y.narrow(1, 0, n) : y;
    }
}
