using System.Text;

namespace PoNet.Tokenization;

/// <summary>How the text is normalized and cut; the defaults are bert-base-uncased's.</summary>
public sealed record BertTokenizerOptions
{
    public bool Lowercase { get; init; } = true;
    /// <summary>null: strip accents exactly when lower-casing (HF's default).</summary>
    public bool? StripAccents { get; init; }
    public bool TokenizeChineseChars { get; init; } = true;
    public bool CleanText { get; init; } = true;
    public string UnkToken { get; init; } = "[UNK]";
    public string ClsToken { get; init; } = "[CLS]";
    public string SepToken { get; init; } = "[SEP]";
    public string PadToken { get; init; } = "[PAD]";
    public string MaskToken { get; init; } = "[MASK]";
    public string ContinuingSubwordPrefix { get; init; } = "##";
    public int MaxInputCharsPerWord { get; init; } = 100;
    /// <summary>Where HF's fast and Python tokenizers disagree, which one to follow (default: fast, what AutoTokenizer returns).</summary>
    public TokenizerCompatibility Compatibility { get; init; } = TokenizerCompatibility.Fast;
}

/// <summary>
/// A BERT WordPiece tokenizer that gives HF transformers' ids: BertTokenizerFast (what AutoTokenizer
/// returns) by default, or BertTokenizer (Python) with <see cref="TokenizerCompatibility.Python"/>; the two
/// differ only in the cases named on <see cref="TokenizerCompatibility"/>. Load it with <see cref="Load"/> (vocab.txt, tokenizer.json or a model folder).
/// Special tokens written in the text ("the [MASK] sat") are recognized as in HF: matched exactly and
/// case-sensitively in the raw text, before any normalization.
/// </summary>
public sealed partial class BertTokenizer
{
    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<int, string> _idToToken;
    private readonly BasicTokenizer _basic;
    private readonly WordPieceTokenizer _wordPiece;
    // Matched in the raw text, longest first (HF's trie takes the longest match at the earliest start).
    private readonly string[] _tokensMatchedInText;
    // Their first characters: text without any of them needs no matching.
    private readonly System.Buffers.SearchValues<char> _firstCharsMatchedInText;
    private readonly HashSet<int> _specialIds;

    /// <param name="tokenToId">The vocabulary; must hold the special tokens named in <paramref name="options"/>.</param>
    /// <param name="options">Normalization and special-token names.</param>
    /// <param name="source">Where the vocabulary came from, for error messages.</param>
    /// <param name="extraTokensMatchedInText">Added tokens besides the five specials (from tokenizer.json).</param>
    public BertTokenizer(IReadOnlyDictionary<string, int> tokenToId, BertTokenizerOptions? options = null,
        string source = "vocabulary", IEnumerable<string>? extraTokensMatchedInText = null)
    {
        Options = options ?? new BertTokenizerOptions();
        _tokenToId = new Dictionary<string, int>(tokenToId, StringComparer.Ordinal);
        _idToToken = new Dictionary<int, string>(_tokenToId.Count);
        foreach (var (token, id) in _tokenToId)
        {
            if (!_idToToken.TryAdd(id, token))
                throw new PoNetInputException(
                    $"{source}: tokens '{_idToToken[id]}' and '{token}' both have id {id}; ids must be unique");
        }

        foreach (string special in new[]
                 {
                     Options.PadToken, Options.UnkToken, Options.ClsToken, Options.SepToken, Options.MaskToken,
                 })
        {
            if (!_tokenToId.ContainsKey(special))
                throw new PoNetInputException(
                    $"{source}: the vocabulary has no {special} token; a BERT vocabulary needs " +
                    $"{Options.PadToken}, {Options.UnkToken}, {Options.ClsToken}, {Options.SepToken} and {Options.MaskToken}");
        }
        PadId = _tokenToId[Options.PadToken];
        UnkId = _tokenToId[Options.UnkToken];
        ClsId = _tokenToId[Options.ClsToken];
        SepId = _tokenToId[Options.SepToken];
        MaskId = _tokenToId[Options.MaskToken];
        _specialIds = [PadId, UnkId, ClsId, SepId, MaskId];

        _tokensMatchedInText = new[] { Options.PadToken, Options.UnkToken, Options.ClsToken, Options.SepToken, Options.MaskToken }
            .Concat(extraTokensMatchedInText ?? [])
            .Where(t => t.Length > 0)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(t => t.Length)
            .ToArray();
        _firstCharsMatchedInText = System.Buffers.SearchValues.Create(_tokensMatchedInText.Select(t => t[0]).Distinct().ToArray());
        _basic = new BasicTokenizer(Options.Lowercase, Options.StripAccents, Options.TokenizeChineseChars, Options.CleanText,
            Options.Compatibility);
        _wordPiece = new WordPieceTokenizer(_tokenToId, Options.UnkToken, Options.ContinuingSubwordPrefix,
            Options.MaxInputCharsPerWord);
    }

    public BertTokenizerOptions Options { get; }
    public int VocabSize => _tokenToId.Count;
    public int PadId { get; }
    public int UnkId { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int MaskId { get; }

    /// <summary>The WordPiece tokens of <paramref name="text"/>, without [CLS]/[SEP] (HF `tokenize`).</summary>
    public List<string> Tokenize(string text)
    {
        var tokens = new List<string>();
        int pieceStart = 0;
        int i = 0;
        while (i < text.Length)
        {
            int next = text.AsSpan(i).IndexOfAny(_firstCharsMatchedInText);
            if (next < 0)
                break;
            i += next;
            string? special = TokenMatchedInTextAt(text, i);
            if (special is null)
            {
                i++;
                continue;
            }
            TokenizeWithoutSpecialTokens(text[pieceStart..i], tokens);
            tokens.Add(special);
            i += special.Length;
            pieceStart = i;
        }
        TokenizeWithoutSpecialTokens(text[pieceStart..], tokens);
        return tokens;
    }

    private string? TokenMatchedInTextAt(string text, int i)
    {
        foreach (string token in _tokensMatchedInText)
        {
            if (text.AsSpan(i).StartsWith(token, StringComparison.Ordinal))
                return token;
        }
        return null;
    }

    private void TokenizeWithoutSpecialTokens(string text, List<string> tokens)
    {
        foreach (string word in _basic.Tokenize(text))
            _wordPiece.Tokenize(word, tokens);
    }

    /// <summary>The id of a token; the [UNK] id for one not in the vocabulary (as HF).</summary>
    public int TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : UnkId;

    public int[] ConvertTokensToIds(IEnumerable<string> tokens) => tokens.Select(TokenToId).ToArray();

    /// <summary>The token of an id; [UNK] for an id outside the vocabulary (as HF's slow tokenizer).</summary>
    public string IdToToken(int id) => _idToToken.TryGetValue(id, out string? token) ? token : Options.UnkToken;

    public bool IsSpecialId(int id) => _specialIds.Contains(id);

    /// <summary>The same vocabulary and options, following <paramref name="compatibility"/> where HF's fast and Python tokenizers differ.</summary>
    public BertTokenizer WithCompatibility(TokenizerCompatibility compatibility) =>
        compatibility == Options.Compatibility ? this
            : new BertTokenizer(_tokenToId, Options with { Compatibility = compatibility }, "vocabulary",
                _tokensMatchedInText.Except([Options.PadToken, Options.UnkToken, Options.ClsToken, Options.SepToken, Options.MaskToken]));

    /// <summary>
    /// HF `tokenizer(text, text_pair, max_length=..., truncation=..., padding="max_length")`:
    /// [CLS] A [SEP] (B [SEP]), truncated to <paramref name="maxLength"/> tokens including the special
    /// ones (no truncation when null), then padded with [PAD] up to <paramref name="padTo"/> (a longer
    /// sequence is left as it is, as in HF).
    /// </summary>
    public BertEncoding Encode(string text, string? textPair = null, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, int? padTo = null)
    {
        int[] first = ConvertTokensToIds(Tokenize(text));
        int[]? second = textPair is null ? null : ConvertTokensToIds(Tokenize(textPair));
        return EncodeIds(first, second, maxLength, truncation, padTo);
    }

    /// <summary><see cref="Encode"/> for texts already turned into ids (without special tokens).</summary>
    public BertEncoding EncodeIds(IReadOnlyList<int> firstIds, IReadOnlyList<int>? secondIds = null,
        int? maxLength = null, TruncationStrategy truncation = TruncationStrategy.LongestFirst, int? padTo = null)
    {
        var first = firstIds.ToList();
        var second = secondIds?.ToList();
        if (maxLength is int max)
        {
            int specials = second is null ? 2 : 3;
            if (max < specials)
                throw new PoNetInputException(
                    $"max length {max} is shorter than the {specials} special tokens ([CLS], [SEP]) it must hold");
            int toRemove = first.Count + (second?.Count ?? 0) + specials - max;
            TruncateSequences(first, second, toRemove, truncation, max, Options.Compatibility);
        }

        var ids = new List<int>(first.Count + (second?.Count ?? 0) + 3) { ClsId };
        ids.AddRange(first);
        ids.Add(SepId);
        var typeIds = Enumerable.Repeat(0, ids.Count).ToList();
        var specialMask = Enumerable.Repeat(0, ids.Count).ToList();
        specialMask[0] = 1;
        specialMask[^1] = 1;
        if (second is not null)
        {
            ids.AddRange(second);
            ids.Add(SepId);
            typeIds.AddRange(Enumerable.Repeat(1, second.Count + 1));
            specialMask.AddRange(Enumerable.Repeat(0, second.Count));
            specialMask.Add(1);
        }
        int[] inputIds = ids.ToArray();
        var encoding = new BertEncoding(inputIds, typeIds.ToArray(), Enumerable.Repeat(1, inputIds.Length).ToArray(),
            specialMask.ToArray(), PoNetSegmentIds.FromSpecialTokens(inputIds, ClsId, SepId));
        return padTo is int length ? Pad(encoding, length) : encoding;
    }

    /// <summary>
    /// HF `truncate_sequences` (tokenization_utils_base.py, truncation_side="right"): removes
    /// <paramref name="toRemove"/> tokens from the ends of the sequences, in place.
    /// </summary>
    internal static void TruncateSequences(List<int> first, List<int>? second, int toRemove,
        TruncationStrategy strategy, int maxLength, TokenizerCompatibility compatibility = TokenizerCompatibility.Python)
    {
        if (toRemove <= 0)
            return;
        switch (strategy)
        {
            case TruncationStrategy.OnlyFirst:
            case TruncationStrategy.LongestFirst when second is null:
                // HF: `if len(ids) > num_tokens_to_remove: ids = ids[:-num_tokens_to_remove]`, else it logs
                // an error and returns the sequence uncut; here that is an error.
                if (first.Count <= toRemove)
                    throw new PoNetInputException(
                        $"cannot truncate to max length {maxLength}: {toRemove} tokens must go but the first " +
                        $"sequence has only {first.Count}" +
                        (strategy == TruncationStrategy.OnlyFirst ? "; use longest_first or only_second" : ""));
                first.RemoveRange(first.Count - toRemove, toRemove);
                break;
            case TruncationStrategy.LongestFirst:
                // HF: `for _ in range(num_tokens_to_remove): if pair_ids is None or len(ids) > len(pair_ids):
                // ids = ids[:-1] else: pair_ids = pair_ids[:-1]`, so a tie takes from the second sequence and,
                // when both must be cut to an odd total, the first keeps the extra token. BertTokenizerFast
                // (Rust) instead gives the extra token to the longer sequence (the second one on a tie), so
                // the two differ when both sequences are cut, the room left is odd and the first is not the
                // longer one. Both are here, by compatibility.
                if (compatibility == TokenizerCompatibility.Fast)
                {
                    // BertTokenizerFast, as measured on tokenizers 0.23.2 (every pair of lengths up to 12 with
                    // room up to 14): the shorter sequence s is kept whole if it fits in half the room and the
                    // other gets the rest; otherwise both get half, the extra token of an odd room going to the
                    // longer one (the second on a tie) — or to the second whenever s >= max length.
                    int room = first.Count + second!.Count - toRemove;
                    int shorter = Math.Min(first.Count, second.Count);
                    int n1, n2;
                    if (2 * shorter <= room)
                        (n1, n2) = first.Count <= second.Count ? (first.Count, room - first.Count) : (room - second.Count, second.Count);
                    else if (first.Count > second.Count && shorter < maxLength)
                        (n1, n2) = (room / 2 + room % 2, room / 2);
                    else
                        (n1, n2) = (room / 2, room / 2 + room % 2);
                    first.RemoveRange(n1, first.Count - n1);
                    second.RemoveRange(n2, second.Count - n2);
                    break;
                }
                for (int k = 0; k < toRemove; k++)
                {
                    if (first.Count > second!.Count)
                        first.RemoveAt(first.Count - 1);
                    else if (second.Count > 0)
                        second.RemoveAt(second.Count - 1);
                }
                break;
            case TruncationStrategy.OnlySecond:
                // HF's Python tokenizer silently skips only_second without a pair and logs an error when the
                // pair is too short; the Rust one raises in both cases, as this does.
                if (second is null)
                    throw new PoNetInputException(
                        $"cannot truncate to max length {maxLength} with only_second: there is no second sequence");
                if (second.Count <= toRemove)
                    throw new PoNetInputException(
                        $"cannot truncate to max length {maxLength}: {toRemove} tokens must go but the second " +
                        $"sequence has only {second.Count}; use longest_first or only_first");
                second.RemoveRange(second.Count - toRemove, toRemove);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(strategy), strategy, null);
        }
    }

    /// <summary>
    /// Pads with [PAD] on the right up to <paramref name="length"/> (token type 0, attention 0, special 1,
    /// segment: one past the last). A sequence already that long or longer is returned as it is.
    /// </summary>
    public BertEncoding Pad(BertEncoding encoding, int length)
    {
        int missing = length - encoding.Length;
        if (missing <= 0)
            return encoding;
        int[] Extend(int[] values, int fill) => values.Concat(Enumerable.Repeat(fill, missing)).ToArray();
        int paddingSegment = encoding.Length == 0 ? 0 : encoding.SegmentIds[^1] + 1;
        return new BertEncoding(
            Extend(encoding.InputIds, PadId),
            Extend(encoding.TokenTypeIds, 0),
            Extend(encoding.AttentionMask, 0),
            Extend(encoding.SpecialTokensMask, 1),
            Extend(encoding.SegmentIds, paddingSegment));
    }

    /// <summary>
    /// Encodes each (text, pair) and, with <paramref name="padToLongest"/>, pads all to the longest
    /// (HF padding="longest").
    /// </summary>
    public List<BertEncoding> EncodeBatch(IReadOnlyList<(string Text, string? TextPair)> inputs, int? maxLength = null,
        TruncationStrategy truncation = TruncationStrategy.LongestFirst, bool padToLongest = false)
    {
        var encodings = inputs.Select(input => Encode(input.Text, input.TextPair, maxLength, truncation)).ToList();
        if (!padToLongest || encodings.Count == 0)
            return encodings;
        int longest = encodings.Max(e => e.Length);
        return encodings.Select(e => Pad(e, longest)).ToList();
    }

    /// <summary>
    /// HF `decode`: tokens joined by spaces, "##" pieces glued to the piece before, then (with
    /// <paramref name="cleanUpTokenizationSpaces"/>, BERT's default) " ." " ?" " !" " ," " ' " " n't" " 'm"
    /// " 's" " 've" " 're" lose their leading space. Special tokens stand apart from the text around them.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = false, bool cleanUpTokenizationSpaces = true)
    {
        var parts = new List<string>();
        var run = new List<string>();
        void FlushRun()
        {
            if (run.Count > 0)
                parts.Add(string.Join(' ', run).Replace(" " + Options.ContinuingSubwordPrefix, "").Trim());
            run.Clear();
        }
        foreach (int id in ids)
        {
            if (IsSpecialId(id))
            {
                if (skipSpecialTokens)
                    continue;
                FlushRun();
                parts.Add(IdToToken(id));
            }
            else
            {
                run.Add(IdToToken(id));
            }
        }
        FlushRun();
        string text = string.Join(' ', parts);
        if (!cleanUpTokenizationSpaces)
            return text;
        return new StringBuilder(text)
            .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
            .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve")
            .Replace(" 're", "'re")
            .ToString();
    }
}
