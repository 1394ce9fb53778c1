using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// PoNet's global aggregation (docs/MODEL.md §1.1): one query per head, the masked mean g of Q, attends
/// over the keys K (which are also the values): g2 = softmax(g·Kᵀ/√dh, pads −10000)·K.
/// <see cref="FromX"/> is the fast form used by the mixer, <see cref="Reference"/> the same function
/// as the paper writes it, kept for the tests that check the fast one (values and gradients).
/// </summary>
public static class GlobalAggregation
{
    /// <summary>
    /// g2 without forming Q and K at every token (docs/MODEL.md §10.3). Both are linear in X, so per
    /// head h (W_h: the head's rows): g_h = mean(X)·W_qhᵀ + b_qh; the score of token l,
    /// ⟨g_h, K_lh⟩/√dh = X_l·(W_khᵀ g_h)/√dh + ⟨g_h, b_kh⟩/√dh, has a last term common to every l that
    /// the softmax over l ignores (the padding mask is added, so pads keep their distance); and since
    /// the weights sum to 1, Σ_l p_lh K_lh = (Σ_l p_lh X_l)·W_khᵀ + b_kh. Four small batched matmuls
    /// over X replace two N×D projections and their element-wise products.
    /// </summary>
    /// <param name="x">[B,N,D].</param>
    /// <param name="validRow">[B,1,N] 1 for real tokens, 0 for padding; null when every token is real.</param>
    /// <param name="validCount">[B,1,1] number of real tokens (at least 1); used with <paramref name="validRow"/>.</param>
    /// <param name="scoreMask">[B,N,1] added to the scores (0 or −10000); null when every token is real.</param>
    /// <returns>g2, [B,1,D].</returns>
    public static Tensor FromX(Tensor x, Tensor? validRow, Tensor validCount, Tensor? scoreMask, Linear query, Linear key, int heads) =>
        GlobalAggregationNode.Apply(x, query.weight!, query.bias!, key.weight!, key.bias!, validRow, validCount, scoreMask, heads);

    /// <summary>
    /// <see cref="FromX"/> built from libtorch ops, each with its own autograd node (the form before
    /// <see cref="GlobalAggregationNode"/>; kept for the tests that check the node's gradients).
    /// </summary>
    public static Tensor FromXOps(Tensor x, Tensor? validRow, Tensor validCount, Tensor? scoreMask, Linear query, Linear key, int heads)
    {
        using var scope = NewDisposeScope();
        return Forward(x, query.weight!, query.bias!, key.weight!, key.bias!, validRow, validCount, scoreMask, heads).G2.MoveToOuterDisposeScope();
    }

    /// <summary>The steps of <see cref="FromX"/>: the mean, g [B,H,1,dh], u [B,H,D], p = softmax [B,N,H], z = pᵀX [B,H,D] and g2 [B,1,D].</summary>
    internal static (Tensor Mean, Tensor G, Tensor U, Tensor P, Tensor Z, Tensor G2) Forward(
        Tensor x, Tensor wq, Tensor bq, Tensor wk, Tensor bk, Tensor? validRow, Tensor validCount, Tensor? scoreMask, int heads)
    {
        long b = x.shape[0], d = x.shape[2], headDim = d / heads;
        var mean = validRow is null ? x.mean([1], keepdim: true) : matmul(validRow.to_type(x.dtype), x) / validCount; // [B,1,D]
        var g = nn.functional.linear(mean, wq, bq).view(b, heads, 1, headDim);                             // [B,H,1,dh]
        var wkh = wk.view(heads, headDim, d);                                                              // [H,dh,D]
        var u = matmul(g, wkh).view(b, heads, d) / Math.Sqrt(headDim);                                      // [B,H,D]
        var scores = matmul(x, u.transpose(1, 2));                                                         // [B,N,H]
        if (scoreMask is not null) scores = scores + scoreMask;
        var p = scores.softmax(1);                                                                         // [B,N,H]
        var z = matmul(p.transpose(1, 2), x);                                                              // [B,H,D]
        var g2 = matmul(z.unsqueeze(2), wkh.transpose(1, 2)).view(b, 1, d) + bk;                           // [B,1,D]
        return (mean, g, u, p, z, g2);
    }

    /// <summary>
    /// The paper's form: Q = X·Wqᵀ + bq and K = X·Wkᵀ + bk at every token, split into heads;
    /// g = Σ_valid Q / #valid; s_l = ⟨g, K_l⟩/√dh − 10000·pad_l; g2 = Σ_l softmax(s)_l·K_l.
    /// </summary>
    /// <param name="x">[B,N,D].</param>
    /// <param name="valid">[B,N] bool, true for real tokens.</param>
    /// <returns>g2, [B,1,D].</returns>
    public static Tensor Reference(Tensor x, Tensor valid, Linear query, Linear key, int heads)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2], headDim = d / heads;
        Tensor Heads(Tensor t) => t.view(b, n, heads, headDim).transpose(1, 2);                           // [B,H,N,dh]
        var q = Heads(nn.functional.linear(x, query.weight!, query.bias));
        var k = Heads(nn.functional.linear(x, key.weight!, key.bias));
        var v = valid.to_type(x.dtype).view(b, 1, n, 1);
        var g = (q * v).sum([2], keepdim: true) / v.sum([2], keepdim: true).clamp_min(1);                 // [B,H,1,dh]
        var s = matmul(g, k.transpose(-1, -2)) / Math.Sqrt(headDim) + (1 - v.transpose(-1, -2)) * -10000f; // [B,H,1,N]
        var g2 = matmul(s.softmax(-1), k);                                                                 // [B,H,1,dh]
        return g2.transpose(1, 2).reshape(b, 1, d).MoveToOuterDisposeScope();
    }
}
