using System.Text.Json;
using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>
/// Ids written by HF tokenizers 0.23.2 (the Rust code of BertTokenizerFast) for fixed tricky texts,
/// seeded random texts over many scripts and invisible characters, pairs, truncation and padding
/// (tools/tokenizer-golden/generate.js). The few inputs where the Python and Rust tokenizers disagree
/// are left out there and tested by hand in <see cref="BertTokenizerTests"/> and
/// <see cref="TokenizerEncodingTests"/>.
/// </summary>
public class TokenizerGoldenTests
{
    private static readonly Dictionary<string, TruncationStrategy> Strategies = new()
    {
        ["longest_first"] = TruncationStrategy.LongestFirst,
        ["only_first"] = TruncationStrategy.OnlyFirst,
        ["only_second"] = TruncationStrategy.OnlySecond,
    };

    [Fact]
    public void MatchesHuggingFaceTokenizers()
    {
        var failures = new List<string>();
        int count = 0;
        foreach (string line in File.ReadLines(GoldenPath))
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement golden = document.RootElement;
            string text = golden.GetProperty("text").GetString()!;
            string? pair = golden.TryGetProperty("text_pair", out JsonElement p) ? p.GetString() : null;
            int? maxLength = golden.TryGetProperty("max_length", out JsonElement m) ? m.GetInt32() : null;
            TruncationStrategy strategy = golden.TryGetProperty("truncation", out JsonElement t)
                ? Strategies[t.GetString()!]
                : TruncationStrategy.LongestFirst;
            int? padTo = golden.TryGetProperty("pad_to", out JsonElement pad) ? pad.GetInt32() : null;

            BertEncoding encoding = Uncased.Encode(text, pair, maxLength, strategy, padTo);
            int[] Expected(string name) => golden.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();
            if (!Expected("input_ids").SequenceEqual(encoding.InputIds)
                || !Expected("token_type_ids").SequenceEqual(encoding.TokenTypeIds)
                || !Expected("attention_mask").SequenceEqual(encoding.AttentionMask))
                failures.Add($"{JsonSerializer.Serialize(text)} / {JsonSerializer.Serialize(pair)}: expected " +
                             $"{string.Join(' ', Expected("input_ids"))}, got {string.Join(' ', encoding.InputIds)}");
            count++;
        }
        Assert.True(count > 400, $"only {count} golden cases");
        Assert.True(failures.Count == 0, string.Join('\n', failures.Take(10)));
    }
}
