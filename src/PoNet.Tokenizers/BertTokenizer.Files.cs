using System.Text;
using System.Text.Json;

namespace PoNet.Tokenization;

public sealed partial class BertTokenizer
{
    /// <summary>
    /// Loads a tokenizer from a model folder (its tokenizer.json if there is one, else its vocab.txt with
    /// the flags of tokenizer_config.json), a tokenizer.json (any file whose first character is '{') or a
    /// vocab.txt (bert-base-uncased options).
    /// </summary>
    public static BertTokenizer Load(string path)
    {
        try
        {
            return LoadAny(path);
        }
        catch (InvalidOperationException e)
        {
            // A JSON string escape that is no valid UTF-16 (a lone surrogate such as "\ud800").
            throw new PoNetInputException($"{path}: invalid JSON string: {e.Message}", e);
        }
    }

    private static BertTokenizer LoadAny(string path)
    {
        if (Directory.Exists(path))
        {
            string tokenizerJson = Path.Combine(path, "tokenizer.json");
            if (File.Exists(tokenizerJson))
                return FromTokenizerJson(tokenizerJson);
            string vocabTxt = Path.Combine(path, "vocab.txt");
            if (File.Exists(vocabTxt))
            {
                string config = Path.Combine(path, "tokenizer_config.json");
                return FromVocabFile(vocabTxt, File.Exists(config) ? ReadTokenizerConfig(config) : null);
            }
            throw new PoNetInputException($"{path}: the folder has neither a tokenizer.json nor a vocab.txt");
        }
        byte[] bytes = ReadFile(path);
        return StartsWithBrace(bytes) ? FromTokenizerJson(path) : FromVocabText(path, bytes, null);
    }

    /// <summary>
    /// A WordPiece vocab.txt: one token per line, the id being the line number from 0. HF reads it with
    /// `token.rstrip("\n")` in universal-newline mode, so "\r\n" endings are allowed. Unlike HF, empty lines,
    /// duplicate tokens and tokens with whitespace are errors (they are never what was meant).
    /// </summary>
    public static BertTokenizer FromVocabFile(string path, BertTokenizerOptions? options = null) =>
        FromVocabText(path, ReadFile(path), options);

    private static BertTokenizer FromVocabText(string path, byte[] bytes, BertTokenizerOptions? options) =>
        new(ReadVocabTxt(path, bytes), options, path);

    private static byte[] ReadFile(string path)
    {
        if (!File.Exists(path))
            throw new PoNetInputException(
                $"{path}: no such file; expected a vocab.txt, a tokenizer.json or a model folder holding one");
        return File.ReadAllBytes(path);
    }

    private static bool StartsWithBrace(byte[] bytes)
    {
        int i = HasUtf8Bom(bytes) ? 3 : 0;
        while (i < bytes.Length && bytes[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            i++;
        return i < bytes.Length && bytes[i] == (byte)'{';
    }

    private static bool HasUtf8Bom(byte[] bytes) =>
        bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;

    internal static Dictionary<string, int> ReadVocabTxt(string path, byte[] bytes)
    {
        int position = HasUtf8Bom(bytes) ? 3 : 0;
        if (position == bytes.Length)
            throw new PoNetInputException($"{path}: the file is empty; expected a WordPiece vocab.txt, one token per line");
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var lineOf = new Dictionary<string, int>(StringComparer.Ordinal);
        int line = 0;
        while (position < bytes.Length)
        {
            line++;
            int newline = Array.IndexOf(bytes, (byte)'\n', position);
            int end = newline < 0 ? bytes.Length : newline;
            int contentEnd = end > position && bytes[end - 1] == (byte)'\r' ? end - 1 : end;
            string token;
            try
            {
                token = strictUtf8.GetString(bytes, position, contentEnd - position);
            }
            catch (DecoderFallbackException)
            {
                throw PoNetInputException.AtLine(path, line, "not UTF-8 text; expected a WordPiece vocab.txt, one token per line");
            }
            position = end + 1;

            if (token.Length == 0)
                throw PoNetInputException.AtLine(path, line, "empty line; a WordPiece vocab.txt has one token on every line");
            if (line == 1 && token.Length > 1 && token[0] == '{')
                throw PoNetInputException.AtLine(path, line,
                    "this looks like JSON, not a vocab.txt; a HF tokenizer.json is read when its first character is '{'");
            if (token.Contains('\0'))
                throw PoNetInputException.AtLine(path, line, "binary data (a NUL byte); expected a WordPiece vocab.txt");
            if (token.EnumerateRunes().Any(c => c.Value == '\r' || BertCharacters.IsSplitWhitespace(c)))
                throw PoNetInputException.AtLine(path, line,
                    $"the token '{token}' contains whitespace; this is not a WordPiece vocab.txt (one token per line, " +
                    "no spaces); merges.txt and SentencePiece vocabularies are not supported");
            if (lineOf.TryGetValue(token, out int firstLine))
                throw PoNetInputException.AtLine(path, line,
                    $"the token '{token}' is already on line {firstLine}; every token must appear once");
            lineOf[token] = line;
            vocab[token] = line - 1;
        }
        return vocab;
    }

    /// <summary>
    /// A HF tokenizer.json with a WordPiece model, BertNormalizer and BertPreTokenizer: the vocabulary from
    /// `model.vocab`, `unk_token`, `continuing_subword_prefix` and `max_input_chars_per_word` from
    /// `model`, the normalizer flags from `normalizer`, [CLS]/[SEP] from `post_processor`, [PAD] from
    /// `padding` when set, and `added_tokens` (matched in the raw text like the special tokens). Its
    /// `truncation` and `padding` settings are not applied: pass them to <see cref="Encode"/>.
    /// </summary>
    public static BertTokenizer FromTokenizerJson(string path)
    {
        byte[] bytes = ReadFile(path);
        using JsonDocument document = ParseJson(path, bytes);
        var json = new JsonReader(path);
        JsonElement root = document.RootElement;
        json.RequireKind(root, JsonValueKind.Object, "the top level");

        JsonElement model = json.RequireObject(root, "model", "the top level");
        string modelType = json.OptionalString(model, "type", "model") ?? "";
        if (modelType != "WordPiece")
            throw new PoNetInputException(
                $"{path}: model.type is '{modelType}'; only a WordPiece model (a BERT tokenizer.json) is supported");
        JsonElement vocabJson = json.RequireObject(model, "vocab", "model");
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (JsonProperty entry in vocabJson.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw new PoNetInputException($"{path}: model.vocab['{entry.Name}'] must be a non-negative integer id");
            if (!vocab.TryAdd(entry.Name, id))
                throw new PoNetInputException($"{path}: model.vocab has the token '{entry.Name}' twice");
        }
        if (vocab.Count == 0)
            throw new PoNetInputException($"{path}: model.vocab is empty");

        var options = new BertTokenizerOptions
        {
            UnkToken = json.OptionalString(model, "unk_token", "model") ?? "[UNK]",
            ContinuingSubwordPrefix = json.OptionalString(model, "continuing_subword_prefix", "model") ?? "##",
            MaxInputCharsPerWord = json.OptionalInt(model, "max_input_chars_per_word", "model") ?? 100,
        };

        if (root.TryGetProperty("normalizer", out JsonElement normalizer) && normalizer.ValueKind != JsonValueKind.Null)
        {
            string type = json.OptionalString(normalizer, "type", "normalizer") ?? "";
            if (type != "BertNormalizer")
                throw new PoNetInputException(
                    $"{path}: normalizer.type is '{type}'; only BertNormalizer (or none) is supported");
            options = options with
            {
                Lowercase = json.OptionalBool(normalizer, "lowercase", "normalizer") ?? true,
                StripAccents = json.OptionalBool(normalizer, "strip_accents", "normalizer"),
                TokenizeChineseChars = json.OptionalBool(normalizer, "handle_chinese_chars", "normalizer") ?? true,
                CleanText = json.OptionalBool(normalizer, "clean_text", "normalizer") ?? true,
            };
        }
        else
        {
            options = options with { Lowercase = false, StripAccents = false, TokenizeChineseChars = false, CleanText = false };
        }

        if (root.TryGetProperty("pre_tokenizer", out JsonElement preTokenizer) && preTokenizer.ValueKind != JsonValueKind.Null)
        {
            string type = json.OptionalString(preTokenizer, "type", "pre_tokenizer") ?? "";
            if (type != "BertPreTokenizer")
                throw new PoNetInputException(
                    $"{path}: pre_tokenizer.type is '{type}'; only BertPreTokenizer is supported");
        }
        else
        {
            throw new PoNetInputException($"{path}: no pre_tokenizer; a BERT tokenizer.json has a BertPreTokenizer");
        }

        if (root.TryGetProperty("post_processor", out JsonElement post) && post.ValueKind != JsonValueKind.Null)
        {
            var (cls, sep) = json.ClsAndSep(post);
            options = options with { ClsToken = cls, SepToken = sep };
        }
        if (root.TryGetProperty("padding", out JsonElement padding) && padding.ValueKind == JsonValueKind.Object)
            options = options with { PadToken = json.OptionalString(padding, "pad_token", "padding") ?? "[PAD]" };

        var addedTokens = new List<string>();
        if (root.TryGetProperty("added_tokens", out JsonElement added) && added.ValueKind != JsonValueKind.Null)
        {
            json.RequireKind(added, JsonValueKind.Array, "added_tokens");
            foreach (JsonElement token in added.EnumerateArray())
            {
                json.RequireKind(token, JsonValueKind.Object, "an added_tokens entry");
                string content = json.OptionalString(token, "content", "added_tokens entry")
                    ?? throw new PoNetInputException($"{path}: an added_tokens entry has no content");
                int id = json.OptionalInt(token, "id", "added_tokens entry")
                    ?? throw new PoNetInputException($"{path}: the added token '{content}' has no id");
                if (vocab.TryGetValue(content, out int vocabId) && vocabId != id)
                    throw new PoNetInputException(
                        $"{path}: the added token '{content}' has id {id} but model.vocab gives it {vocabId}");
                // HF matches an added token with normalized=true against the normalized text and one with
                // lstrip/rstrip/single_word by its own rules; BERT's special tokens use none of these.
                if (json.OptionalBool(token, "normalized", "added_tokens entry") == true
                    || json.OptionalBool(token, "lstrip", "added_tokens entry") == true
                    || json.OptionalBool(token, "rstrip", "added_tokens entry") == true
                    || json.OptionalBool(token, "single_word", "added_tokens entry") == true)
                    throw new PoNetInputException(
                        $"{path}: the added token '{content}' sets normalized, lstrip, rstrip or single_word, " +
                        "which is not supported");
                vocab[content] = id;
                addedTokens.Add(content);
            }
        }
        return new BertTokenizer(vocab, options, path, addedTokens);
    }

    /// <summary>The flags of a HF tokenizer_config.json that decide how a vocab.txt is used.</summary>
    internal static BertTokenizerOptions ReadTokenizerConfig(string path)
    {
        using JsonDocument document = ParseJson(path, ReadFile(path));
        var json = new JsonReader(path);
        JsonElement root = document.RootElement;
        json.RequireKind(root, JsonValueKind.Object, "the top level");
        var defaults = new BertTokenizerOptions();
        return new BertTokenizerOptions
        {
            Lowercase = json.OptionalBool(root, "do_lower_case", "the top level") ?? true,
            StripAccents = json.OptionalBool(root, "strip_accents", "the top level"),
            TokenizeChineseChars = json.OptionalBool(root, "tokenize_chinese_chars", "the top level") ?? true,
            UnkToken = json.OptionalTokenName(root, "unk_token") ?? defaults.UnkToken,
            ClsToken = json.OptionalTokenName(root, "cls_token") ?? defaults.ClsToken,
            SepToken = json.OptionalTokenName(root, "sep_token") ?? defaults.SepToken,
            PadToken = json.OptionalTokenName(root, "pad_token") ?? defaults.PadToken,
            MaskToken = json.OptionalTokenName(root, "mask_token") ?? defaults.MaskToken,
        };
    }

    private static JsonDocument ParseJson(string path, byte[] bytes)
    {
        try
        {
            // JsonDocument checks UTF-8 only when a string is read, and then throws InvalidOperationException.
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw PoNetInputException.AtLine(path, 1 + bytes.AsSpan(0, Math.Clamp(e.Index, 0, bytes.Length)).Count((byte)'\n'),
                $"invalid UTF-8 at byte {e.Index}");
        }
        try
        {
            return JsonDocument.Parse(bytes, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw PoNetInputException.AtLine(path, (e.LineNumber ?? 0) + 1, "not valid JSON: " + FirstSentence(e.Message));
        }
    }

    private static string FirstSentence(string message)
    {
        int end = message.IndexOf(" LineNumber", StringComparison.Ordinal);
        return (end > 0 ? message[..end] : message).Trim();
    }

    /// <summary>Typed access to JSON properties with errors that name the file and the key.</summary>
    private sealed class JsonReader(string path)
    {
        public void RequireKind(JsonElement element, JsonValueKind kind, string what)
        {
            if (element.ValueKind != kind)
                throw new PoNetInputException($"{path}: {what} must be a JSON {kind.ToString().ToLowerInvariant()}");
        }

        public JsonElement RequireObject(JsonElement parent, string name, string where)
        {
            if (!parent.TryGetProperty(name, out JsonElement value))
                throw new PoNetInputException($"{path}: {where} has no \"{name}\"; expected a HF tokenizer.json");
            RequireKind(value, JsonValueKind.Object, $"{where}.{name}");
            return value;
        }

        public string? OptionalString(JsonElement parent, string name, string where)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
                return null;
            RequireKind(value, JsonValueKind.String, $"{where}.{name}");
            return value.GetString();
        }

        public bool? OptionalBool(JsonElement parent, string name, string where)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
                return null;
            if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                throw new PoNetInputException($"{path}: {where}.{name} must be true, false or null");
            return value.GetBoolean();
        }

        public int? OptionalInt(JsonElement parent, string name, string where)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
                return null;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out int result))
                throw new PoNetInputException($"{path}: {where}.{name} must be an integer");
            return result;
        }

        /// <summary>tokenizer_config.json writes a special token as a string or as {"content": "..."}.</summary>
        public string? OptionalTokenName(JsonElement parent, string name)
        {
            if (!parent.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
                return null;
            if (value.ValueKind == JsonValueKind.Object)
                return OptionalString(value, "content", name);
            return OptionalString(parent, name, "the top level");
        }

        /// <summary>[CLS] and [SEP] of a BertProcessing or TemplateProcessing post-processor.</summary>
        public (string Cls, string Sep) ClsAndSep(JsonElement post)
        {
            string type = OptionalString(post, "type", "post_processor") ?? "";
            if (type == "BertProcessing")
                return (PairName(post, "cls"), PairName(post, "sep"));
            if (type == "TemplateProcessing" && post.TryGetProperty("single", out JsonElement single)
                && single.ValueKind == JsonValueKind.Array && single.GetArrayLength() == 3)
            {
                string? cls = SpecialTokenId(single[0]);
                string? sep = SpecialTokenId(single[2]);
                if (cls is not null && sep is not null)
                    return (cls, sep);
            }
            throw new PoNetInputException(
                $"{path}: post_processor must be BertProcessing or a TemplateProcessing \"[CLS] $A [SEP]\"; found '{type}'");
        }

        private string PairName(JsonElement post, string name)
        {
            if (post.TryGetProperty(name, out JsonElement pair) && pair.ValueKind == JsonValueKind.Array
                && pair.GetArrayLength() == 2 && pair[0].ValueKind == JsonValueKind.String)
                return pair[0].GetString()!;
            throw new PoNetInputException($"{path}: post_processor.{name} must be [\"token\", id]");
        }

        private static string? SpecialTokenId(JsonElement piece) =>
            piece.ValueKind == JsonValueKind.Object && piece.TryGetProperty("SpecialToken", out JsonElement special)
            && special.ValueKind == JsonValueKind.Object && special.TryGetProperty("id", out JsonElement id)
            && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
    }
}
