namespace PoNet.Pretraining;

/// <summary>The sentence structural objective's three classes (docs/MODEL.md §4).</summary>
public static class SsoLabel
{
    public const int Original = 0;
    public const int Swapped = 1;
    /// <summary>B was replaced by a chunk of another document.</summary>
    public const int Replaced = 2;
}

/// <summary>Labels of next-sentence prediction (BERT, FNet): B follows A, or B comes from another document.</summary>
public static class NspLabel
{
    public const int IsNext = 0;
    public const int Random = 1;
}

/// <summary>
/// One unmasked pre-training pair, <c>[CLS] A [SEP] B [SEP]</c> without padding, with the pre-training
/// segment layout of <see cref="Tokenization.BertTokenizer.EncodeSentencePair"/>. Masking happens per
/// batch (<see cref="MlmMasking"/>), so the same example is masked differently each time it is drawn.
/// </summary>
/// <param name="Document">Index of the source document in the stream (for checks of the document pool).</param>
/// <param name="OtherDocument">For <see cref="SsoLabel.Replaced"/>: the document B came from.</param>
public sealed record PretrainingExample(int[] InputIds, int[] TokenTypeIds, int[] SegmentIds, int SsoLabel,
    long Document, long? OtherDocument = null)
{
    public int Length => InputIds.Length;

    /// <summary>
    /// Lays out a pair given as sentences of token ids (cut already): [CLS] is segment 0, the sentences of
    /// A 1, 2, …, the first [SEP] the next id, the sentences of B continue, the final [SEP] the next.
    /// Token types are 0 up to the first [SEP] and 1 after it. Empty sentences get no id.
    /// </summary>
    public static PretrainingExample Layout(IReadOnlyList<int[]> sentencesA, IReadOnlyList<int[]> sentencesB,
        int clsId, int sepId, int ssoLabel, long document, long? otherDocument = null)
    {
        var ids = new List<int> { clsId };
        var types = new List<int> { 0 };
        var segments = new List<int> { 0 };
        int segment = 0;
        void Add(IReadOnlyList<int[]> sentences, int type)
        {
            foreach (var sentence in sentences)
            {
                if (sentence.Length == 0) continue;
                segment++;
                foreach (var id in sentence)
                {
                    ids.Add(id);
                    types.Add(type);
                    segments.Add(segment);
                }
            }
            ids.Add(sepId);
            types.Add(type);
            segments.Add(++segment);
        }
        Add(sentencesA, 0);
        Add(sentencesB, 1);
        return new PretrainingExample(ids.ToArray(), types.ToArray(), segments.ToArray(), ssoLabel, document, otherDocument);
    }
}
