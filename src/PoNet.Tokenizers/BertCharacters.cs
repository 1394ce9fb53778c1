using System.Globalization;
using System.Text;

namespace PoNet.Tokenization;

/// <summary>
/// The character classes of HF transformers' BERT tokenizer (tokenization_utils.py `_is_whitespace`,
/// `_is_control`, `_is_punctuation`; tokenization_bert.py `_is_chinese_char`), on Unicode scalar values.
/// Categories come from .NET's Unicode tables, which may be a newer Unicode version than the Python that
/// HF runs on; only code points assigned in between can differ.
/// </summary>
internal static class BertCharacters
{
    /// <summary>`_is_whitespace`: space, \t, \n, \r and category Zs. Such characters become a space.</summary>
    public static bool IsWhitespace(Rune c) =>
        c.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator;

    /// <summary>
    /// `_is_control`: any category C* (Cc, Cf, Cs, Co, Cn) except \t, \n, \r, which count as whitespace.
    /// So zero-width space U+200B, soft hyphen U+00AD, the BOM U+FEFF (all Cf) and unassigned code points
    /// are removed, not turned into a space: "a\u200Bb" becomes the one word "ab".
    /// </summary>
    public static bool IsControl(Rune c, TokenizerCompatibility compatibility = TokenizerCompatibility.Python)
    {
        if (c.Value is '\t' or '\n' or '\r')
            return false;
        var category = Rune.GetUnicodeCategory(c);
        // The Rust tokenizer's is_control (unicode_categories' is_other) has no Cn: it keeps unassigned code points.
        if (category == UnicodeCategory.OtherNotAssigned) return compatibility == TokenizerCompatibility.Python;
        return category is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse;
    }

    /// <summary>
    /// `_is_punctuation`: all non-alphanumeric ASCII (33-47, 58-64, 91-96, 123-126, so also $ + &lt; = &gt; ^ ` | ~,
    /// which Unicode calls symbols) and every category P*. Non-ASCII symbols (€ © ° emoji) are not punctuation.
    /// </summary>
    public static bool IsPunctuation(Rune c)
    {
        int cp = c.Value;
        if (cp is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126))
            return true;
        return Rune.GetUnicodeCategory(c) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation
            or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>
    /// `BasicTokenizer._is_chinese_char`, ranges copied exactly. The Rust tokenizers crate (BertTokenizerFast)
    /// has 0x2B920 where Python has 0x2B820, so U+2B820..U+2B91F is spaced out here and by the Python
    /// tokenizer but not by the fast one.
    /// </summary>
    public static bool IsChineseChar(int cp, TokenizerCompatibility compatibility = TokenizerCompatibility.Python) =>
        (compatibility == TokenizerCompatibility.Python || cp is < 0x2B820 or > 0x2B91F) && IsPythonChineseChar(cp);

    static bool IsPythonChineseChar(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF)
            or (>= 0x3400 and <= 0x4DBF)
            or (>= 0x20000 and <= 0x2A6DF)
            or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F)
            or (>= 0x2B820 and <= 0x2CEAF)
            or (>= 0xF900 and <= 0xFAFF)
            or (>= 0x2F800 and <= 0x2FA1F);

    /// <summary>
    /// What Python's `str.split()` (used by `whitespace_tokenize`) splits on: Unicode White_Space plus the
    /// information separators U+001C..U+001F. After cleaning this is only the space and U+2028/U+2029
    /// (categories Zl/Zp, which `_is_whitespace` leaves alone but `split()` still splits at).
    /// </summary>
    public static bool IsSplitWhitespace(Rune c) => Rune.IsWhiteSpace(c) || c.Value is >= 0x1C and <= 0x1F;

    /// <summary>
    /// Unicode Case_Ignorable (DerivedCoreProperties.txt): Mn, Me, Cf, Lm, Sk and Word_Break MidLetter,
    /// MidNumLet or Single_Quote. Needed only for Python's final-sigma rule.
    /// </summary>
    public static bool IsCaseIgnorable(Rune c)
    {
        if (Rune.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.Format or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol)
            return true;
        return c.Value is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x55F or 0x5F4 or 0x2018 or 0x2019 or 0x2024
            or 0x2027 or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A;
    }

    /// <summary>
    /// Unicode Cased, as far as it matters once case-ignorable characters are skipped: Lu, Ll, Lt and the
    /// Other_Lowercase/Other_Uppercase characters that are not case-ignorable (checked against CPython 3.11).
    /// </summary>
    public static bool IsCased(Rune c)
    {
        if (Rune.GetUnicodeCategory(c) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter
            or UnicodeCategory.TitlecaseLetter)
            return true;
        return c.Value is 0xAA or 0xBA or (>= 0x2160 and <= 0x217F) or (>= 0x24B6 and <= 0x24E9)
            or (>= 0x1F130 and <= 0x1F149) or (>= 0x1F150 and <= 0x1F169) or (>= 0x1F170 and <= 0x1F189);
    }
}
