using PoNet.Pretraining;
using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Transfer;

public class PretrainingExampleTests
{
    static readonly BertTokenizer Tokenizer = Uncased;
    static readonly Lazy<string> Corpus = new(() => TransferTestData.NumberedCorpus(documents: 300, maxSentences: 30));

    static PretrainingExampleStream Stream(int maxLength = 40, long seed = 7, int pool = 1000, int shuffle = 500, int heldOutEvery = 10,
        int dupe = 1, CorpusSplit split = CorpusSplit.Train, double shortProbability = 0.1) =>
        new(new TextCorpus(Corpus.Value), Tokenizer, new PretrainingDataOptions
        {
            MaxLength = maxLength, Seed = seed, DocumentPoolSize = pool, ShuffleBufferSize = shuffle, HeldOutEvery = heldOutEvery,
            DupeFactor = dupe, ShortSequenceProbability = shortProbability,
        }, split);

    /// <summary>(doc, sentence) of each sentence segment of one side of an example, read from its "doc d sentence k ." tokens.</summary>
    static List<(int Doc, int Sentence)> Sentences(PretrainingExample e, int side)
    {
        int doc = Tokenizer.TokenToId("doc"), sentence = Tokenizer.TokenToId("sentence");
        var result = new List<(int, int)>();
        int firstSep = Array.IndexOf(e.InputIds, Tokenizer.SepId);
        int from = side == 0 ? 1 : firstSep + 1, to = side == 0 ? firstSep : e.Length - 1;
        foreach (var segment in Enumerable.Range(from, to - from).GroupBy(p => e.SegmentIds[p]))
        {
            var ids = segment.Select(p => e.InputIds[p]).ToList();
            int d = ids.IndexOf(doc), s = ids.IndexOf(sentence);
            // Truncation may have cut a sentence's first or last tokens; only whole readings count.
            if (d >= 0 && d + 1 < ids.Count && s >= 0 && s + 1 < ids.Count)
                result.Add((int.Parse(Tokenizer.IdToToken(ids[d + 1])), int.Parse(Tokenizer.IdToToken(ids[s + 1]))));
        }
        return result;
    }

    [Fact]
    public void LayoutIsTheTokenizersSentencePairLayout()
    {
        string[] a = ["The cat sat.", "It purred loudly!"], b = ["Dogs bark.", "", "Birds sing in trees."];
        var expected = Tokenizer.EncodeSentencePair(a, b);
        var actual = PretrainingExample.Layout(
            a.Select(s => Tokenizer.ConvertTokensToIds(Tokenizer.Tokenize(s))).ToList(),
            b.Select(s => Tokenizer.ConvertTokensToIds(Tokenizer.Tokenize(s))).ToList(),
            Tokenizer.ClsId, Tokenizer.SepId, SsoLabel.Original, document: 0);
        Assert.Equal(expected.InputIds, actual.InputIds);
        Assert.Equal(expected.TokenTypeIds, actual.TokenTypeIds);
        Assert.Equal(expected.SegmentIds, actual.SegmentIds);
        // [CLS]=0, two sentences of A, [SEP], two non-empty sentences of B, [SEP]
        Assert.Equal([0, 1, 2, 3, 4, 5, 6], actual.SegmentIds.Distinct());
    }

    [Fact]
    public void EveryExampleIsAWellFormedPairWithinTheMaximumLength()
    {
        var examples = Stream(maxLength: 24, shortProbability: 0.3).Examples().ToList();
        Assert.True(examples.Count > 500, $"{examples.Count} examples");
        foreach (var e in examples)
        {
            Assert.InRange(e.Length, 5, 24);
            Assert.Equal(Tokenizer.ClsId, e.InputIds[0]);
            Assert.Equal(Tokenizer.SepId, e.InputIds[^1]);
            var seps = Enumerable.Range(0, e.Length).Where(p => e.InputIds[p] == Tokenizer.SepId).ToList();
            Assert.Equal(2, seps.Count);
            Assert.True(seps[0] >= 2 && seps[1] >= seps[0] + 2, "A and B each keep at least one token");
            Assert.All(Enumerable.Range(0, e.Length), p => Assert.Equal(p <= seps[0] ? 0 : 1, e.TokenTypeIds[p]));
            // Segments: [CLS] 0, then consecutive ids; each [SEP] a segment of its own.
            Assert.Equal(0, e.SegmentIds[0]);
            for (int p = 1; p < e.Length; p++) Assert.InRange(e.SegmentIds[p] - e.SegmentIds[p - 1], 0, 1);
            Assert.NotEqual(e.SegmentIds[seps[0] - 1], e.SegmentIds[seps[0]]);
            Assert.NotEqual(e.SegmentIds[seps[0]], e.SegmentIds[seps[0] + 1]);
            Assert.NotEqual(e.SegmentIds[^2], e.SegmentIds[^1]);
        }
        // Most pairs fill the target; about 10% (here 30%) of documents aim shorter.
        Assert.True(examples.Count(e => e.Length >= 20) > examples.Count / 2);
    }

    [Fact]
    public void SsoLabelsAreAboutAThirdEachAndDescribeTheSentenceOrder()
    {
        var examples = Stream(maxLength: 40).Examples().ToList();
        var counts = Enumerable.Range(0, 3).Select(l => examples.Count(e => e.SsoLabel == l) / (double)examples.Count).ToArray();
        Assert.All(counts, c => Assert.InRange(c, 0.27, 0.40));
        int checkedPairs = 0;
        foreach (var e in examples)
        {
            var a = Sentences(e, 0);
            var b = Sentences(e, 1);
            if (a.Count == 0 || b.Count == 0) continue;
            checkedPairs++;
            switch (e.SsoLabel)
            {
                case SsoLabel.Original: // B continues A in the same document
                    Assert.Equal(a[^1].Doc, b[0].Doc);
                    Assert.True(a[^1].Sentence < b[0].Sentence);
                    break;
                case SsoLabel.Swapped: // B is what came before A
                    Assert.Equal(a[0].Doc, b[^1].Doc);
                    Assert.True(b[^1].Sentence < a[0].Sentence);
                    break;
                case SsoLabel.Replaced:
                    Assert.NotEqual(a[0].Doc, b[0].Doc);
                    Assert.NotNull(e.OtherDocument);
                    break;
            }
        }
        Assert.True(checkedPairs > examples.Count / 2);
    }

    [Fact]
    public void TheSameSeedGivesTheSameStreamAndAnotherSeedAnother()
    {
        static string Key(PretrainingExample e) => $"{string.Join(',', e.InputIds)}|{e.SsoLabel}";
        var first = Stream(seed: 3, dupe: 2).Examples().Select(Key).ToList();
        var again = Stream(seed: 3, dupe: 2).Examples().Select(Key).ToList();
        var other = Stream(seed: 4, dupe: 2).Examples().Select(Key).ToList();
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        // The second pass draws afresh: its examples are not the first pass's again.
        var onePass = Stream(seed: 3, dupe: 1).Examples().Select(Key).ToHashSet();
        Assert.True(first.Count(onePass.Contains) < first.Count * 3 / 4);
    }

    [Fact]
    public void MemoryIsBoundedByThePoolAndTheShuffleBuffer()
    {
        var stream = Stream(pool: 5, shuffle: 16, dupe: 2);
        int count = 0;
        foreach (var e in stream.Examples())
        {
            count++;
            if (e.OtherDocument is { } other)
            {
                // B came from one of the 5 documents read just before this one.
                Assert.InRange(other, e.Document - 5, e.Document - 1);
            }
        }
        Assert.True(count > 100);
        Assert.Equal(5, stream.PeakDocumentPool);
        Assert.Equal(16, stream.PeakShuffleBuffer);
    }

    [Fact]
    public void HeldOutDocumentsAreEveryKthAndNeverTrainedOn()
    {
        bool HeldOut(int doc) => doc % 10 == 9;
        var train = Stream(heldOutEvery: 10).Examples().SelectMany(e => Sentences(e, 0).Concat(Sentences(e, 1))).Select(s => s.Doc).ToHashSet();
        var heldOut = Stream(heldOutEvery: 10, split: CorpusSplit.HeldOut).Examples().SelectMany(e => Sentences(e, 0).Concat(Sentences(e, 1))).Select(s => s.Doc).ToHashSet();
        Assert.NotEmpty(heldOut);
        Assert.All(heldOut, d => Assert.True(HeldOut(d), $"doc {d} in the held-out split"));
        Assert.All(train, d => Assert.False(HeldOut(d), $"held-out doc {d} in the training split"));
        Assert.Equal(270, train.Count);
    }

    [Fact]
    public void TruncationCutsTheLongerSideFromEitherEnd()
    {
        var rng = new Random(1);
        int fronts = 0, backs = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            List<int[]> a = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10, 11, 12]], b = [[20, 21]];
            var (cutA, cutB) = PretrainingExampleStream.TruncatePair(a, b, maxTokens: 6, rng);
            Assert.Equal([20, 21], cutB.SelectMany(s => s));
            var kept = cutA.SelectMany(s => s).ToArray();
            Assert.Equal(4, kept.Length);
            // What is left of A is a contiguous run of its tokens.
            Assert.Equal(Enumerable.Range(kept[0], 4), kept);
            if (kept[0] > 1) fronts++;
            if (kept[^1] < 12) backs++;
        }
        Assert.True(fronts > 50 && backs > 50, $"cut at the front {fronts} times, at the back {backs} times");
    }
}
