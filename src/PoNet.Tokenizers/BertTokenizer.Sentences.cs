namespace PoNet.Tokenization;

public sealed partial class BertTokenizer
{
    /// <summary>
    /// A long document as [CLS] text [SEP] with one PoNet segment per sentence (<see cref="SentenceSplitter"/>):
    /// [CLS] is segment 0, the sentences 1, 2, …, [SEP] the next id and padding the one after.
    /// The ids are those of <c>Encode(text)</c>; tokens past <paramref name="maxLength"/> (counting [CLS]
    /// and [SEP]) are cut from the end, and a sentence with no token left gets no id.
    /// Example: "Hi there. Bye." → [CLS] hi there . bye . [SEP] with segments 0 1 1 1 2 2 3.
    /// </summary>
    public BertEncoding EncodeDocument(string text, int? maxLength = null, int? padTo = null)
    {
        var sentences = SentenceSplitter.Split(text).Select(s => ConvertTokensToIds(Tokenize(s))).ToList();
        int room = int.MaxValue;
        if (maxLength is int max)
        {
            if (max < 2)
                throw new PoNetInputException($"max length {max} is shorter than the 2 special tokens ([CLS], [SEP]) it must hold");
            room = max - 2;
        }

        var ids = new List<int> { ClsId };
        var segments = new List<int> { 0 };
        int segment = 0;
        foreach (int[] sentence in sentences)
        {
            int take = Math.Min(sentence.Length, room - (ids.Count - 1));
            if (take <= 0)
                continue;
            segment++;
            ids.AddRange(sentence.Take(take));
            segments.AddRange(Enumerable.Repeat(segment, take));
        }
        ids.Add(SepId);
        segments.Add(segment + 1);
        return Build(ids, Enumerable.Repeat(0, ids.Count).ToList(), segments, [0, ids.Count - 1], padTo);
    }

    /// <summary>
    /// A pre-training pair, [CLS] A [SEP] B [SEP] where A and B are given as sentences: [CLS] is segment 0,
    /// the sentences of A are 1, 2, …, the first [SEP] takes the next id, the sentences of B continue
    /// after it, the last [SEP] takes the next id and padding the one after. Token types are 0 up to the
    /// first [SEP] and 1 after it. With <paramref name="maxLength"/> the token lists of A and B are cut as
    /// HF longest_first cuts a pair (see <see cref="TruncationStrategy.LongestFirst"/>); a sentence with
    /// no token left, or none to begin with, gets no id.
    /// </summary>
    public BertEncoding EncodeSentencePair(IReadOnlyList<string> sentencesA, IReadOnlyList<string> sentencesB,
        int? maxLength = null, int? padTo = null)
    {
        // Each token with the index of its sentence, so the cut lists still know their sentences.
        (List<int> Ids, List<int> Sentences) Flatten(IReadOnlyList<string> sentences)
        {
            var ids = new List<int>();
            var owners = new List<int>();
            for (int s = 0; s < sentences.Count; s++)
            {
                int[] sentenceIds = ConvertTokensToIds(Tokenize(sentences[s]));
                ids.AddRange(sentenceIds);
                owners.AddRange(Enumerable.Repeat(s, sentenceIds.Length));
            }
            return (ids, owners);
        }
        var (idsA, ownersA) = Flatten(sentencesA);
        var (idsB, ownersB) = Flatten(sentencesB);
        if (maxLength is int max)
        {
            if (max < 3)
                throw new PoNetInputException($"max length {max} is shorter than the 3 special tokens ([CLS], [SEP], [SEP]) it must hold");
            // Pre-training pairs keep the Python loop's cut either way: no HF tokenizer makes these pairs.
            TruncateSequences(idsA, idsB, idsA.Count + idsB.Count + 3 - max, TruncationStrategy.LongestFirst, max, TokenizerCompatibility.Python);
            ownersA.RemoveRange(idsA.Count, ownersA.Count - idsA.Count);
            ownersB.RemoveRange(idsB.Count, ownersB.Count - idsB.Count);
        }

        var ids = new List<int> { ClsId };
        var segments = new List<int> { 0 };
        int segment = 0;
        void AddSentences(List<int> sentenceIds, List<int> owners)
        {
            for (int k = 0; k < sentenceIds.Count; k++)
            {
                if (k == 0 || owners[k] != owners[k - 1])
                    segment++;
                ids.Add(sentenceIds[k]);
                segments.Add(segment);
            }
        }
        AddSentences(idsA, ownersA);
        ids.Add(SepId);
        segments.Add(++segment);
        int firstPartLength = ids.Count;
        AddSentences(idsB, ownersB);
        ids.Add(SepId);
        segments.Add(++segment);
        var typeIds = Enumerable.Range(0, ids.Count).Select(k => k < firstPartLength ? 0 : 1).ToList();
        return Build(ids, typeIds, segments, [0, firstPartLength - 1, ids.Count - 1], padTo);
    }

    private BertEncoding Build(List<int> ids, List<int> typeIds, List<int> segments, int[] addedSpecialPositions,
        int? padTo)
    {
        var specialMask = new int[ids.Count];
        foreach (int position in addedSpecialPositions)
            specialMask[position] = 1;
        var encoding = new BertEncoding(ids.ToArray(), typeIds.ToArray(), Enumerable.Repeat(1, ids.Count).ToArray(),
            specialMask, segments.ToArray());
        return padTo is int length ? Pad(encoding, length) : encoding;
    }
}
