namespace PoNet.Tokenization;

/// <summary>
/// Segment ids for PoNet's segment max-pooling (every segment is pooled on its own).
/// </summary>
public static class PoNetSegmentIds
{
    /// <summary>
    /// Segments from the special tokens of an encoded sequence: every [CLS] and [SEP] is a segment of its
    /// own, every run of other tokens between them is one segment, and so is trailing padding.
    /// With s_l = 1 when token l is [CLS] or [SEP] (s_-1 = 0) and m_l = s_l + s_(l-1),
    /// seg = cumsum(m) - (first token is [CLS] ? 1 : 0).
    /// Example: [CLS] a b [SEP] c d e [SEP] PAD PAD → 0 1 1 2 3 3 3 4 5 5.
    /// Two specials in a row (an empty text) make the ids skip one: [CLS] [SEP] c [SEP] → 0 2 3 4.
    /// A [SEP] or [CLS] typed in the text itself is a special token too, so it also starts a segment.
    /// </summary>
    public static int[] FromSpecialTokens(IReadOnlyList<int> inputIds, int clsId, int sepId)
    {
        var segments = new int[inputIds.Count];
        if (inputIds.Count == 0)
            return segments;
        int sum = 0;
        int previousSpecial = 0;
        for (int l = 0; l < inputIds.Count; l++)
        {
            int special = inputIds[l] == clsId || inputIds[l] == sepId ? 1 : 0;
            sum += special + previousSpecial;
            segments[l] = sum;
            previousSpecial = special;
        }
        if (inputIds[0] == clsId)
        {
            for (int l = 0; l < segments.Length; l++)
                segments[l] -= 1;
        }
        return segments;
    }
}
