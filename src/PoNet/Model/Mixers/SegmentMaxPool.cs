using TorchSharp;
using static TorchSharp.torch;

namespace PoNet.Model.Mixers;

/// <summary>
/// Segment max-pooling (docs/MODEL.md §1.2): S[b,l,:] = max of x[b,j,:] over every j in the segment
/// of l, broadcast back to [B,N,D]. Two fast forms (segment ids: one TorchScript scatter; fixed
/// chunks: pad, reshape and amax) and <see cref="Reference"/>, a plain loop over segments that the
/// tests check both against (values and gradients).
/// </summary>
public static class SegmentMaxPool
{
    static readonly Lazy<jit.CompilationUnit> Script = new(() => jit.compile("""
        def segment_max(x: Tensor, seg: Tensor, num: int) -> Tensor:
            idx = seg.unsqueeze(-1).expand_as(x)
            out = torch.zeros([x.size(0), num, x.size(2)], dtype=x.dtype, device=x.device)
            out = out.scatter_reduce(1, idx, x, 'amax', include_self=False)
            return out.gather(1, idx)

        """));

    /// <summary>
    /// By segment ids from <see cref="Segments.Compact"/> (0..count−1 per row). TorchSharp has no
    /// scatter_reduce, so it runs as a TorchScript function (exact, differentiable, one pass; §10.5).
    /// </summary>
    /// <remarks>
    /// The count goes to TorchScript as an <c>int</c>: TorchSharp passes an int by value but wraps a
    /// long in a temporary Scalar that nothing keeps alive, so a garbage collection before the native
    /// call could free it and libtorch failed in Scalar::toLong (seen in CI; reproduced by
    /// SegmentTests with collections on another thread).
    /// </remarks>
    public static Tensor ByIds(Tensor x, Tensor compactSeg, long count)
    {
        if (count < 0 || count > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(count), count, "segment count must be in 0..2^31-1");
        return Script.Value.invoke<Tensor>("segment_max", x, compactSeg, (int)count);
    }

    /// <summary>
    /// By fixed chunks of <paramref name="segmentLength"/>: no scatter and no loop (§10.5). Pad N up to
    /// a multiple of seg_len with −inf (never a maximum, sliced away after), view as
    /// [B, chunks, seg_len, D], take amax over the chunk, expand back.
    /// </summary>
    public static Tensor ByChunks(Tensor x, long segmentLength)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], n = x.shape[1], d = x.shape[2];
        var rows = ChunkRows(x, segmentLength);
        var back = rows.expand(b, rows.shape[1], segmentLength, d).reshape(b, rows.shape[1] * segmentLength, d);
        return back.narrow(1, 0, n).MoveToOuterDisposeScope();
    }

    /// <summary>The max of every chunk as one row: [B,N,D] → [B, chunks, 1, D] (the last chunk may be shorter).</summary>
    public static Tensor ChunkRows(Tensor x, long segmentLength)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], d = x.shape[2];
        var xp = FixedChunks.PadToChunks(x, segmentLength, double.NegativeInfinity);
        return xp.view(b, -1, segmentLength, d).amax([2], keepdim: true).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The definition, segment by segment: for each id s, the max over the positions with that id,
    /// written to those positions. <paramref name="segmentIds"/> [B,N] int64, any non-negative ids.
    /// </summary>
    public static Tensor Reference(Tensor x, Tensor segmentIds)
    {
        using var scope = NewDisposeScope();
        var result = zeros_like(x);
        foreach (var s in segmentIds.unique().output.data<long>().ToArray())
        {
            var inSegment = segmentIds.eq(s).unsqueeze(-1);                                        // [B,N,1]
            var max = where(inSegment, x, double.NegativeInfinity).amax([1], keepdim: true);        // [B,1,D]
            result = where(inSegment, max.expand_as(x), result);
        }
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Local max-pooling (docs/MODEL.md §1.3): window 3, stride 1, same length; neighbours outside the
/// sequence are ignored. <see cref="Fast"/> is libtorch's max_pool1d (it pads with −inf);
/// <see cref="Reference"/> the element-wise maximum of x and its two shifted copies.
/// </summary>
public static class LocalMaxPool
{
    /// <param name="x">[B,N,D].</param>
    public static Tensor Fast(Tensor x)
    {
        using var scope = NewDisposeScope();
        return nn.functional.max_pool1d(x.transpose(1, 2), 3, 1, 1).transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <param name="x">[B,N,D].</param>
    public static Tensor Reference(Tensor x)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[1];
        if (n == 1) return x.alias().MoveToOuterDisposeScope();
        var outside = full_like(x.narrow(1, 0, 1), double.NegativeInfinity);
        var previous = cat([outside, x.narrow(1, 0, n - 1)], 1);   // x[l−1]
        var next = cat([x.narrow(1, 1, n - 1), outside], 1);       // x[l+1]
        return maximum(x, maximum(previous, next)).MoveToOuterDisposeScope();
    }
}
