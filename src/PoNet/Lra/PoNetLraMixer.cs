using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Lra;

/// <summary>
/// PoNet's mixer as the paper ran it on LRA (PONET.md §1 and §6): clsgsepg off, SMP over fixed
/// chunks (<see cref="FixedChunks"/>), and an output projection D→D. With Q, K, O, S0, L0 the
/// projections of X, per head:
/// <list type="bullet">
/// <item>GA: g = masked mean of Q; g2 = Σ_l softmax_l(⟨g, K_l⟩/√dh, pads −10000) · K_l.</item>
/// <item>SMP: S = max of S0 over the chunk (pads −10000 first).</item>
/// <item>LMP: L = max of L0 over the window l−1..l+1 (pads −10000 first).</item>
/// </list>
/// Fusion <see cref="PoNetFusion.Multiply"/> (the paper): Y = (g2 + S) ⊙ O + L.
/// Fusion <see cref="PoNetFusion.Add"/>: Y = g2 + S + L, and there is no O projection.
/// An ablated branch is dropped from the sum together with its projections (e.g. without GA and
/// with multiply: Y = S ⊙ O + L; without GA and SMP: Y = L). Then Y[pad] = 0 and out = Y·Wᵀ + b.
/// </summary>
public sealed class PoNetLraMixer : TokenMixer
{
    // Names follow the pretrained model's attention.self; `dense` is the LRA output projection.
    // Ablated projections are null and so neither registered nor trained.
    readonly Linear? dense_local, dense_segment, dense_q, dense_k, dense_o;
    readonly Linear dense;
    readonly int heads, headDim, segmentLength;

    public PoNetLraMixer(LraConfig config) : base(nameof(PoNetLraMixer))
    {
        int d = config.Dim;
        heads = config.Heads;
        headDim = config.HeadDim;
        segmentLength = config.SegmentLength;
        UsesGlobal = !config.Ablate.HasFlag(PoNetBranches.GlobalAggregation);
        UsesSegment = !config.Ablate.HasFlag(PoNetBranches.SegmentMaxPooling);
        UsesLocal = !config.Ablate.HasFlag(PoNetBranches.LocalMaxPooling);
        if (!(UsesGlobal || UsesSegment || UsesLocal))
            throw new PoNetInputException("PoNet needs at least one of ga, smp, lmp");
        Multiplies = config.Fusion == PoNetFusion.Multiply && (UsesGlobal || UsesSegment);
        if (UsesLocal) dense_local = Linear(d, d);
        if (UsesSegment) dense_segment = Linear(d, d);
        if (UsesGlobal) { dense_q = Linear(d, d); dense_k = Linear(d, d); }
        if (Multiplies) dense_o = Linear(d, d);
        dense = Linear(d, d);
        RegisterComponents();
    }

    public bool UsesGlobal { get; }
    public bool UsesSegment { get; }
    public bool UsesLocal { get; }
    /// <summary>True when (g2 + S) is multiplied by O.</summary>
    public bool Multiplies { get; }

    public override Tensor forward(Tensor x, MixerInputs m)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // One D×kD GEMM for the k active projections instead of k D×D ones.
        Linear[] active = new[] { dense_local, dense_segment, dense_q, dense_k, dense_o }.OfType<Linear>().ToArray();
        var parts = functional.linear(x, cat(active.Select(l => (Tensor)l.weight!).ToArray(), 0),
            cat(active.Select(l => (Tensor)l.bias!).ToArray(), 0)).chunk(active.Length, -1);
        int next = 0;
        Tensor? local = UsesLocal ? parts[next++] : null, segment = UsesSegment ? parts[next++] : null;
        Tensor? q = UsesGlobal ? parts[next++] : null, k = UsesGlobal ? parts[next++] : null;
        Tensor? o = Multiplies ? parts[next++] : null;

        Tensor? pooled = null; // g2 + S, the part that O gates
        if (UsesGlobal)
        {
            var qh = q!.view(b, n, heads, headDim);
            var kh = k!.view(b, n, heads, headDim);
            var g = (qh * m.Valid.view(b, n, 1, 1)).sum(1) / m.ValidCount;                  // [B,H,dh]
            var scores = (kh * g.unsqueeze(1)).sum(-1) / Math.Sqrt(headDim);               // [B,N,H]
            var p = scores.masked_fill(m.Pad, -10000f).softmax(1);
            pooled = (p.unsqueeze(-1) * kh).sum(1).view(b, 1, d);                           // [B,1,D]
        }
        if (UsesSegment)
        {
            var s = FixedChunks.ChunkMax(segment!.masked_fill(m.Pad, -10000f), segmentLength);
            pooled = pooled is null ? s : pooled + s;
        }
        Tensor? y = pooled is null ? null : Multiplies ? pooled * o! : pooled;
        if (UsesLocal)
        {
            // max_pool1d pads with −inf, so neighbours outside the sequence are ignored.
            var l = functional.max_pool1d(local!.masked_fill(m.Pad, -10000f).transpose(1, 2), 3, 1, 1).transpose(1, 2);
            y = y is null ? l : y + l;
        }
        y = y!.expand(b, n, d).masked_fill(m.Pad, 0f);
        return dense.forward(y).MoveToOuterDisposeScope();
    }
}
