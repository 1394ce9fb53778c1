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
    readonly int heads, segmentLength;

    public PoNetLraMixer(LraConfig config) : base(nameof(PoNetLraMixer))
    {
        int d = config.Dim;
        heads = config.Heads;
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
        // The per-token projections (L0, S0, O) as one D×kD GEMM. Q and K are never formed per token.
        Linear[] perToken = new[] { dense_local, dense_segment, dense_o }.OfType<Linear>().ToArray();
        Tensor? local = null, segment = null, o = null;
        if (perToken.Length > 0)
        {
            var parts = functional.linear(x, cat(perToken.Select(l => (Tensor)l.weight!).ToArray(), 0),
                cat(perToken.Select(l => (Tensor)l.bias!).ToArray(), 0));
            // split, not narrow: split's backward concatenates the gradients in one pass, where each
            // narrow would scatter its gradient into a zero tensor of the full width.
            var pieces = parts.split(d, -1);
            int next = 0;
            // Pads become −10000 before either max pool.
            if (UsesLocal) local = m.FillPads(pieces[next++], -10000f);
            if (UsesSegment) segment = m.FillPads(pieces[next++], -10000f);
            if (Multiplies) o = pieces[next++];
        }

        // GA with Q and K formed from X's mean and weighted sum (see Model.GlobalAggregation).
        Tensor? g2 = UsesGlobal
            ? Model.GlobalAggregation.FromX(x, m.HasPadding ? m.ValidScale.transpose(1, 2) : null, m.ValidCount,
                m.HasPadding ? (m.ValidScale - 1) * 10000f : null, dense_q!, dense_k!, heads)                // [B,1,D]
            : null;
        Tensor? y = null;
        if (UsesSegment)
        {
            // S stays one row per chunk, [B,C,1,D]; it is broadcast over the chunk only where it meets O or L.
            long segLen = Math.Min(segmentLength, n), chunks = (n + segLen - 1) / segLen;
            var chunkMax = FixedChunks.ChunkMaxRows(segment!, segLen);
            var gate = g2 is null ? chunkMax : chunkMax + g2.unsqueeze(1);
            var other = Multiplies ? o! : null;
            var full = other is null
                ? gate.expand(b, chunks, segLen, d)
                : FixedChunks.PadToChunks(other, segLen).view(b, chunks, segLen, d) * gate;
            y = full.reshape(b, chunks * segLen, d);
            if (chunks * segLen != n) y = y.narrow(1, 0, n);
        }
        else if (g2 is not null)
        {
            y = Multiplies ? o! * g2 : g2;
        }
        if (UsesLocal)
        {
            // max_pool1d pads with −inf, so neighbours outside the sequence are ignored.
            var l = functional.max_pool1d(local!.transpose(1, 2), 3, 1, 1).transpose(1, 2);
            y = y is null ? l : y + l;
        }
        y = y!.expand(b, n, d);
        y = m.ZeroPads(y);
        return dense.forward(y).MoveToOuterDisposeScope();
    }
}
