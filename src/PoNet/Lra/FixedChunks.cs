using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Lra;

/// <summary>
/// LRA segments (PONET.md §2): there are no sentences, so SMP pools over fixed chunks of
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

    /// <summary>
    /// S[b,l,:] = max of x[b,j,:] over the chunk of l, broadcast back to [B,N,D]. No scatter and no
    /// loop: pad N up to a multiple of seg_len with −inf (never a maximum, sliced away after),
    /// view as [B, chunks, seg_len, D], take amax over the chunk, expand back.
    /// </summary>
    public static Tensor ChunkMax(Tensor x, long segmentLength)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var rows = ChunkMaxRows(x, segmentLength);
        var back = rows.expand(b, rows.shape[1], segmentLength, d).reshape(b, rows.shape[1] * segmentLength, d);
        return back.narrow(1, 0, n).MoveToOuterDisposeScope();
    }

    /// <summary>The max of every chunk as one row: [B,N,D] → [B, chunks, 1, D] (the last chunk may be shorter).</summary>
    public static Tensor ChunkMaxRows(Tensor x, long segmentLength)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], d = x.shape[2];
        var xp = PadToChunks(x, segmentLength, double.NegativeInfinity);
        return xp.view(b, -1, segmentLength, d).amax([2], keepdim: true).MoveToOuterDisposeScope();
    }

    /// <summary>x [B,N,D] padded along N with <paramref name="value"/> to a multiple of seg_len; x itself when N already is one.</summary>
    public static Tensor PadToChunks(Tensor x, long segmentLength, double value = 0)
    {
        long n = x.shape[1], padded = (n + segmentLength - 1) / segmentLength * segmentLength;
        return padded == n ? x.alias() : nn.functional.pad(x, [0, 0, 0, padded - n], value: value);
    }
}
