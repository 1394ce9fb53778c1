using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// The LRA PoNet mixer after GA as one autograd node (docs/MODEL.md §10.8): from the fused
/// projection P = [L0 | S0 | O] = x·W3ᵀ + b3 ([B,N,3D]) and GA's g2 ([B,1,D]),
/// out = Z((g2 + S) ⊙ O + L)·Wᵀ + b, with S the max of S0 over fixed chunks, L the max of L0 over
/// the window l−1..l+1 (pads −10000 first) and Z zeroing padded rows. Built from libtorch ops, the
/// same function keeps in memory P's three pieces, max_pool1d's int64 indices (twice the size of
/// L0), the chunk maxima, the gate and Z(…) for the projection: about seven [B,N,D] tensors per
/// layer. This node keeps only its inputs (x is kept for the residual path and GA anyway) and
/// recomputes the rest in backward (P's product and a few element-wise passes), with the same
/// gradients: amax's (ties share the gradient) for the chunk maxima and
/// max_pool1d's (recomputed with its indices, then scatter-added as its backward does) for the
/// local maxima.
/// </summary>
public sealed class PoolingFusion : autograd.SingleTensorFunction<PoolingFusion>
{
    public override string Name => "PoNetPoolingFusion";

    /// <summary>
    /// Whether the LRA PoNet mixer uses this node (the CLI's <c>--low-memory</c>, or the environment
    /// variable PONET_POOLING_FUSION=1); otherwise it builds the same function from libtorch ops,
    /// which keeps more for backward but takes about 20 % less CPU time per step (docs/MODEL.md §10.8).
    /// Process-wide: it changes no value or gradient, only what is kept and what is recomputed.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("PONET_POOLING_FUSION") == "1";

    // The gradients returned to libtorch by the last backward. libtorch copies them when the
    // callback returns, so their .NET handles cannot be released inside it; they are released at the
    // next call (or with the caller's dispose scope), so that a layer's [B,N,3D] gradient does not
    // stay alive until the end of the training step.
    [ThreadStatic] static List<Tensor>? returned;

    /// <summary>
    /// out = Z((g2 + S) ⊙ O + L)·Wᵀ + b with P = x·W3ᵀ + b3 (see the class summary).
    /// <paramref name="keep"/>: [B,N,1] float, 1 for real tokens, 0 for pads; null when the batch has no padding.
    /// </summary>
    /// <param name="x">[B,N,D], the mixer's input.</param>
    /// <param name="w3">[3D,D], the L0, S0 and O weights stacked; <paramref name="b3"/> [3D] their biases.</param>
    /// <param name="g2">[B,1,D], GA's output.</param>
    public static Tensor Apply(Tensor x, Tensor w3, Tensor b3, Tensor g2, Tensor weight, Tensor bias, Tensor? keep, long segmentLength)
    {
        ReleaseReturned();
        if (!is_grad_enabled() || !new[] { x, w3, b3, g2, weight, bias }.Any(t => t.requires_grad))
        {
            using var scope = NewDisposeScope();
            var y = Fuse(nn.functional.linear(x, w3, b3), g2, keep, segmentLength);
            return nn.functional.linear(y, weight, bias).MoveToOuterDisposeScope();
        }
        return apply(x, w3, b3, g2, weight, bias, keep!, segmentLength);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, w3, b3, g2, weight, bias) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4], (Tensor)vars[5]);
        var keep = vars[6] as Tensor;
        long segmentLength = (long)vars[7];
        ctx.save_for_backward([x, w3, b3, g2, weight, keep!]);
        ctx.save_data("segment_length", segmentLength);
        using var scope = NewDisposeScope();
        var y = Fuse(nn.functional.linear(x, w3, b3), g2, keep, segmentLength);
        return nn.functional.linear(y, weight, bias).MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOut)
    {
        ReleaseReturned();
        var saved = ctx.get_saved_variables();
        var (x, w3, b3, g2, weight) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        Tensor? keep = saved[5] is { IsInvalid: false } k ? k : null;
        long segmentLength = (long)ctx.get_data("segment_length");
        List<Tensor> grads;
        Tensor gParts;
        // In stages, each intermediate released as soon as it is used: these [B,N,D] temporaries
        // add to the activations still held when backward reaches the mixer, and so to the peak.
        using (var scope = NewDisposeScope())
        {
            var parts = nn.functional.linear(x, w3, b3);                              // recomputed: one D→3D product
            long b = parts.shape[0], n = parts.shape[1], d = weight.shape[1];
            long segLen = Math.Min(segmentLength, n), chunks = (n + segLen - 1) / segLen;
            var (local, segment, o) = Pieces(parts, keep);
            var segmentChunks = FixedChunks.PadToChunks(segment, segLen, double.NegativeInfinity).view(b, chunks, segLen, d);
            var chunkMax = segmentChunks.amax([2], keepdim: true);
            var gate = chunkMax + g2.unsqueeze(1);
            var oChunks = FixedChunks.PadToChunks(o, segLen).view(b, chunks, segLen, d);
            // The local maxima with max_pool1d's own indices, for its own backward (a scatter-add).
            var (lmpT, lmpIndex) = nn.functional.max_pool1d_with_indices(local.transpose(1, 2), 3, 1, 1);   // [B,D,N]
            var lmp = lmpT.transpose(1, 2);
            var gOut2d = gradOut.reshape(-1, d);
            Tensor gWeight;
            using (var stage = NewDisposeScope())
            {
                var y = Unchunk(oChunks * gate, n).add_(lmp);
                if (keep is not null) y.mul_(keep);
                gWeight = gOut2d.t().mm(y.reshape(-1, d)).MoveToOuterDisposeScope();
            }
            var gBias = gOut2d.sum([0]);
            var gy = gradOut.matmul(weight);                                         // d Z(…)
            if (keep is not null) gy.mul_(keep);
            gParts = empty(b, n, 3 * d, dtype: parts.dtype);
            var (gLocal, gSegment, gO) = (gParts.narrow(2, 0, d), gParts.narrow(2, d, d), gParts.narrow(2, 2 * d, d));
            // full = O ⊙ gate, chunk by chunk.
            Tensor gGate;
            using (var stage = NewDisposeScope())
            {
                var gFull = FixedChunks.PadToChunks(gy, segLen).view(b, chunks, segLen, d);
                gO.copy_(Unchunk(gFull * gate, n));
                gGate = (gFull * oChunks).sum([2], keepdim: true).MoveToOuterDisposeScope();   // [B,C,1,D]
            }
            var gG2 = gGate.sum([1]);                                                // [B,1,D]
            // gate = amax over the chunk + g2: the positions equal to the maximum share its gradient.
            using (var stage = NewDisposeScope())
            {
                var atMax = segmentChunks.eq(chunkMax);
                var share = gGate / atMax.sum([2], keepdim: true, type: gGate.dtype);
                gSegment.copy_(Unchunk(where(atMax, share, zeros(1, dtype: gGate.dtype)), n));
            }
            using (var stage = NewDisposeScope())
            {
                lmp.Dispose();
                lmpT.Dispose();
                var gLocalT = zeros(b, d, n, dtype: gy.dtype).scatter_add_(2, lmpIndex, gy.transpose(1, 2));
                lmpIndex.Dispose();
                gLocal.copy_(gLocalT.transpose(1, 2));
            }
            if (keep is not null) { gSegment.mul_(keep); gLocal.mul_(keep); }
            grads = [gG2.MoveToOuterDisposeScope(), gWeight.MoveToOuterDisposeScope(), gBias.MoveToOuterDisposeScope()];
            gParts.MoveToOuterDisposeScope();
        }
        // P = x·W3ᵀ + b3, with P and everything derived from it released.
        using (var scope = NewDisposeScope())
        {
            long d = x.shape[2];
            var gP2d = gParts.view(-1, 3 * d);
            var gx = gParts.matmul(w3);
            var gW3 = gP2d.t().mm(x.reshape(-1, d));
            var gB3 = gP2d.sum([0]);
            gParts.Dispose();
            grads = [gx.MoveToOuterDisposeScope(), gW3.MoveToOuterDisposeScope(), gB3.MoveToOuterDisposeScope(), .. grads];
        }
        foreach (var t in saved) t?.Dispose();
        gradOut.Dispose();
        (returned ??= []).AddRange(grads);
        return [.. grads, null!, null!];
    }

    static void ReleaseReturned()
    {
        if (returned is null) return;
        foreach (var t in returned) t.Dispose();
        returned.Clear();
    }

    /// <summary>L0 and S0 with pads at −10000 (before either max pool), and O.</summary>
    static (Tensor Local, Tensor Segment, Tensor O) Pieces(Tensor parts, Tensor? keep)
    {
        long d = parts.shape[2] / 3;
        var (local, segment, o) = (parts.narrow(2, 0, d), parts.narrow(2, d, d), parts.narrow(2, 2 * d, d));
        return keep is null ? (local, segment, o) : (MaskOps.Fill(local, keep, -10000f), MaskOps.Fill(segment, keep, -10000f), o);
    }

    static Tensor Fuse(Tensor parts, Tensor g2, Tensor? keep, long segmentLength)
    {
        long b = parts.shape[0], n = parts.shape[1], d = parts.shape[2] / 3;
        long segLen = Math.Min(segmentLength, n), chunks = (n + segLen - 1) / segLen;
        var (local, segment, o) = Pieces(parts, keep);
        // −inf past the end: never a maximum.
        var segmentChunks = FixedChunks.PadToChunks(segment, segLen, double.NegativeInfinity).view(b, chunks, segLen, d);
        var chunkMax = segmentChunks.amax([2], keepdim: true);                                // [B,C,1,D]
        var gate = chunkMax + g2.unsqueeze(1);
        var oChunks = FixedChunks.PadToChunks(o, segLen).view(b, chunks, segLen, d);
        var lmp = LocalMaxPool.Fast(local);
        var y = Unchunk(oChunks * gate, n).add_(lmp);
        return keep is null ? y : y.mul_(keep);
    }

    /// <summary>[B,C,seg_len,D] → [B,N,D] (the padding past N dropped).</summary>
    static Tensor Unchunk(Tensor chunked, long n)
    {
        long b = chunked.shape[0], rows = chunked.shape[1] * chunked.shape[2], d = chunked.shape[3];
        var y = chunked.reshape(b, rows, d);
        return rows != n ? y.narrow(1, 0, n) : y;
    }
}
