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
