using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>
/// Where HF's fast (Rust) and Python BERT tokenizers disagree. The fast one is the default, since
/// AutoTokenizer returns it; the expected fast tokens are what tokenizers 0.23.2 (the Rust library,
/// through its Node binding, with bert-base-uncased's tokenizer.json) printed for these texts, and the
/// Python ones follow tokenization_bert.py rule by rule (see BertTokenizerTests).
/// </summary>
public class TokenizerCompatibilityTests
{
    static BertTokenizer Python => Uncased.WithCompatibility(TokenizerCompatibility.Python);

    [Fact]
    public void FastIsTheDefaultAndPythonAnOption()
    {
        Assert.Equal(TokenizerCompatibility.Fast, Uncased.Options.Compatibility);
        Assert.Equal(TokenizerCompatibility.Python, Python.Options.Compatibility);
        Assert.Same(Uncased, Uncased.WithCompatibility(TokenizerCompatibility.Fast));
    }

    [Theory]
    // Final capital sigma: the fast tokenizer lowercases per character, Σ → σ everywhere.
    [InlineData("ΟΔΟΣ", "ο ##δ ##ο ##σ", "ο ##δ ##ος")]
    [InlineData("οδοσ ΟΔΟΣ.", "ο ##δ ##ο ##σ ο ##δ ##ο ##σ .", "ο ##δ ##ο ##σ ο ##δ ##ος .")]
    [InlineData("ΣΟΦΙΑ", "σ ##ο ##φ ##ια", "σ ##ο ##φ ##ια")]
    // Unassigned code points (U+0378; U+E0080 in plane 14): the fast tokenizer keeps them, so the word is [UNK];
    // Python removes them as controls.
    [InlineData("x\u0378y", "[UNK]", "x ##y")]
    [InlineData("a\u0378 b", "[UNK] b", "a b")]
    [InlineData("x\U000E0080y", "[UNK]", "x ##y")]
    // CJK Extension E U+2B820..U+2B91F: in Python's _is_chinese_char range, not in the Rust one (0x2B920..).
    [InlineData("x\U0002B820y", "[UNK]", "x [UNK] y")]
    [InlineData("x\U0002B91Fy", "[UNK]", "x [UNK] y")]
    [InlineData("x\U0002B920y", "x [UNK] y", "x [UNK] y")]
    // The same in both: accents (Mn) stripped, spacing marks (Mc) kept.
    [InlineData("Cafe\u0301", "cafe", "cafe")]
    [InlineData("हिन्दी", "ह ##ि ##न ##द ##ी", "ह ##ि ##न ##द ##ी")]
    public void FastAndPythonTokens(string text, string fast, string python)
    {
        Assert.Equal(fast.Split(' '), Uncased.Tokenize(text));
        Assert.Equal(python.Split(' '), Python.Tokenize(text));
        // Tokenize and Encode agree: the ids of [CLS] tokens [SEP].
        Assert.Equal([Uncased.ClsId, .. Uncased.ConvertTokensToIds(fast.Split(' ')), Uncased.SepId], Uncased.Encode(text).InputIds);
    }

    [Theory]
    // Pairs (A, B) cut to max length 8 (room 5) with longest_first, as tokenizers 0.23.2 printed them.
    [InlineData("a b c d", "e f g h", "a b", "e f g", "a b c", "e f")]
    [InlineData("a b c", "d e f g h", "a b", "d e f", "a b c", "d e")]
    [InlineData("a b c d e", "f g h", "a b c", "f g", "a b c", "f g")]
    [InlineData("a b c d e f", "g h i j", "a b c", "g h", "a b c", "g h")]
    public void LongestFirstCutsOfAnOddRoom(string first, string second, string fastFirst, string fastSecond, string pythonFirst, string pythonSecond)
    {
        foreach (var (tokenizer, a, b) in new[] { (Uncased, fastFirst, fastSecond), (Python, pythonFirst, pythonSecond) })
        {
            var encoding = tokenizer.Encode(first, second, maxLength: 8);
            var tokens = encoding.InputIds.Select(tokenizer.IdToToken).ToArray();
            int sep = Array.IndexOf(tokens, "[SEP]");
            Assert.Equal(a, string.Join(' ', tokens[1..sep]));
            Assert.Equal(b, string.Join(' ', tokens[(sep + 1)..^1]));
        }
    }

    [Fact]
    public void FastLongestFirstLeavesTheLengthsOfTheRustTokenizer()
    {
        // The closed form of what tokenizers 0.23.2 gave for every A, B of 0..12 tokens and room R = max - 3
        // of 0..14 (2,535 cases, all matched): the shorter s is kept if 2s <= R and the other gets R - s;
        // otherwise R/2 each, the odd token to the longer (the second on a tie), or to the second when s >= max.
        for (int a = 0; a <= 12; a++)
        for (int b = 0; b <= 12; b++)
        for (int max = 3; max <= 17; max++)
        {
            int room = max - 3, s = Math.Min(a, b);
            (int, int) expected =
                a + b <= room ? (a, b)
                : a <= b && 2 * a <= room ? (a, room - a)
                : b < a && 2 * b <= room ? (room - b, b)
                : a > b && s < max ? (room / 2 + room % 2, room / 2)
                : (room / 2, room / 2 + room % 2);
            var encoding = Uncased.EncodeIds(Enumerable.Repeat(1000, a).ToList(), Enumerable.Repeat(2000, b).ToList(), max);
            Assert.Equal(expected, (encoding.InputIds.Count(id => id == 1000), encoding.InputIds.Count(id => id == 2000)));
        }
    }
}
