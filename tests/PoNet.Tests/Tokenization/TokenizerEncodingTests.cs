using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>
/// [CLS] A [SEP] (B [SEP]) encoding, truncation and padding with HF's semantics. Single letters are one
/// token each ("a" … "h" are vocabulary entries), which makes the lengths easy to follow.
/// </summary>
public class TokenizerEncodingTests
{
    private static string[] Tokens(BertEncoding encoding) => encoding.InputIds.Select(Uncased.IdToToken).ToArray();

    [Fact]
    public void SingleTextGetsClsAndSep()
    {
        BertEncoding encoding = Uncased.Encode("Hello, world!");
        Assert.Equal(Ids("[CLS]", "hello", ",", "world", "!", "[SEP]"), encoding.InputIds);
        Assert.Equal([0, 0, 0, 0, 0, 0], encoding.TokenTypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 1], encoding.AttentionMask);
        Assert.Equal([1, 0, 0, 0, 0, 1], encoding.SpecialTokensMask);
        Assert.Equal([0, 1, 1, 1, 1, 2], encoding.SegmentIds);
    }

    [Fact]
    public void PairGetsTypeIdsAndPaddingAndSegments()
    {
        // The example of the PoNet segment rule: [CLS] a b [SEP] c d e [SEP] PAD PAD → 0 1 1 2 3 3 3 4 5 5.
        BertEncoding encoding = Uncased.Encode("a b", "c d e", padTo: 10);
        Assert.Equal(Ids("[CLS]", "a", "b", "[SEP]", "c", "d", "e", "[SEP]", "[PAD]", "[PAD]"), encoding.InputIds);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1, 0, 0], encoding.TokenTypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], encoding.AttentionMask);
        Assert.Equal([1, 0, 0, 1, 0, 0, 0, 1, 1, 1], encoding.SpecialTokensMask);
        Assert.Equal([0, 1, 1, 2, 3, 3, 3, 4, 5, 5], encoding.SegmentIds);
    }

    [Fact]
    public void PaddingNeverShortensAndBatchesPadToTheLongest()
    {
        // HF: padding to a length below the sequence's leaves the sequence as it is.
        Assert.Equal(6, Uncased.Encode("Hello, world!", padTo: 3).Length);
        var batch = Uncased.EncodeBatch([("a", null), ("a b c", "d"), ("", null)], padToLongest: true);
        Assert.All(batch, e => Assert.Equal(7, e.Length));
        Assert.Equal(["[CLS]", "a", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"], Tokens(batch[0]));
        Assert.Equal([0, 1, 2, 3, 3, 3, 3], batch[0].SegmentIds);
        Assert.Equal(["[CLS]", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"], Tokens(batch[2]));
    }

    [Theory]
    // longest_first, one token at a time from the longer sequence: A 5 and B 3 with room for 6
    // (9 - 3 specials): 5 > 3 so A → 4, 4 > 3 so A → 3.
    [InlineData("a b c d e", "f g h", 9, TruncationStrategy.LongestFirst, "a b c", "f g h")]
    // A tie takes from the second sequence (HF: `if len(ids) > len(pair_ids)` cuts ids, else pair_ids).
    // A 4, B 4, room 6: B → 3, then A (4 > 3) → 3.
    [InlineData("a b c d", "e f g h", 9, TruncationStrategy.LongestFirst, "a b c", "e f g")]
    // Room 5 is odd and both must be cut: BertTokenizerFast (the default) keeps A 2, B 3; the Python
    // tokenizer would keep A 3, B 2 (TokenizerCompatibilityTests).
    [InlineData("a b c d", "e f g h", 8, TruncationStrategy.LongestFirst, "a b", "e f g")]
    // Only the second is longer than half the room: it alone is cut, to room - |A| = 6 - 2.
    [InlineData("a b", "c d e f g h", 9, TruncationStrategy.LongestFirst, "a b", "c d e f")]
    // only_first cuts all 3 from A.
    [InlineData("a b c d e", "f g h", 8, TruncationStrategy.OnlyFirst, "a b", "f g h")]
    // only_second cuts all 3 from B.
    [InlineData("a b", "c d e f g", 7, TruncationStrategy.OnlySecond, "a b", "c d")]
    // Nothing to cut: every strategy leaves the pair alone.
    [InlineData("a", "b", 5, TruncationStrategy.OnlySecond, "a", "b")]
    public void TruncatesPairs(string first, string second, int maxLength, TruncationStrategy strategy,
        string expectedFirst, string expectedSecond)
    {
        BertEncoding encoding = Uncased.Encode(first, second, maxLength, strategy);
        string[] expected = ["[CLS]", .. expectedFirst.Split(' '), "[SEP]", .. expectedSecond.Split(' '), "[SEP]"];
        Assert.Equal(expected, Tokens(encoding));
        Assert.True(encoding.Length <= maxLength);
    }

    [Fact]
    public void TruncatesASingleTextFromTheEnd()
    {
        Assert.Equal(["[CLS]", "a", "b", "[SEP]"], Tokens(Uncased.Encode("a b c d e", maxLength: 4)));
        Assert.Equal(["[CLS]", "a", "b", "[SEP]"], Tokens(Uncased.Encode("a b c d e", maxLength: 4, truncation: TruncationStrategy.OnlyFirst)));
    }

    [Fact]
    public void ImpossibleTruncationIsAnError()
    {
        // only_first must cut 4 but A has 2; HF's Python tokenizer logs this and returns the pair uncut,
        // the Rust one raises: here it is an error.
        var e = Assert.Throws<PoNetInputException>(() => Uncased.Encode("a b", "c d e f g", 6, TruncationStrategy.OnlyFirst));
        Assert.Contains("first sequence has only 2", e.Message);
        e = Assert.Throws<PoNetInputException>(() => Uncased.Encode("a b c d e", "f g", 6, TruncationStrategy.OnlySecond));
        Assert.Contains("second sequence has only 2", e.Message);
        e = Assert.Throws<PoNetInputException>(() => Uncased.Encode("a b c", maxLength: 4, truncation: TruncationStrategy.OnlySecond));
        Assert.Contains("no second sequence", e.Message);
        // A single text cannot lose all its tokens (HF: `if len(ids) > num_tokens_to_remove`).
        Assert.Throws<PoNetInputException>(() => Uncased.Encode("a b", maxLength: 2));
        // Room for fewer than the special tokens.
        e = Assert.Throws<PoNetInputException>(() => Uncased.Encode("a", "b", maxLength: 2));
        Assert.Contains("3 special tokens", e.Message);
    }

    [Fact]
    public void TruncationNeverExceedsMaxLengthAndKeepsPrefixes()
    {
        var random = new Random(11);
        var strategies = Enum.GetValues<TruncationStrategy>();
        for (int trial = 0; trial < 500; trial++)
        {
            var first = Enumerable.Range(0, random.Next(0, 12)).Select(k => 1000 + k).ToList();
            List<int>? second = random.Next(4) == 0 ? null : Enumerable.Range(0, random.Next(0, 12)).Select(k => 2000 + k).ToList();
            int specials = second is null ? 2 : 3;
            int maxLength = random.Next(specials, 30);
            TruncationStrategy strategy = strategies[random.Next(strategies.Length)];
            int total = first.Count + (second?.Count ?? 0) + specials;
            BertEncoding encoding;
            try
            {
                encoding = Uncased.EncodeIds(first, second, maxLength, strategy);
            }
            catch (PoNetInputException)
            {
                // Only when the one sequence that may be cut is too short.
                int toRemove = total - maxLength;
                List<int>? cut = strategy == TruncationStrategy.OnlySecond ? second : first;
                Assert.True(cut is null || cut.Count <= toRemove, $"{strategy} threw for {first.Count}+{second?.Count}, max {maxLength}");
                continue;
            }
            Assert.Equal(Math.Min(total, maxLength), encoding.Length);
            // What is left of each sequence is a prefix of it.
            int sep = Array.IndexOf(encoding.InputIds, Uncased.SepId);
            Assert.Equal(first.Take(sep - 1), encoding.InputIds[1..sep]);
            if (second is not null)
                Assert.Equal(second.Take(encoding.Length - sep - 2), encoding.InputIds[(sep + 1)..^1]);
        }
    }

    [Fact]
    public void LongestFirstLeavesTheLengthsOfHfsLoop()
    {
        // The Python tokenizer's loop (the fast default: TokenizerCompatibilityTests).
        // HF's loop, in closed form, with room R = max - 3: a pair that fits is kept; a sequence no longer
        // than R/2 is kept whole and the other gets the rest; when both are longer than R/2, the first
        // keeps ceil(R/2) and the second floor(R/2) (ties are cut from the second).
        for (int a = 0; a <= 9; a++)
        for (int b = 0; b <= 9; b++)
        for (int max = 3; max <= 21; max++)
        {
            int room = max - 3;
            (int First, int Second) expected =
                a + b <= room ? (a, b)
                : 2 * a <= room ? (a, room - a)
                : 2 * b <= room ? (room - b, b)
                : ((room + 1) / 2, room / 2);
            BertEncoding encoding = Uncased.WithCompatibility(TokenizerCompatibility.Python).EncodeIds(Enumerable.Repeat(1000, a).ToList(), Enumerable.Repeat(2000, b).ToList(), max);
            Assert.Equal(expected, (encoding.InputIds.Count(id => id == 1000), encoding.InputIds.Count(id => id == 2000)));
        }
    }
}
