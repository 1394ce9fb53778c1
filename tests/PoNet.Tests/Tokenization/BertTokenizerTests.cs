using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>
/// Tricky texts with the tokens HF's BertTokenizer gives for bert-base-uncased, derived rule by rule from
/// its algorithm (tokenization_bert.py, tokenization_utils.py) and the vocabulary. The expected tokens
/// are strings; their ids come from the vocabulary file. Each case was also checked against HF tokenizers
/// 0.23.2 (Rust) while writing it; the two cases where the Python and Rust tokenizers disagree say so.
/// </summary>
public class BertTokenizerTests
{
    static BertTokenizer UncasedPython => Uncased.WithCompatibility(TokenizerCompatibility.Python);

    [Fact]
    public void VocabularyIsBertBaseUncased()
    {
        Assert.Equal(30522, File.ReadAllLines(VocabPath).Length);
        Assert.Equal(30522, Uncased.VocabSize);
        Assert.Equal((0, 100, 101, 102, 103), (Uncased.PadId, Uncased.UnkId, Uncased.ClsId, Uncased.SepId, Uncased.MaskId));
    }

    [Theory]
    // Lower-case, then NFD and drop category Mn: é = e + U+0301, ï = i + U+0308.
    [InlineData("Café naïve résumé", "cafe naive resume")]
    // Already decomposed input: NFC composes e + U+0301 to é, and stripping removes the accent again.
    [InlineData("Cafe\u0301", "cafe")]
    // A lone combining mark is a word of its own that stripping empties: nothing is left of it.
    [InlineData("e \u0301", "e")]
    // Python's lower() maps İ to "i" + U+0307 (its full mapping); U+0307 is Mn and is stripped.
    [InlineData("İstanbul", "istanbul")]
    // Every CJK ideograph becomes a word of its own; 爱 is not in the vocabulary (checked below).
    [InlineData("我爱 北京", "我 [UNK] 北 京")]
    // Punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and Unicode P*) is split off, one mark per token.
    [InlineData("don't", "don ' t")]
    [InlineData("U.S.A.", "u . s . a .")]
    [InlineData("hello!!!", "hello ! ! !")]
    // '$' is ASCII punctuation for BERT although Unicode calls it a symbol (Sc); "00" is a vocab entry.
    [InlineData("$5.00", "$ 5 . 00")]
    // Non-ASCII symbols (€ Sc, ° So) are not punctuation: they stay in the word, as "##" pieces.
    [InlineData("5€ 20°C", "5 ##€ 20 ##° ##c")]
    // Hyphens split, digits are cut greedily: "141" then "##59".
    [InlineData("e-mail 3.14159 John's", "e - mail 3 . 141 ##59 john ' s")]
    // \t \n \r are whitespace: they separate words like a space.
    [InlineData("a\tb\nc\r\nd", "a b c d")]
    // U+00A0 and U+3000 are Zs: whitespace.
    [InlineData("a\u00A0b\u3000c", "a b c")]
    // U+2028 (Zl) is not `_is_whitespace`, but Python's str.split() still splits at it.
    [InlineData("a\u2028b", "a b")]
    // Zero-width space U+200B, soft hyphen U+00AD and the BOM U+FEFF are Cf: removed, not spaces, so the
    // letters around them join into one word.
    [InlineData("a\u200Bb", "ab")]
    [InlineData("co\u00ADoperate", "cooperate")]
    [InlineData("\uFEFFhello", "hello")]
    // U+0000 and U+FFFD are removed explicitly, BEL (U+0007) as a Cc control character.
    [InlineData("a\u0000b\uFFFDc", "abc")]
    [InlineData("a\u0007b", "ab")]
    // No vocabulary entry covers the emoji, so the whole word is [UNK], "hello" included.
    [InlineData("hello😀 😀", "[UNK] [UNK]")]
    // Greedy longest match first, then "##" pieces. (HF's docstring example "un ##aff ##able" is for the
    // original Google vocabulary; bert-base-uncased has "una", "##ffa", "##ble" and no "unaf".)
    [InlineData("unaffable", "una ##ffa ##ble")]
    [InlineData("tokenization", "token ##ization")]
    // Special tokens typed in the text are matched exactly, before lower-casing; "[mask]" is not one.
    [InlineData("the [MASK] sat [mask]", "the [MASK] sat [ mask ]")]
    [InlineData("a[SEP]b", "a [SEP] b")]
    // No compatibility normalization: "ﬁ" and "½" are vocabulary entries as they are, while the
    // full-width letters lower-case to ａｂｃ, which is not.
    [InlineData("ＡＢＣ ﬁ ½", "[UNK] ﬁ ½")]
    // Nothing but invisible characters: no tokens.
    [InlineData("\u200B \u0000 \uFEFF", "")]
    public void TokenizesLikeHuggingFace(string text, string expected)
    {
        string[] expectedTokens = expected.Length == 0 ? [] : expected.Split(' ');
        Assert.Equal(expectedTokens, Uncased.Tokenize(text));
        Assert.Equal(Ids(expectedTokens), Uncased.ConvertTokensToIds(Uncased.Tokenize(text)));
    }

    [Fact]
    public void TheVocabularyFactsTheCasesRelyOn()
    {
        Assert.Equal(Uncased.UnkId, Uncased.TokenToId("爱"));
        Assert.Equal(Uncased.UnkId, Uncased.TokenToId("unaf"));
        Assert.Equal(Uncased.UnkId, Uncased.TokenToId("##😀"));
        Assert.Equal(Uncased.UnkId, Uncased.TokenToId("ａｂｃ"));
        Assert.NotEqual(Uncased.UnkId, Uncased.TokenToId("ab"));
    }

    [Fact]
    public void AWordOfMoreThan100CharactersIsUnknown()
    {
        // max_input_chars_per_word = 100 is checked per word, in code points, after normalization.
        // 100 a's still split: "aaa" and then the longest piece, "##aa", 48 times, and a final "##a".
        string[] expected = ["aaa", .. Enumerable.Repeat("##aa", 48), "##a"];
        Assert.Equal(expected, Uncased.Tokenize(new string('a', 100)));
        Assert.Equal(["[UNK]"], Uncased.Tokenize(new string('a', 101)));
        // é (one code point) becomes e after stripping: 101 of them are still 101 characters.
        Assert.Equal(["[UNK]"], Uncased.Tokenize(new string('é', 101)));
        // Punctuation splits before the limit applies: two 60-letter halves are two words.
        string halves = new string('a', 60) + "," + new string('a', 60);
        Assert.DoesNotContain("[UNK]", Uncased.Tokenize(halves));
    }

    [Fact]
    public void TheWordLimitCountsCodePointsNotUtf16Chars()
    {
        // bert-base-uncased has no entry outside the BMP, so a small vocabulary holds 𝐀 (U+1D400, two
        // UTF-16 chars, no case mapping). 100 of them are 100 characters for Python: not over the limit.
        const string mathA = "\U0001D400";
        var vocab = new Dictionary<string, int>
        {
            ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4, [mathA] = 5, ["##" + mathA] = 6,
        };
        var tokenizer = new BertTokenizer(vocab);
        string[] expected = [mathA, .. Enumerable.Repeat("##" + mathA, 99)];
        Assert.Equal(expected, tokenizer.Tokenize(string.Concat(Enumerable.Repeat(mathA, 100))));
        Assert.Equal(["[UNK]"], tokenizer.Tokenize(string.Concat(Enumerable.Repeat(mathA, 101))));
    }

    [Fact]
    public void FinalCapitalSigmaFollowsPythonLower()
    {
        // Python's str.lower() turns Σ into ς at the end of a word ("ΟΔΟΣ" → "οδος") and into σ
        // elsewhere; "##ος" is in the vocabulary. BertTokenizerFast (Rust) lowercases per character and
        // gives ο ##δ ##ο ##σ here (the default; see TokenizerCompatibilityTests).
        Assert.Equal(["ο", "##δ", "##ος"], UncasedPython.Tokenize("ΟΔΟΣ"));
        Assert.Equal(["σ", "##ο", "##φ", "##ια"], UncasedPython.Tokenize("ΣΟΦΙΑ"));
    }

    [Fact]
    public void CjkExtensionEIsSpacedOutAsInPython()
    {
        // U+2B820 and U+2B91F (CJK Extension E) are in Python's `_is_chinese_char` range 0x2B820-0x2CEAF:
        // each becomes a word of its own, not in the vocabulary, so [UNK] between x and y. The Rust
        // tokenizer's range starts at 0x2B920 and gives one [UNK] for the whole word "x\U0002B820y".
        Assert.Equal(["x", "[UNK]", "y"], UncasedPython.Tokenize("x\U0002B820y"));
        Assert.Equal(["x", "[UNK]", "y"], UncasedPython.Tokenize("x\U0002B91Fy"));
    }

    [Fact]
    public void UnassignedCodePointsAreRemovedAsPythonDoes()
    {
        // U+0378 is unassigned (Cn): Python's `_is_control` (category starts with "C") removes it, so
        // "x\u0378y" is the word "xy". BertTokenizerFast keeps it and gives [UNK].
        Assert.Equal(["x", "##y"], UncasedPython.Tokenize("x\u0378y"));
    }

    [Fact]
    public void LowercaseAsciiWordsRoundTripThroughDecode()
    {
        // Every a-z letter and "##" letter is in the vocabulary, so WordPiece never gives [UNK] for such
        // words and decoding (join, glue "##" pieces) restores them.
        var random = new Random(7);
        for (int trial = 0; trial < 200; trial++)
        {
            var words = Enumerable.Range(0, random.Next(1, 8))
                .Select(_ => new string(Enumerable.Range(0, random.Next(1, 15)).Select(_ => (char)('a' + random.Next(26))).ToArray()));
            string text = string.Join(' ', words);
            BertEncoding encoding = Uncased.Encode(text);
            Assert.Equal(text, Uncased.Decode(encoding.InputIds, skipSpecialTokens: true));
        }
    }

    [Fact]
    public void DecodeCleansUpSpacesAndKeepsSpecialTokensApart()
    {
        int[] ids = Uncased.Encode("Hello, world! I don't know.").InputIds;
        Assert.Equal("[CLS] hello, world! i don't know. [SEP]", Uncased.Decode(ids));
        Assert.Equal("hello, world! i don't know.", Uncased.Decode(ids, skipSpecialTokens: true));
        Assert.Equal("hello , world ! i don ' t know .", Uncased.Decode(ids, skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void CasedOptionsKeepCaseAndAccents()
    {
        var vocab = new Dictionary<string, int>
        {
            ["[PAD]"] = 0, ["[UNK]"] = 1, ["[CLS]"] = 2, ["[SEP]"] = 3, ["[MASK]"] = 4,
            ["Café"] = 5, ["cafe"] = 6, ["Hello"] = 7, ["!"] = 8,
        };
        var cased = new BertTokenizer(vocab, new BertTokenizerOptions { Lowercase = false });
        Assert.Equal(["Café", "Hello", "!"], cased.Tokenize("Café Hello!"));
        // The Python tokenizer composes a decomposed é by NFC first, so it still matches the entry "Café";
        // the fast one (the default) has no NFC step and gives [UNK] (checked with tokenizers 0.23.2).
        Assert.Equal(["Café"], cased.WithCompatibility(TokenizerCompatibility.Python).Tokenize("Cafe\u0301"));
        Assert.Equal(["[UNK]"], cased.Tokenize("Cafe\u0301"));
        var stripOnly = new BertTokenizer(vocab, new BertTokenizerOptions { Lowercase = false, StripAccents = true });
        Assert.Equal(["[UNK]"], stripOnly.Tokenize("Café")); // "Cafe" is not an entry
        var lowerNoStrip = new BertTokenizer(vocab, new BertTokenizerOptions { Lowercase = true, StripAccents = false });
        Assert.Equal(["[UNK]"], lowerNoStrip.Tokenize("Café")); // "café" is not an entry
        Assert.Equal(["cafe"], lowerNoStrip.Tokenize("CAFE"));
    }
}
