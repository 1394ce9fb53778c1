namespace PoNet.Tokenization;

/// <summary>
/// One encoded sequence (or pair), all arrays the same length: what HF returns as `input_ids`,
/// `token_type_ids`, `attention_mask` and `special_tokens_mask`, plus PoNet's <see cref="SegmentIds"/>.
/// </summary>
/// <param name="InputIds">Vocabulary ids, [CLS] A [SEP] (B [SEP]) then any [PAD].</param>
/// <param name="TokenTypeIds">0 for [CLS] A [SEP], 1 for B [SEP], 0 for padding.</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding.</param>
/// <param name="SpecialTokensMask">1 for [CLS], [SEP] and [PAD] added by encoding, 0 for text tokens.</param>
/// <param name="SegmentIds">The segment each token belongs to, for PoNet's segment max-pooling.</param>
public sealed record BertEncoding(
    int[] InputIds,
    int[] TokenTypeIds,
    int[] AttentionMask,
    int[] SpecialTokensMask,
    int[] SegmentIds)
{
    public int Length => InputIds.Length;
}

/// <summary>Encodings padded into one row-major batch: int64 [Rows, Length] each, the layout both runtimes feed the model.</summary>
public sealed record PaddedBatch(int Rows, int Length, long[] InputIds, long[] AttentionMask, long[] TokenTypeIds, long[] SegmentIds)
{
    /// <summary>
    /// The encodings at <paramref name="indices"/> padded to the longest of them: [PAD], token type 0,
    /// attention 0, and one segment past each row's last.
    /// </summary>
    public static PaddedBatch Of(IReadOnlyList<BertEncoding> encodings, IReadOnlyList<int> indices, int padId)
    {
        int b = indices.Count, n = indices.Max(i => encodings[i].Length);
        var ids = new long[b * n];
        var types = new long[b * n];
        var mask = new long[b * n];
        var segments = new long[b * n];
        for (int r = 0; r < b; r++)
        {
            var e = encodings[indices[r]];
            int paddingSegment = e.Length == 0 ? 0 : e.SegmentIds[^1] + 1;
            for (int c = 0; c < n; c++)
            {
                int p = r * n + c;
                bool real = c < e.Length;
                ids[p] = real ? e.InputIds[c] : padId;
                types[p] = real ? e.TokenTypeIds[c] : 0;
                mask[p] = real ? e.AttentionMask[c] : 0;
                segments[p] = real ? e.SegmentIds[c] : paddingSegment;
            }
        }
        return new PaddedBatch(b, n, ids, mask, types, segments);
    }
}
