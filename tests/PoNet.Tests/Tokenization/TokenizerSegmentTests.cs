using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>PoNet segment ids: from [CLS]/[SEP], per sentence of a document, and for pre-training pairs.</summary>
public class TokenizerSegmentTests
{
    private const int Cls = 101, Sep = 102, Pad = 0;

    [Fact]
    public void SegmentsFromSpecialTokens()
    {
        // s = 1 0 0 1 0 0 0 1 0 0, m = s_l + s_(l-1) = 1 1 0 1 1 0 0 1 1 0, cumsum - 1 = 0 1 1 2 3 3 3 4 5 5.
        int[] ids = [Cls, 7, 8, Sep, 9, 10, 11, Sep, Pad, Pad];
        Assert.Equal([0, 1, 1, 2, 3, 3, 3, 4, 5, 5], PoNetSegmentIds.FromSpecialTokens(ids, Cls, Sep));
        // An empty first text: two specials in a row make the ids skip one (m = 1 2 1 1).
        Assert.Equal([0, 2, 3, 4], PoNetSegmentIds.FromSpecialTokens([Cls, Sep, 9, Sep], Cls, Sep));
        // Without a leading [CLS] nothing is subtracted: the first run of text is segment 0.
        Assert.Equal([0, 0, 1, 2], PoNetSegmentIds.FromSpecialTokens([7, 8, Sep, 9], Cls, Sep));
        Assert.Empty(PoNetSegmentIds.FromSpecialTokens([], Cls, Sep));
    }

    [Theory]
    [InlineData("Hello there. How are you? Fine!", "Hello there. | How are you? | Fine!")]
    // Abbreviations and initials do not end a sentence.
    [InlineData("Mr. Smith met Dr. Jones. They talked.", "Mr. Smith met Dr. Jones. | They talked.")]
    [InlineData("J. R. R. Tolkien wrote it. It sold.", "J. R. R. Tolkien wrote it. | It sold.")]
    [InlineData("It is in the U.S. The end.", "It is in the U.S. The end.")]
    [InlineData("Use e.g. This one.", "Use e.g. This one.")]
    // A lower-case word after the period: no new sentence.
    [InlineData("The value is 3. and more.", "The value is 3. and more.")]
    // A digit or an opening quote may start a sentence; closing quotes stay with their sentence.
    [InlineData("It was 2020. 30 people came.", "It was 2020. | 30 people came.")]
    [InlineData("He said \"Stop.\" Then he left.", "He said \"Stop.\" | Then he left.")]
    [InlineData("Wait... What? \"Yes.\"", "Wait... | What? | \"Yes.\"")]
    // No whitespace after the period: a number or a domain, not a sentence end.
    [InlineData("Pi is 3.14 and example.com is a site.", "Pi is 3.14 and example.com is a site.")]
    // A blank line always ends a sentence; a single line break does not.
    [InlineData("A title\n\nthe text\ngoes on", "A title | the text\ngoes on")]
    // CJK full stops end a sentence without whitespace after them.
    [InlineData("我爱北京。你好！谢谢", "我爱北京。 | 你好！ | 谢谢")]
    [InlineData("  ", "")]
    public void SplitsSentences(string text, string expected)
    {
        string[] expectedSentences = expected.Length == 0 ? [] : expected.Split(" | ");
        Assert.Equal(expectedSentences, SentenceSplitter.Split(text));
    }

    [Theory]
    [InlineData("Mr. Smith went to Washington. He arrived at 5 p.m. It rained! \"Really?\" Yes.\n\nNew part.")]
    [InlineData("我爱北京。你好！ Café naïve. Done")]
    [InlineData("a[SEP]b. C[MASK]d! E")]
    public void SentencesTogetherHaveTheTokensOfTheText(string text)
    {
        // Cuts are at whitespace or after punctuation, where BERT always splits.
        var sentenceTokens = SentenceSplitter.Split(text).SelectMany(Uncased.Tokenize);
        Assert.Equal(Uncased.Tokenize(text), sentenceTokens);
    }

    [Fact]
    public void DocumentGetsOneSegmentPerSentence()
    {
        BertEncoding encoding = Uncased.EncodeDocument("Hi there. Bye.", padTo: 9);
        Assert.Equal(Ids("[CLS]", "hi", "there", ".", "bye", ".", "[SEP]", "[PAD]", "[PAD]"), encoding.InputIds);
        Assert.Equal([0, 1, 1, 1, 2, 2, 3, 4, 4], encoding.SegmentIds);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 0, 0], encoding.TokenTypeIds);
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 0, 0], encoding.AttentionMask);
        Assert.Equal([1, 0, 0, 0, 0, 0, 1, 1, 1], encoding.SpecialTokensMask);
        // Same ids as encoding the text in one piece.
        Assert.Equal(Uncased.Encode("Hi there. Bye.", padTo: 9).InputIds, encoding.InputIds);
    }

    [Fact]
    public void DocumentTruncationCutsTheLastSentencesAndRenumbers()
    {
        // Room for 4 tokens: "hi there ." and "bye"; the third sentence is gone, and so is its id.
        BertEncoding encoding = Uncased.EncodeDocument("Hi there. Bye now. Gone.", maxLength: 6);
        Assert.Equal(Ids("[CLS]", "hi", "there", ".", "bye", "[SEP]"), encoding.InputIds);
        Assert.Equal([0, 1, 1, 1, 2, 3], encoding.SegmentIds);
        // A sentence with no tokens (a paragraph of only a zero-width space) gets no id either.
        Assert.Equal(["Hi.", "\u200B", "Bye."], SentenceSplitter.Split("Hi.\n\n\u200B\n\nBye."));
        BertEncoding withEmpty = Uncased.EncodeDocument("Hi.\n\n\u200B\n\nBye.");
        Assert.Equal(Ids("[CLS]", "hi", ".", "bye", ".", "[SEP]"), withEmpty.InputIds);
        Assert.Equal([0, 1, 1, 2, 2, 3], withEmpty.SegmentIds);
    }

    [Fact]
    public void PretrainingPairNumbersSentencesAcrossTheSeparator()
    {
        BertEncoding encoding = Uncased.EncodeSentencePair(["Hi there.", "Bye."], ["Ok."], padTo: 11);
        Assert.Equal(Ids("[CLS]", "hi", "there", ".", "bye", ".", "[SEP]", "ok", ".", "[SEP]", "[PAD]"), encoding.InputIds);
        // [CLS] 0, A's sentences 1 and 2, [SEP] 3, B's sentence 4, [SEP] 5, padding 6.
        Assert.Equal([0, 1, 1, 1, 2, 2, 3, 4, 4, 5, 6], encoding.SegmentIds);
        Assert.Equal([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0], encoding.TokenTypeIds);
        Assert.Equal([1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 1], encoding.SpecialTokensMask);
    }

    [Fact]
    public void PretrainingPairTruncatesLongestFirst()
    {
        // A has 5 tokens (hi there . bye .), B 2 (ok .); max 7 leaves room 4, so 3 go, each from the
        // longer: 5 > 2 → A 4, 4 > 2 → A 3, 3 > 2 → A 2.
        BertEncoding encoding = Uncased.EncodeSentencePair(["Hi there.", "Bye."], ["Ok."], maxLength: 7);
        Assert.Equal(Ids("[CLS]", "hi", "there", "[SEP]", "ok", ".", "[SEP]"), encoding.InputIds);
        // A's second sentence is gone: no id for it.
        Assert.Equal([0, 1, 1, 2, 3, 3, 4], encoding.SegmentIds);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1], encoding.TokenTypeIds);
    }
}
