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
        long chunks = (n + segmentLength - 1) / segmentLength, padded = chunks * segmentLength;
        var xp = padded == n ? x : nn.functional.pad(x, [0, 0, 0, padded - n], value: double.NegativeInfinity);
        var max = xp.view(b, chunks, segmentLength, d).amax([2], keepdim: true);
        var back = max.expand(b, chunks, segmentLength, d).reshape(b, padded, d);
        return (padded == n ? back : back.narrow(1, 0, n)).MoveToOuterDisposeScope();
    }
}
