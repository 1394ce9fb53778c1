using System.Text;

namespace PoNet.Tokenization;

/// <summary>
/// HF transformers' `BasicTokenizer` (tokenization_bert.py): cleaning, CJK splitting, lower-casing, accent
/// stripping and punctuation splitting, giving the words that WordPiece then cuts into pieces.
/// Steps, in HF's order:
/// 1. clean: drop U+0000, U+FFFD and control characters (<see cref="BertCharacters.IsControl"/>), turn
///    whitespace (<see cref="BertCharacters.IsWhitespace"/>) into a space;
/// 2. put spaces around CJK ideographs (<see cref="BertCharacters.IsChineseChar"/>);
/// 3. NFC-normalize (so "e" + U+0301 and "é" are one thing);
/// 4. split on whitespace, as Python's str.split();
/// 5. per word: Python's str.lower() (full mapping: "İ" → "i̇", and Σ → ς at the end of a word), then
///    strip accents (NFD, drop category Mn);
/// 6. split every punctuation character off as its own word.
/// Where the Rust BertTokenizerFast differs (no NFC, per-character lowercase without final sigma,
/// unassigned code points kept, one CJK range) <see cref="Compatibility"/> says which to follow (default
/// fast, as AutoTokenizer); for text without these the two agree.
/// </summary>
public sealed class BasicTokenizer
{
    /// <param name="lowercase">HF `do_lower_case` / BertNormalizer `lowercase`.</param>
    /// <param name="stripAccents">HF `strip_accents`; null means "same as <paramref name="lowercase"/>".</param>
    /// <param name="tokenizeChineseChars">HF `tokenize_chinese_chars` / `handle_chinese_chars`.</param>
    /// <param name="cleanText">BertNormalizer `clean_text`; the Python tokenizer always cleans.</param>
    public BasicTokenizer(bool lowercase = true, bool? stripAccents = null, bool tokenizeChineseChars = true,
        bool cleanText = true, TokenizerCompatibility compatibility = TokenizerCompatibility.Fast)
    {
        Compatibility = compatibility;
        Lowercase = lowercase;
        StripAccents = stripAccents ?? lowercase;
        TokenizeChineseChars = tokenizeChineseChars;
        CleanText = cleanText;
    }

    public bool Lowercase { get; }
    public bool StripAccents { get; }
    public bool TokenizeChineseChars { get; }
    public bool CleanText { get; }
    public TokenizerCompatibility Compatibility { get; }

    /// <summary>Splits <paramref name="text"/> into words and punctuation marks (no special-token handling).</summary>
    public List<string> Tokenize(string text)
    {
        var words = new List<string>();
        string prepared = CleanAndSpaceOutChineseChars(text);
        if (Compatibility == TokenizerCompatibility.Python && !prepared.IsNormalized(NormalizationForm.FormC))
            prepared = prepared.Normalize(NormalizationForm.FormC);
        foreach (string whitespaceWord in SplitOnWhitespace(prepared))
        {
            string word = whitespaceWord;
            if (Lowercase)
                word = Compatibility == TokenizerCompatibility.Python ? PythonLower(word) : CharLower(word);
            if (StripAccents)
                word = RemoveNonSpacingMarks(word);
            SplitOnPunctuation(word, words);
        }
        return words;
    }

    private string CleanAndSpaceOutChineseChars(string text)
    {
        var result = new StringBuilder(text.Length + 8);
        // EnumerateRunes yields U+FFFD for a lone surrogate; cleaning then drops it, as Python drops the
        // surrogate itself (category Cs).
        foreach (Rune c in text.EnumerateRunes())
        {
            if (CleanText)
            {
                if (c.Value is 0 or 0xFFFD || BertCharacters.IsControl(c, Compatibility))
                    continue;
                if (BertCharacters.IsWhitespace(c))
                {
                    result.Append(' ');
                    continue;
                }
            }
            if (TokenizeChineseChars && BertCharacters.IsChineseChar(c.Value, Compatibility))
                AppendRune(result.Append(' '), c).Append(' ');
            else
                AppendRune(result, c);
        }
        return result.ToString();
    }

    private static StringBuilder AppendRune(StringBuilder builder, Rune c)
    {
        if (c.IsBmp)
            return builder.Append((char)c.Value);
        Span<char> pair = stackalloc char[2];
        c.EncodeToUtf16(pair);
        return builder.Append(pair);
    }

    private static IEnumerable<string> SplitOnWhitespace(string text)
    {
        int start = -1;
        int i = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out Rune c, out int length);
            if (BertCharacters.IsSplitWhitespace(c))
            {
                if (start >= 0)
                    yield return text[start..i];
                start = -1;
            }
            else if (start < 0)
            {
                start = i;
            }
            i += length;
        }
        if (start >= 0)
            yield return text[start..];
    }

    /// <summary>
    /// Python's str.lower(): the simple lowercase mapping except İ (U+0130) → "i" + U+0307 (its only
    /// unconditional full mapping) and capital sigma, which becomes final ς when a cased letter precedes it
    /// and none follows (skipping case-ignorable characters both ways), σ otherwise.
    /// </summary>
    internal static string PythonLower(string word)
    {
        if (Ascii.IsValid(word))
            return word.ToLowerInvariant();
        Rune[] runes = word.EnumerateRunes().ToArray();
        var result = new StringBuilder(word.Length);
        for (int i = 0; i < runes.Length; i++)
        {
            Rune c = runes[i];
            if (c.Value == 0x130)
                result.Append("i\u0307");
            else if (c.Value == 0x3A3)
                result.Append(IsFinalSigma(runes, i) ? 'ς' : 'σ');
            else
                AppendRune(result, Rune.ToLowerInvariant(c));
        }
        return result.ToString();
    }

    /// <summary>
    /// The Rust tokenizer's lowercase: char::to_lowercase per character, the full mapping without context,
    /// so İ (U+0130) → "i" + U+0307 as in Python but Σ is always σ.
    /// </summary>
    internal static string CharLower(string word)
    {
        if (Ascii.IsValid(word))
            return word.ToLowerInvariant();
        var result = new StringBuilder(word.Length);
        foreach (Rune c in word.EnumerateRunes())
        {
            if (c.Value == 0x130)
                result.Append("i\u0307");
            else
                AppendRune(result, Rune.ToLowerInvariant(c));
        }
        return result.ToString();
    }

    // CPython unicodeobject.c handle_capital_sigma: \p{cased} \p{case-ignorable}* Σ !(\p{case-ignorable}* \p{cased}).
    private static bool IsFinalSigma(Rune[] runes, int sigma)
    {
        int before = sigma - 1;
        while (before >= 0 && BertCharacters.IsCaseIgnorable(runes[before]))
            before--;
        if (before < 0 || !BertCharacters.IsCased(runes[before]))
            return false;
        int after = sigma + 1;
        while (after < runes.Length && BertCharacters.IsCaseIgnorable(runes[after]))
            after++;
        return after == runes.Length || !BertCharacters.IsCased(runes[after]);
    }

    /// <summary>`_run_strip_accents`: NFD, then drop every category Mn character ("é" → "e").</summary>
    internal static string RemoveNonSpacingMarks(string word)
    {
        if (Ascii.IsValid(word))
            return word;
        string decomposed = word.Normalize(NormalizationForm.FormD);
        var result = new StringBuilder(decomposed.Length);
        foreach (Rune c in decomposed.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.NonSpacingMark)
                AppendRune(result, c);
        }
        return result.ToString();
    }

    /// <summary>`_run_split_on_punc`: each punctuation character is a word of its own.</summary>
    private static void SplitOnPunctuation(string word, List<string> output)
    {
        int start = 0;
        int i = 0;
        while (i < word.Length)
        {
            Rune.DecodeFromUtf16(word.AsSpan(i), out Rune c, out int length);
            if (BertCharacters.IsPunctuation(c))
            {
                if (i > start)
                    output.Add(word[start..i]);
                output.Add(word.Substring(i, length));
                start = i + length;
            }
            i += length;
        }
        if (start < word.Length)
            output.Add(word[start..]);
    }
}
