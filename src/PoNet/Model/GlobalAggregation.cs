using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace PoNet.Model;

/// <summary>
/// PoNet's global aggregation (PONET.md §1) without forming Q and K at every token. The masked mean of
/// Q is one query per head, which attends over K (keys = values). Both are linear in X, so per head h
/// (W_h: the head's rows): g_h = mean(X)·W_qhᵀ + b_qh; the score of token l,
/// ⟨g_h, K_lh⟩/√dh = X_l·(W_khᵀ g_h)/√dh + ⟨g_h, b_kh⟩/√dh, has a last term common to every l that the
/// softmax over l ignores (the padding mask is added, so pads keep their distance); and since the
/// weights sum to 1, Σ_l p_lh K_lh = (Σ_l p_lh X_l)·W_khᵀ + b_kh. Four small batched matmuls over X
/// replace two N×D projections and their element-wise products. Used by the exact mixer and the LRA one.
/// </summary>
public static class GlobalAggregation
{
    /// <param name="x">[B,N,D].</param>
    /// <param name="validRow">[B,1,N] 1 for real tokens, 0 for padding; null when every token is real.</param>
    /// <param name="validCount">[B,1,1] number of real tokens (at least 1); used with <paramref name="validRow"/>.</param>
    /// <param name="scoreMask">[B,N,1] added to the scores (0 or −10000); null when every token is real.</param>
    /// <returns>g2, [B,1,D].</returns>
    public static Tensor FromX(Tensor x, Tensor? validRow, Tensor validCount, Tensor? scoreMask, Linear query, Linear key, int heads)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], d = x.shape[2], headDim = d / heads;
        var mean = validRow is null ? x.mean([1], keepdim: true) : matmul(validRow.to_type(x.dtype), x) / validCount; // [B,1,D]
        var g = nn.functional.linear(mean, query.weight!, query.bias).view(b, heads, 1, headDim);          // [B,H,1,dh]
        var wk = key.weight!.view(heads, headDim, d);                                                      // [H,dh,D]
        var u = matmul(g, wk).view(b, heads, d) / Math.Sqrt(headDim);                                       // [B,H,D]
        var scores = matmul(x, u.transpose(1, 2));                                                         // [B,N,H]
        if (scoreMask is not null) scores = scores + scoreMask;
        var z = matmul(scores.softmax(1).transpose(1, 2), x);                                              // [B,H,D]
        return (matmul(z.unsqueeze(2), wk.transpose(1, 2)).view(b, 1, d) + key.bias!).MoveToOuterDisposeScope();
    }
}
