using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using PoNet.Model;

namespace PoNet.Lra;

/// <summary>What a mixer needs besides X: the padding mask in the forms the mixers use, built once per forward.</summary>
public sealed record MixerInputs(
    Tensor Valid,         // [B,N] bool, true for real tokens
    Tensor Pad,           // [B,N,1] bool, true for padding
    Tensor ValidCount,    // [B,1,1] float, number of real tokens (at least 1)
    bool HasPadding,      // false when every position of the batch is a real token, so masks can be skipped
    Tensor ValidScale)    // [B,N,1] float, 1 for real tokens, 0 for padding
{
    /// <summary>Token id 0 is padding. The tensors join the caller's dispose scope.</summary>
    public static MixerInputs FromTokens(Tensor tokens) => FromValid(tokens.ne(0));

    public static MixerInputs FromValid(Tensor valid)
    {
        var count = valid.sum(1, type: ScalarType.Float32).clamp_min(1).view(-1, 1, 1);
        var pad = valid.logical_not().unsqueeze(-1);
        return new MixerInputs(valid, pad, count, !valid.all().item<bool>(), valid.unsqueeze(-1).to_type(ScalarType.Float32));
    }

    /// <summary>x [B,N,·] with padded rows set to 0, as masked_fill(Pad, 0) (<see cref="MaskOps"/>); x itself without padding.</summary>
    public Tensor ZeroPads(Tensor x) => HasPadding ? MaskOps.Fill(x, ValidScale, 0) : x.alias();

    /// <summary>x [B,N,·] with padded rows set to <paramref name="value"/>, as masked_fill(Pad, value) (<see cref="MaskOps"/>); x itself without padding.</summary>
    public Tensor FillPads(Tensor x, float value) => HasPadding ? MaskOps.Fill(x, ValidScale, value) : x.alias();
}

/// <summary>
/// A token mixer: [B,N,D] → [B,N,D], where an output at a real token never depends on anything at a
/// padded position (neither its token nor its hidden state). The encoder, the trainer and the
/// benchmarks only ever see this type; <see cref="Create"/> is the one place that picks a kind.
/// </summary>
public abstract class TokenMixer : Module<Tensor, MixerInputs, Tensor>
{
    protected TokenMixer(string name) : base(name) { }

    public static TokenMixer Create(LraConfig config) => config.Mixer switch
    {
        MixerKind.PoNet => new PoNetLraMixer(config),
        MixerKind.Transformer => new AttentionMixer(config),
        MixerKind.FNet => new FourierMixer(),
        _ => throw new PoNetInputException($"unknown mixer {config.Mixer}"),
    };
}
