namespace PoNet.Tokenization;

/// <summary>
/// A small rule-based sentence splitter for PoNet's sentence segments. Rules:
/// 1. A sentence ends after a run of '.', '!', '?' or '…' (and any closing quotes or brackets right after
///    it: " ' ” ’ ) ] » 」 』) when whitespace follows and the next visible character is an uppercase
///    letter, a digit, or an opening quote or bracket (" ' “ ‘ ( [ « 「 『).
/// 2. Except after a period that ends an abbreviation: a single letter ("J. Smith"), dotted single
///    letters ("U.S.", "e.g.", "i.e.", "a.m."), or a word of <see cref="Abbreviations"/>
///    ("Mr.", "Dr.", "etc.", "Fig."), compared without case. So "in the U.S. The" stays one sentence.
/// 3. A blank line (a line break, optional spaces, another line break) always ends a sentence.
/// 4. The CJK full stops '。', '！', '？' (with closing brackets after them) end a sentence with or
///    without whitespace after them.
/// Sentences are trimmed and empty ones dropped. Every cut is at whitespace or right after punctuation,
/// which BERT always splits at, so the tokens of the sentences put together are the tokens of the text.
/// </summary>
public static class SentenceSplitter
{
    /// <summary>Multi-letter words that end in a period without ending the sentence (rule 2).</summary>
    public static readonly IReadOnlySet<string> Abbreviations = new HashSet<string>(StringComparer.Ordinal)
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "rev", "gen", "col", "lt", "sgt", "capt", "gov",
        "vs", "etc", "cf", "al", "fig", "figs", "no", "nos", "vol", "vols", "pp", "ed", "eds", "approx",
        "dept", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
        "oct", "nov", "dec",
    };

    private const string Terminators = ".!?…";
    private const string Closers = "\"'”’)]»」』";
    private const string Openers = "\"'“‘([«「『";
    private const string CjkTerminators = "。！？";
    private const string CjkClosers = "」』”’）】";

    public static List<string> Split(string text)
    {
        var sentences = new List<string>();
        int start = 0;
        int i = 0;
        while (i < text.Length)
        {
            int end = SentenceEndAt(text, i);
            if (end > 0)
            {
                Add(sentences, text[start..end]);
                start = end;
                i = end;
            }
            else
            {
                i++;
            }
        }
        Add(sentences, text[start..]);
        return sentences;
    }

    private static void Add(List<string> sentences, string sentence)
    {
        sentence = sentence.Trim();
        if (sentence.Length > 0)
            sentences.Add(sentence);
    }

    /// <summary>If a sentence ends with the character at <paramref name="i"/>'s run, where it ends; else 0.</summary>
    private static int SentenceEndAt(string text, int i)
    {
        char c = text[i];
        if (CjkTerminators.Contains(c))
        {
            int end = i + 1;
            while (end < text.Length && (CjkTerminators.Contains(text[end]) || CjkClosers.Contains(text[end])))
                end++;
            return end;
        }
        if (c == '\n')
        {
            int next = i + 1;
            while (next < text.Length && text[next] is ' ' or '\t' or '\r')
                next++;
            return next < text.Length && text[next] == '\n' ? next + 1 : 0;
        }
        if (!Terminators.Contains(c) || (i > 0 && Terminators.Contains(text[i - 1])))
            return 0; // not a terminator, or not the start of its run (the run was judged there)

        int runEnd = i;
        while (runEnd < text.Length && Terminators.Contains(text[runEnd]))
            runEnd++;
        int closed = runEnd;
        while (closed < text.Length && Closers.Contains(text[closed]))
            closed++;
        int next2 = closed;
        while (next2 < text.Length && char.IsWhiteSpace(text[next2]))
            next2++;
        if (next2 == closed || next2 == text.Length)
            return 0; // no whitespace after it, or the end of the text (which ends the sentence anyway)
        char following = text[next2];
        if (!(char.IsUpper(following) || char.IsDigit(following) || Openers.Contains(following)))
            return 0;
        if (runEnd - i == 1 && c == '.' && EndsAbbreviation(text, i))
            return 0;
        return closed;
    }

    private static bool EndsAbbreviation(string text, int period)
    {
        int wordStart = period;
        while (wordStart > 0 && !char.IsWhiteSpace(text[wordStart - 1]))
            wordStart--;
        string word = text[wordStart..period].TrimStart(Openers.ToCharArray()).ToLowerInvariant();
        if (word.Length == 0)
            return false;
        if (Abbreviations.Contains(word))
            return true;
        // "j", "u.s", "e.g", "a.m": single letters joined by periods.
        string[] parts = word.Split('.');
        return parts.All(p => p.Length == 1 && char.IsLetter(p[0]));
    }
}
