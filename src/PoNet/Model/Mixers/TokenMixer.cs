using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model.Mixers;

/// <summary>Which token mixer an encoder uses in every layer.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MixerKind>))]
public enum MixerKind
{
    /// <summary>PoNet multi-granularity pooling (docs/MODEL.md §1).</summary>
    [JsonStringEnumMemberName("ponet")] PoNet,
    /// <summary>Standard multi-head softmax self-attention (docs/MODEL.md §8).</summary>
    [JsonStringEnumMemberName("transformer")] Transformer,
    /// <summary>FNet: real part of the 2-D FFT over sequence and hidden dims (docs/MODEL.md §9).</summary>
    [JsonStringEnumMemberName("fnet")] FNet,
}

/// <summary>PoNet branches an ablation removes (any subset; not all three).</summary>
[Flags]
[JsonConverter(typeof(JsonStringEnumConverter<PoNetBranches>))]
public enum PoNetBranches
{
    None = 0,
    /// <summary>Global aggregation.</summary>
    [JsonStringEnumMemberName("ga")] GlobalAggregation = 1,
    /// <summary>Segment max-pooling.</summary>
    [JsonStringEnumMemberName("smp")] SegmentMaxPooling = 2,
    /// <summary>Local max-pooling.</summary>
    [JsonStringEnumMemberName("lmp")] LocalMaxPooling = 4,
}

/// <summary>How PoNet combines its pooled features (see <see cref="PoNetMixer"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PoNetFusion>))]
public enum PoNetFusion
{
    /// <summary>(g + S) ⊙ O + L, the paper's pooling fusion.</summary>
    [JsonStringEnumMemberName("mul")] Multiply,
    /// <summary>g + S + L, no O projection.</summary>
    [JsonStringEnumMemberName("add")] Add,
}

/// <summary>How the attention mixer computes softmax attention (see <see cref="AttentionMixer"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttentionKernel>))]
public enum AttentionKernel
{
    /// <summary>libtorch's scaled_dot_product_attention: on CPU a fused kernel that never stores the N×N scores.</summary>
    [JsonStringEnumMemberName("sdpa")] Sdpa,
    /// <summary>softmax(Q·Kᵀ/√dh)·V written out, the [B,H,N,N] scores and weights in memory, as the paper's baseline and HF's BERT.</summary>
    [JsonStringEnumMemberName("explicit")] Explicit,
}

/// <summary>
/// Everything that decides a token mixer, for either layout. The LRA config and the HF config each
/// turn themselves into one (<c>LraConfig.MixerSpec</c>, <see cref="PoNetConfig.MixerSpec"/>), and
/// <see cref="TokenMixer.Create"/> is the one place that picks a class by <see cref="Kind"/>.
/// </summary>
public sealed record MixerSpec(MixerKind Kind, int Dim, int Heads)
{
    /// <summary>PoNet: [CLS]/[SEP] neither give nor receive segment or local information (needs <see cref="MixerContext.Special"/>).</summary>
    public bool ClsGSepG { get; init; }
    public PoNetBranches Ablate { get; init; } = PoNetBranches.None;
    public PoNetFusion Fusion { get; init; } = PoNetFusion.Multiply;
    /// <summary>
    /// A D→D projection after mixing, named <c>dense</c> (the LRA blocks). The pretrained layout has
    /// none: its projection is the block's <c>attention.output.dense</c>.
    /// </summary>
    public bool OutputProjection { get; init; }
    public AttentionKernel Attention { get; init; } = AttentionKernel.Sdpa;
    /// <summary>Dropout on the attention probabilities (HF's attention_probs_dropout_prob); 0 in LRA.</summary>
    public double AttentionDropout { get; init; }
    /// <summary>
    /// FNet: zero the padded rows before the FFT so padding cannot leak into real tokens (LRA). HF's
    /// FNet takes no attention mask and transforms the padded rows too.
    /// </summary>
    public bool FourierZeroesPads { get; init; } = true;

    public int HeadDim => Dim / Heads;
}

/// <summary>
/// A token mixer: [B,N,D] → [B,N,D], where an output at a real token never depends on anything at a
/// padded position (except HF's FNet, which takes no mask). Encoders of both layouts, the trainers
/// and the benchmarks only ever see this type; <see cref="Create"/> is the one place that picks a kind.
/// </summary>
public abstract class TokenMixer : Module<Tensor, MixerContext, Tensor>
{
    protected TokenMixer(string name) : base(name) { }

    /// <summary>D×D projections per token in the paper's cost model (docs/MODEL.md §1: PoNet's five plus the LRA output projection).</summary>
    public abstract int CostModelProjections { get; }

    /// <summary>The products this mixer actually runs over all tokens, as output widths in units of D, shaped as it runs them (fused ones as one).</summary>
    public abstract IReadOnlyList<int> ProjectionWidths { get; }

    public static TokenMixer Create(MixerSpec spec) => spec.Kind switch
    {
        MixerKind.PoNet => new PoNetMixer(spec),
        MixerKind.Transformer => new AttentionMixer(spec),
        MixerKind.FNet => new FourierMixer(spec),
        _ => throw new PoNetInputException($"unknown mixer {spec.Kind}"),
    };
}
