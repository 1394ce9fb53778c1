using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model.Mixers;

/// <summary>
/// Multi-head softmax self-attention (docs/MODEL.md §8): softmax(Q·Kᵀ/√dh + mask)·V, padded keys
/// getting no weight, heads merged; with an output projection <c>dense</c> in the LRA layout (the
/// pretrained layout's projection is <c>attention.output.dense</c>, as HF's BertSelfAttention).
/// Quadratic in N in time. In memory it depends on <see cref="AttentionKernel"/>: libtorch's
/// scaled_dot_product_attention never stores the [B,H,N,N] scores on CPU;
/// <see cref="AttentionKernel.Explicit"/> writes the softmax out, as the paper's Transformer and
/// HF's eager BERT (mask (1 − valid)·finfo(float32).min added to the scores, dropout on the probabilities).
/// </summary>
public sealed class AttentionMixer : TokenMixer
{
    readonly Linear query, key, value;
    readonly Linear? dense;
    readonly SeededDropout dropout;
    readonly int heads, headDim;
    readonly AttentionKernel kernel;
    readonly double dropoutProbability;

    public AttentionMixer(MixerSpec spec) : base(nameof(AttentionMixer))
    {
        int d = spec.Dim;
        heads = spec.Heads;
        headDim = spec.HeadDim;
        kernel = spec.Attention;
        dropoutProbability = spec.AttentionDropout;
        query = Linear(d, d);
        key = Linear(d, d);
        value = Linear(d, d);
        if (spec.OutputProjection) dense = Linear(d, d);
        dropout = new SeededDropout(spec.AttentionDropout);
        RegisterComponents();
    }

    /// <summary>Q, K, V and the output projection when there is one.</summary>
    public override int CostModelProjections => dense is null ? 3 : 4;

    /// <summary>Q, K, V as one fused product, then the output projection.</summary>
    public override IReadOnlyList<int> ProjectionWidths => dense is null ? [3] : [3, 1];

    public override Tensor forward(Tensor x, MixerContext ctx)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        // One D×3D GEMM for Q, K, V.
        var qkv = ComputePrecision.Linear(x, cat([query.weight!, key.weight!, value.weight!], 0),
            cat([query.bias!, key.bias!, value.bias!], 0));
        var heads4 = qkv.view(b, n, 3, heads, headDim).permute(2, 0, 3, 1, 4);             // [3,B,H,N,dh]
        Tensor context;
        bool dropsProbabilities = training && dropoutProbability > 0;
        if (kernel == AttentionKernel.Sdpa && !dropsProbabilities)
            context = functional.scaled_dot_product_attention(heads4[0], heads4[1], heads4[2], ctx.Valid.view(b, 1, 1, n));
        else
        {
            // Q is scaled before the product so that only the scores and the weights are N×N.
            var scores = matmul(heads4[0] / Math.Sqrt(headDim), heads4[1].transpose(-1, -2));    // [B,H,N,N]
            // HF's extended attention mask: (1 − valid)·finfo(float32).min. Unlike −inf it keeps an
            // all-padding row finite; elsewhere the weights are the same (exp underflows to 0).
            if (ctx.HasPadding) scores = scores + (1 - ctx.ValidScale.view(b, 1, 1, n)) * float.MinValue;
            context = matmul(dropout.forward(scores.softmax(-1)), heads4[2]);
        }
        var merged = context.transpose(1, 2).reshape(b, n, d);
        return (dense is null ? merged : dense.Forward(merged)).MoveToOuterDisposeScope();
    }
}
