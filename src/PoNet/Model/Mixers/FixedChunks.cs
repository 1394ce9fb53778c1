using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// LRA segments (docs/MODEL.md §2.3): there are no sentences, so SMP pools over fixed chunks of
/// seg_len = N / segment_num + 1 positions, ids 0,1,2,… in order, the last chunk shorter.
/// </summary>
public static class FixedChunks
{
    /// <summary>N / segment_num + 1 (integer division), exactly as the paper's code.</summary>
    public static int SegmentLength(int length, int segmentNum)
    {
        if (length < 1 || segmentNum < 1)
            throw new ArgumentOutOfRangeException(nameof(length), $"length {length} and segment_num {segmentNum} must be >= 1");
        return length / segmentNum + 1;
    }

    /// <summary>Segment id of every position: l / seg_len. int64 [N].</summary>
    public static Tensor SegmentIds(int length, int segmentLength) =>
        arange(length, dtype: ScalarType.Int64).div_(segmentLength, RoundingMode.floor);

    /// <summary>x [B,N,D] padded along N with <paramref name="value"/> to a multiple of seg_len; x itself when N already is one.</summary>
    public static Tensor PadToChunks(Tensor x, long segmentLength, double value = 0)
    {
        long n = x.shape[1], padded = (n + segmentLength - 1) / segmentLength * segmentLength;
        return padded == n ? x.alias() : nn.functional.pad(x, [0, 0, 0, padded - n], value: value);
    }
}
