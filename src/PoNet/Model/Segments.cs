using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace PoNet.Model;

/// <summary>
/// Segment ids for segment max-pooling (docs/MODEL.md §2) and the pooling itself. Segments are contiguous
/// runs of positions with non-decreasing ids.
/// </summary>
public static class Segments
{
    /// <summary>1 where the token is [CLS] or [SEP], as int64 [B,N].</summary>
    public static Tensor SpecialMask(Tensor inputIds, long clsId, long sepId) =>
        inputIds.eq(clsId).logical_or(inputIds.eq(sepId)).to(ScalarType.Int64);

    /// <summary>
    /// Each special token is its own segment, each run of text between specials one segment, and
    /// trailing padding after a final [SEP] one more: seg = cumsum(special_l + special_(l-1)) − (row
    /// starts with [CLS]). Unlike the 2021 reference, a row not starting with [CLS] does not get −1.
    /// </summary>
    public static Tensor FromSpecialTokens(Tensor inputIds, long clsId, long sepId)
    {
        using var scope = NewDisposeScope();
        var special = SpecialMask(inputIds, clsId, sepId);
        var previous = functional.pad(special, [1, 0])[.., ..^1];
        var startsWithCls = inputIds[.., ..1].eq(clsId).to(ScalarType.Int64);
        return (special + previous).cumsum(1).sub_(startsWithCls).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Renumbers segment ids to 0,1,2,… per row so any buffer indexed by them has at most N rows (the
    /// later reference crashes on `[CLS][SEP][PAD]`, whose derived ids reach N). Ids passed by the
    /// user must be non-negative and non-decreasing along each row.
    /// </summary>
    public static Tensor Compact(Tensor segmentIds, bool validate)
    {
        using var scope = NewDisposeScope();
        if (segmentIds.shape[1] == 0) return segmentIds.clone().MoveToOuterDisposeScope();
        var step = segmentIds[.., 1..] - segmentIds[.., ..^1];
        if (validate)
        {
            if (segmentIds.lt(0).any().item<bool>())
            {
                var at = segmentIds.lt(0).nonzero()[0];
                throw new PoNetInputException(
                    $"segment_ids[{at[0].item<long>()}, {at[1].item<long>()}] = {segmentIds[at[0], at[1]].item<long>()}: expected ids >= 0");
            }
            if (step.lt(0).any().item<bool>())
            {
                var at = step.lt(0).nonzero()[0];
                long row = at[0].item<long>(), col = at[1].item<long>() + 1;
                throw new PoNetInputException(
                    $"segment_ids[{row}, {col}] = {segmentIds[row, col].item<long>()} after {segmentIds[row, col - 1].item<long>()}: " +
                    "expected non-decreasing ids along each row (segments are contiguous runs)");
            }
        }
        var boundary = step.ne(0).to(ScalarType.Int64);
        return functional.pad(boundary, [1, 0]).cumsum(1).MoveToOuterDisposeScope();
    }
}
