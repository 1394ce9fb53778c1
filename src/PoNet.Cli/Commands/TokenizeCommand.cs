using System.CommandLine;
using System.Text;
using System.Text.Json;
using PoNet.Tokenization;
using PoNet.IO;

namespace PoNet.Cli.Commands;

/// <summary>
/// `ponet tokenize`: JSONL texts in, JSONL model inputs out, with HF bert-base-uncased's ids.
/// </summary>
internal static class TokenizeCommand
{
    private static readonly Dictionary<string, TruncationStrategy> Strategies = new()
    {
        ["longest_first"] = TruncationStrategy.LongestFirst,
        ["only_first"] = TruncationStrategy.OnlyFirst,
        ["only_second"] = TruncationStrategy.OnlySecond,
    };

    public static Command Create()
    {
        var vocab = new Option<FileInfo>("--vocab")
        {
            Description = "WordPiece vocab.txt, HF tokenizer.json, or a model folder holding one",
            Required = true,
        };
        var input = new Option<FileInfo>("--input")
        {
            Description = "JSONL, one {\"text\": ...} or {\"text\": ..., \"text_pair\": ...} per line",
            Required = true,
        };
        var output = new Option<FileInfo>("--output")
        {
            Description = "JSONL to write: input_ids, token_type_ids, attention_mask, segment_ids per line",
            Required = true,
        };
        var maxLength = new Option<int?>("--max-length")
        {
            Description = "truncate to this many tokens, [CLS] and [SEP] included",
        };
        var padTo = new Option<int?>("--pad-to")
        {
            Description = "pad every line with [PAD] to this many tokens (no padding without it)",
        };
        var truncation = new Option<string>("--truncation")
        {
            Description = "how --max-length cuts a pair (HF semantics)",
            DefaultValueFactory = _ => "longest_first",
        };
        truncation.AcceptOnlyFromAmong([.. Strategies.Keys]);

        var command = new Command("tokenize", "Tokenize JSONL texts into BERT model inputs (HF BertTokenizer ids).");
        foreach (Option option in new Option[] { vocab, input, output, maxLength, padTo, truncation })
            command.Options.Add(option);
        command.SetAction(parse => ExitCodes.Run(() =>
        {
            bool truncationGiven = parse.GetResult(truncation) is { Implicit: false };
            if (truncationGiven && parse.GetValue(maxLength) is null)
                throw new PoNetInputException("--truncation needs --max-length");
            int count = Run(parse.GetValue(vocab)!.ToString(), parse.GetValue(input)!.ToString(),
                parse.GetValue(output)!.ToString(), parse.GetValue(maxLength), parse.GetValue(padTo),
                Strategies[parse.GetValue(truncation)!]);
            Console.WriteLine($"tokenized {count} lines into {parse.GetValue(output)}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>
    /// Tokenizes every line of <paramref name="inputPath"/> into <paramref name="outputPath"/>, which is
    /// written only when every line was good (<see cref="AtomicFile"/>: a temporary file renamed at the end).
    /// Returns the number of lines written.
    /// </summary>
    internal static int Run(string vocabPath, string inputPath, string outputPath, int? maxLength, int? padTo,
        TruncationStrategy truncation)
    {
        if (maxLength is < 1)
            throw new PoNetInputException($"--max-length must be positive, not {maxLength}");
        if (padTo is < 1)
            throw new PoNetInputException($"--pad-to must be positive, not {padTo}");
        if (!File.Exists(inputPath))
            throw new PoNetInputException($"{inputPath}: no such file; expected JSONL with a \"text\" on every line");
        BertTokenizer tokenizer = BertTokenizer.Load(vocabPath);

        int count = 0;
        AtomicFile.Write(outputPath, stream =>
        {
            using var writer = new Utf8JsonWriter(stream);
            long lineNumber = 0;
            foreach (string line in ReadUtf8Lines(inputPath))
            {
                lineNumber++;
                if (string.IsNullOrWhiteSpace(line))
                    continue; // blank lines (a trailing one, say) carry no record
                var (text, textPair) = ParseLine(inputPath, lineNumber, line);
                BertEncoding encoding;
                try
                {
                    encoding = tokenizer.Encode(text, textPair, maxLength, truncation, padTo);
                }
                catch (PoNetInputException e)
                {
                    throw PoNetInputException.AtLine(inputPath, lineNumber, e.Message);
                }
                if (padTo is int length && encoding.Length > length)
                    throw PoNetInputException.AtLine(inputPath, lineNumber,
                        $"{encoding.Length} tokens, more than --pad-to {length}; add --max-length {length} to cut it");
                Write(writer, encoding);
                writer.Flush();
                writer.Reset();
                stream.WriteByte((byte)'\n');
                count++;
            }
            if (count == 0)
                throw PoNetInputException.AtLine(inputPath, Math.Max(lineNumber, 1),
                    "no input lines; expected one JSON object per line, like {\"text\": \"...\"}");
        });
        return count;
    }

    /// <summary>Lines split at '\n' (a trailing '\r' dropped), each decoded strictly so a bad byte is named with its line.</summary>
    private static IEnumerable<string> ReadUtf8Lines(string path)
    {
        var strictUtf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        using var input = new BufferedStream(File.OpenRead(path), 1 << 16);
        var line = new MemoryStream();
        long lineNumber = 0;
        bool atStart = true;
        while (true)
        {
            int b = input.ReadByte();
            if (b != '\n' && b >= 0)
            {
                line.WriteByte((byte)b);
                continue;
            }
            if (b < 0 && line.Length == 0)
                yield break;
            lineNumber++;
            ReadOnlySpan<byte> bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
            if (atStart && bytes.StartsWith("\uFEFF"u8))
                bytes = bytes[3..];
            if (bytes.EndsWith("\r"u8))
                bytes = bytes[..^1];
            string text;
            try
            {
                text = strictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw PoNetInputException.AtLine(path, lineNumber, "not UTF-8 text; expected JSONL");
            }
            atStart = false;
            line.SetLength(0);
            yield return text;
            if (b < 0)
                yield break;
        }
    }

    private static (string Text, string? TextPair) ParseLine(string path, long lineNumber, string line)
    {
        const string expected = "expected {\"text\": \"...\"} or {\"text\": \"...\", \"text_pair\": \"...\"}";
        try
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw PoNetInputException.AtLine(path, lineNumber, $"a JSON {root.ValueKind.ToString().ToLowerInvariant()}; {expected}");
            if (!root.TryGetProperty("text", out JsonElement text))
                throw PoNetInputException.AtLine(path, lineNumber, $"no \"text\"; {expected}");
            if (text.ValueKind != JsonValueKind.String)
                throw PoNetInputException.AtLine(path, lineNumber, $"\"text\" is not a string; {expected}");
            string? textPair = null;
            if (root.TryGetProperty("text_pair", out JsonElement pair) && pair.ValueKind != JsonValueKind.Null)
            {
                if (pair.ValueKind != JsonValueKind.String)
                    throw PoNetInputException.AtLine(path, lineNumber, $"\"text_pair\" is not a string; {expected}");
                textPair = pair.GetString();
            }
            return (text.GetString()!, textPair);
        }
        catch (JsonException e)
        {
            throw PoNetInputException.AtLine(path, lineNumber, $"not valid JSON ({e.Message.Split(" LineNumber")[0].Trim()}); {expected}");
        }
        catch (InvalidOperationException)
        {
            throw PoNetInputException.AtLine(path, lineNumber, "a string escape that is not valid UTF-16 (a lone surrogate such as \\ud800); expected text");
        }
    }

    private static void Write(Utf8JsonWriter writer, BertEncoding encoding)
    {
        writer.WriteStartObject();
        WriteArray(writer, "input_ids", encoding.InputIds);
        WriteArray(writer, "token_type_ids", encoding.TokenTypeIds);
        WriteArray(writer, "attention_mask", encoding.AttentionMask);
        WriteArray(writer, "segment_ids", encoding.SegmentIds);
        writer.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter writer, string name, int[] values)
    {
        writer.WriteStartArray(name);
        foreach (int value in values)
            writer.WriteNumberValue(value);
        writer.WriteEndArray();
    }
}
