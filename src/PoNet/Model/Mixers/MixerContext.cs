using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>What segment max-pooling pools over (docs/MODEL.md §2).</summary>
public abstract record Segmentation;

/// <summary>
/// Per-token segment ids, compacted to 0..Count−1 per row by <see cref="Segments.Compact"/> (derived
/// from [CLS]/[SEP] or given by the caller). [B,N] int64.
/// </summary>
public sealed record SegmentIds(Tensor Index, long Count) : Segmentation;

/// <summary>Fixed chunks of <paramref name="Length"/> positions, ids 0,1,2,… in order, the last chunk shorter (LRA).</summary>
public sealed record FixedChunkSegments(int Length) : Segmentation;

/// <summary>
/// What a token mixer needs besides X, built once per forward by the encoder of either layout: the
/// padding mask in the forms the mixers use, the segments, and the [CLS]/[SEP] positions.
/// The tensors join the caller's dispose scope.
/// </summary>
public sealed record MixerContext(
    Tensor Valid,         // [B,N] bool, true for real tokens
    Tensor ValidScale,    // [B,N,1] float, 1 for real tokens, 0 for padding
    Tensor ValidCount,    // [B,1,1] float, number of real tokens (at least 1)
    bool HasPadding)      // false when every position of the batch is a real token, so masks can be skipped
{
    /// <summary>What segment max-pooling pools over; null when no mixer of the model pools segments.</summary>
    public Segmentation? Segments { get; init; }

    /// <summary>[B,N,1] bool, true at [CLS]/[SEP], when the PoNet mixer runs with clsgsepg; else null.</summary>
    public Tensor? Special { get; init; }

    /// <summary>Intermediate tensors recorded for the golden tests; null in normal runs.</summary>
    public PoNetTrace? Trace { get; init; }

    /// <summary>[B,N,1] bool, true for padding.</summary>
    public Tensor Pad => Valid.logical_not().unsqueeze(-1);

    /// <summary>Token id 0 is padding (LRA).</summary>
    public static MixerContext FromTokens(Tensor tokens, Segmentation? segments = null) => FromValid(tokens.ne(0), segments);

    public static MixerContext FromValid(Tensor valid, Segmentation? segments = null)
    {
        var count = valid.sum(1, type: ScalarType.Float32).clamp_min(1).view(-1, 1, 1);
        return new MixerContext(valid, valid.unsqueeze(-1).to_type(ScalarType.Float32), count, !valid.all().item<bool>())
        {
            Segments = segments,
        };
    }

    /// <summary>x [B,N,·] with padded rows set to 0, as masked_fill(Pad, 0) (<see cref="MaskOps"/>); x itself without padding.</summary>
    public Tensor ZeroPads(Tensor x) => HasPadding ? MaskOps.Fill(x, ValidScale, 0) : x.alias();

    /// <summary>x [B,N,·] with padded rows set to <paramref name="value"/>, as masked_fill(Pad, value) (<see cref="MaskOps"/>); x itself without padding.</summary>
    public Tensor FillPads(Tensor x, float value) => HasPadding ? MaskOps.Fill(x, ValidScale, value) : x.alias();
}
