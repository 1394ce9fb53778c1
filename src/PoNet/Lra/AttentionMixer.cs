using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Lra;

/// <summary>
/// The Transformer baseline: multi-head softmax self-attention, softmax(Q·Kᵀ/√dh) · V, where padded
/// keys get no weight, then merge heads and an output projection. Quadratic in N in time. In memory
/// it depends on <see cref="AttentionKernel"/>: libtorch's scaled_dot_product_attention (default)
/// never stores the [B,H,N,N] scores on CPU; <see cref="AttentionKernel.Explicit"/> writes the
/// softmax out and keeps the weights for backward, as the paper's Transformer did.
/// </summary>
public sealed class AttentionMixer : TokenMixer
{
    readonly Linear query, key, value, dense;
    readonly int heads, headDim;
    readonly AttentionKernel kernel;

    public AttentionMixer(LraConfig config) : base(nameof(AttentionMixer))
    {
        int d = config.Dim;
        heads = config.Heads;
        headDim = config.HeadDim;
        kernel = config.Attention;
        query = Linear(d, d);
        key = Linear(d, d);
        value = Linear(d, d);
        dense = Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, MixerInputs m)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // One D×3D GEMM for Q, K, V.
        var qkv = functional.linear(x, cat([query.weight!, key.weight!, value.weight!], 0),
            cat([query.bias!, key.bias!, value.bias!], 0));
        var heads4 = qkv.view(b, n, 3, heads, headDim).permute(2, 0, 3, 1, 4);             // [3,B,H,N,dh]
        var keep = m.Valid.view(b, 1, 1, n);                                               // true = may attend
        Tensor context;
        if (kernel == AttentionKernel.Sdpa)
            context = functional.scaled_dot_product_attention(heads4[0], heads4[1], heads4[2], keep);
        else
        {
            // Q is scaled before the product so that only the scores and the weights are N×N.
            var scores = matmul(heads4[0] / Math.Sqrt(headDim), heads4[1].transpose(-1, -2));    // [B,H,N,N]
            if (m.HasPadding) scores = scores.masked_fill(keep.logical_not(), double.NegativeInfinity);
            context = matmul(scores.softmax(-1), heads4[2]);
        }
        return dense.forward(context.transpose(1, 2).reshape(b, n, d)).MoveToOuterDisposeScope();
    }
}
