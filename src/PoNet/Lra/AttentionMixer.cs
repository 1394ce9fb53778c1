using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Lra;

/// <summary>
/// The Transformer baseline: multi-head softmax self-attention, softmax(Q·Kᵀ/√dh) · V, where padded
/// keys get no weight, then merge heads and an output projection. Quadratic in N: an [B,H,N,N]
/// score tensor exists (libtorch's scaled_dot_product_attention picks the kernel).
/// </summary>
public sealed class AttentionMixer : TokenMixer
{
    readonly Linear query, key, value, dense;
    readonly int heads, headDim;

    public AttentionMixer(LraConfig config) : base(nameof(AttentionMixer))
    {
        int d = config.Dim;
        heads = config.Heads;
        headDim = config.HeadDim;
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
        var context = functional.scaled_dot_product_attention(heads4[0], heads4[1], heads4[2], keep);
        return dense.forward(context.transpose(1, 2).reshape(b, n, d)).MoveToOuterDisposeScope();
    }
}
