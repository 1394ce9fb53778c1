namespace PoNet.Tokenization;

/// <summary>
/// HF `WordpieceTokenizer`: greedy longest-match-first over a word's characters. The first piece is looked
/// up as is, every later one with the continuation prefix ("##"). A word longer than
/// <see cref="MaxInputCharsPerWord"/> code points, or one with a remainder that no vocabulary entry
/// starts, becomes the single unknown token (the pieces found so far are dropped).
/// Example with bert-base-uncased: "unaffable" → una ##ffa ##ble.
/// </summary>
public sealed class WordPieceTokenizer
{
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    // No entry is longer than this (UTF-16 chars), so longer candidates need no lookup; HF tries them all
    // and finds nothing, so the result is the same.
    private readonly int _longestEntry;

    public WordPieceTokenizer(Dictionary<string, int> vocab, string unkToken, string continuingSubwordPrefix = "##",
        int maxInputCharsPerWord = 100)
    {
        _lookup = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        _longestEntry = vocab.Count == 0 ? 0 : vocab.Keys.Max(k => k.Length);
        UnkToken = unkToken;
        ContinuingSubwordPrefix = continuingSubwordPrefix;
        MaxInputCharsPerWord = maxInputCharsPerWord;
    }

    public string UnkToken { get; }
    public string ContinuingSubwordPrefix { get; }
    public int MaxInputCharsPerWord { get; }

    /// <summary>Appends the pieces of one word (no whitespace in it) to <paramref name="output"/>.</summary>
    public void Tokenize(string word, List<string> output)
    {
        // HF counts Python characters, i.e. code points; starts[k] is where code point k begins.
        var starts = new List<int>(word.Length + 1);
        for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1)
            starts.Add(i);
        int count = starts.Count;
        starts.Add(word.Length);
        if (count == 0)
            return;
        if (count > MaxInputCharsPerWord)
        {
            output.Add(UnkToken);
            return;
        }

        int firstPiece = output.Count;
        int prefixLength = ContinuingSubwordPrefix.Length;
        // Holds prefix + piece for the lookups of non-initial pieces.
        var candidate = new char[word.Length + prefixLength];
        ContinuingSubwordPrefix.CopyTo(candidate);

        int start = 0;
        while (start < count)
        {
            string? piece = null;
            int end = count;
            for (; end > start; end--)
            {
                ReadOnlySpan<char> text = word.AsSpan(starts[start], starts[end] - starts[start]);
                ReadOnlySpan<char> key;
                if (start == 0)
                {
                    key = text;
                }
                else
                {
                    text.CopyTo(candidate.AsSpan(prefixLength));
                    key = candidate.AsSpan(0, prefixLength + text.Length);
                }
                if (key.Length > _longestEntry)
                    continue;
                if (_lookup.TryGetValue(key, out string? entry, out _))
                {
                    piece = entry;
                    break;
                }
            }
            if (piece is null)
            {
                output.RemoveRange(firstPiece, output.Count - firstPiece);
                output.Add(UnkToken);
                return;
            }
            output.Add(piece);
            start = end;
        }
    }
}
