using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// <see cref="GlobalAggregation.FromX"/> as one autograd node (docs/MODEL.md §10.3). The forward is
/// the same ops (the same values); the backward is written out. Built from libtorch ops, dX arrives
/// as three [B,N,D] tensors — from z = pᵀX (p·∂z), from the scores X·uᵀ (∂s·u) and from the mean
/// (∂mean/N, expanded) — each written, then added: about ten passes over a [B,N,D] tensor for a
/// result of rank 2H+1. Here dX = [p | ∂s | c]·[∂z; u; ∂mean] is one batched product with an inner
/// dimension of 2H+1 (c = 1/N, or valid/#valid with padding), and the parameters' gradients are
/// products of [B,H,·] tensors. It keeps X, the weights and the small intermediates (the mean, g, u,
/// p [B,N,H] and z), so nothing is recomputed.
/// </summary>
public sealed class GlobalAggregationNode : autograd.SingleTensorFunction<GlobalAggregationNode>
{
    public override string Name => "PoNetGlobalAggregation";

    /// <summary>g2 [B,1,D]; see <see cref="GlobalAggregation.FromX"/> for the arguments.</summary>
    public static Tensor Apply(Tensor x, Tensor wq, Tensor bq, Tensor wk, Tensor bk, Tensor? validRow, Tensor validCount, Tensor? scoreMask, int heads)
    {
        NodeHandles.Release();
        if (!is_grad_enabled() || !new[] { x, wq, bq, wk, bk }.Any(t => t.requires_grad))
        {
            using var scope = NewDisposeScope();
            return GlobalAggregation.Forward(x, wq, bq, wk, bk, validRow, validCount, scoreMask, heads).G2.MoveToOuterDisposeScope();
        }
        return apply(x, wq, bq, wk, bk, validRow!, validCount, scoreMask!, heads);
    }

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (x, wq, bq, wk, bk) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4]);
        var (validRow, validCount, scoreMask, heads) = (vars[5] as Tensor, (Tensor)vars[6], vars[7] as Tensor, (int)vars[8]);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var (mean, g, u, p, z, g2) = GlobalAggregation.Forward(x, wq, bq, wk, bk, validRow, validCount, scoreMask, heads);
        Tensor[] kept = [mean, g, u, p, z];
        foreach (var t in kept) t.DetachFromDisposeScope();
        NodeHandles.Keep(kept);
        ctx.save_for_backward([x, wq, wk, mean, g, u, p, z, validRow!, validCount]);
        ctx.save_data("heads", heads);
        return g2.MoveToOuterDisposeScope();
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOut)
    {
        NodeHandles.Release();
        var saved = ctx.get_saved_variables();
        var (x, wq, wk, mean, g, u, p, z) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], saved[7]);
        Tensor? validRow = saved[8] is { IsInvalid: false } v ? v : null;
        var validCount = saved[9];
        int heads = (int)ctx.get_data("heads");
        List<Tensor> grads;
        using (var scope = NewDisposeScope())
        {
            long b = x.shape[0], n = x.shape[1], d = x.shape[2], headDim = d / heads;
            double scale = Math.Sqrt(headDim);
            var wkh = wk.view(heads, headDim, d);                                                  // [H,dh,D]
            // g2 = z_h·W_khᵀ + b_k per head.
            var gOut = gradOut.reshape(b, heads, headDim);                                         // [B,H,dh]
            var gBk = gradOut.reshape(b, d).sum([0]);
            var gZ = matmul(gOut.unsqueeze(2), wkh).view(b, heads, d);                            // [B,H,D]
            // z = pᵀX and the scores X·uᵀ (+ mask): the softmax over N in between.
            var gP = matmul(x, gZ.transpose(1, 2));                                                // [B,N,H]
            var gS = p * (gP - (p * gP).sum([1], keepdim: true));                                  // [B,N,H]
            var gU = matmul(gS.transpose(1, 2), x).div_(scale);                                   // [B,H,D] (through u's 1/√dh)
            // u_h = g_h·W_kh / √dh and g = mean·W_qᵀ + b_q.
            var gG = matmul(gU.unsqueeze(2), wkh.transpose(1, 2)).view(b, d);                      // [B,D]
            var gWk = (matmul(gOut.permute(1, 2, 0), z.transpose(0, 1))                            // from g2: Σ_b ∂g2_h ⊗ z_h
                       + matmul(g.view(b, heads, headDim).permute(1, 2, 0), gU.transpose(0, 1)))   // from u:  Σ_b g_h ⊗ ∂u_h
                      .view(d, d);
            var gWq = gG.t().mm(mean.view(b, d));
            var gBq = gG.sum([0]);
            var gMean = gG.mm(wq).view(b, 1, d);                                                   // [B,1,D]
            // dX = p·∂z + ∂s·u + c·∂mean, with c the mean's weight of each token.
            var c = validRow is null ? full(b, n, 1, 1.0 / n, dtype: x.dtype) : validRow.transpose(1, 2).to_type(x.dtype) / validCount;
            var gX = matmul(cat([p, gS, c], 2), cat([gZ, u, gMean], 1));                           // [B,N,D]
            grads = [gX, gWq, gBq, gWk, gBk];
            foreach (var t in grads) t.MoveToOuterDisposeScope();
        }
        foreach (var t in saved) t?.Dispose();
        gradOut.Dispose();
        NodeHandles.Keep(grads);
        return [.. grads, null!, null!, null!, null!];
    }
}
