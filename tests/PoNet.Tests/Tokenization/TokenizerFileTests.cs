using System.Text.Json;
using PoNet.Tokenization;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>Loading vocab.txt, tokenizer.json and model folders, and the errors for bad files.</summary>
public class TokenizerFileTests
{
    private const string Specials = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";

    [Fact]
    public void CrlfVocabularyGivesTheSameIds()
    {
        using var folder = new TempFolder();
        string crlf = folder.File("vocab.txt", File.ReadAllText(VocabPath).Replace("\n", "\r\n"));
        BertTokenizer tokenizer = BertTokenizer.FromVocabFile(crlf);
        Assert.Equal(30522, tokenizer.VocabSize);
        Assert.Equal(Uncased.Encode("Café naïve, unaffable!").InputIds, tokenizer.Encode("Café naïve, unaffable!").InputIds);
    }

    [Theory]
    [InlineData("[PAD]\n[UNK]\n[SEP]\n[MASK]\nhello\n", "[CLS]")]
    [InlineData("[PAD]\n[CLS]\n[SEP]\n[MASK]\n", "[UNK]")]
    [InlineData("[UNK]\n[CLS]\n[SEP]\n[MASK]\n", "[PAD]")]
    public void MissingSpecialTokenIsNamed(string contents, string missing)
    {
        using var folder = new TempFolder();
        string path = folder.File("vocab.txt", contents);
        var e = Assert.Throws<PoNetInputException>(() => BertTokenizer.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"no {missing} token", e.Message);
    }

    [Theory]
    [InlineData("", ": the file is empty")]
    [InlineData(Specials + "hello\nworld\nhello\n", ":8: the token 'hello' is already on line 6")]
    [InlineData(Specials + "hello\n\nworld\n", ":7: empty line")]
    [InlineData("#version: 0.2\nĠ t\n", ":1: the token '#version: 0.2' contains whitespace")]
    [InlineData("<unk>\t0\n<s>\t0\n", ":1: the token '<unk>\t0' contains whitespace")]
    [InlineData("{\"model\":{}}\n", ":1: this looks like JSON")]
    public void BadVocabularyFilesAreNamedWithTheLine(string contents, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File("vocab.txt", contents);
        var e = Assert.Throws<PoNetInputException>(() => BertTokenizer.FromVocabFile(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void NotUtf8AndMissingFilesAreInputErrors()
    {
        using var folder = new TempFolder();
        string path = folder.Combine("vocab.txt");
        File.WriteAllBytes(path, [.. "[PAD]\n"u8, 0xFF, 0xFE, (byte)'\n']);
        Assert.Contains(":2: not UTF-8", Assert.Throws<PoNetInputException>(() => BertTokenizer.FromVocabFile(path)).Message);
        Assert.Contains("no such file", Assert.Throws<PoNetInputException>(() => BertTokenizer.Load(folder.Combine("nope.txt"))).Message);
        string emptyFolder = Directory.CreateDirectory(folder.Combine("model")).FullName;
        Assert.Contains("neither a tokenizer.json nor a vocab.txt",
            Assert.Throws<PoNetInputException>(() => BertTokenizer.Load(emptyFolder)).Message);
    }

    /// <summary>bert-base-uncased's tokenizer.json as on the hub, with the given normalizer flags.</summary>
    private static string TokenizerJson(bool lowercase, string postProcessor)
    {
        var vocab = File.ReadAllLines(VocabPath).Select((token, id) => (token, id)).ToDictionary(p => p.token, p => p.id);
        var added = new[] { ("[PAD]", 0), ("[UNK]", 100), ("[CLS]", 101), ("[SEP]", 102), ("[MASK]", 103) }
            .Select(t => new Dictionary<string, object>
            {
                ["id"] = t.Item2, ["content"] = t.Item1, ["single_word"] = false, ["lstrip"] = false,
                ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            });
        string json = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new Dictionary<string, object?>
            {
                ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true,
                ["strip_accents"] = null, ["lowercase"] = lowercase,
            },
            ["pre_tokenizer"] = new Dictionary<string, object> { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = JsonDocument.Parse(postProcessor).RootElement,
            ["decoder"] = new Dictionary<string, object> { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new Dictionary<string, object>
            {
                ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##",
                ["max_input_chars_per_word"] = 100, ["vocab"] = vocab,
            },
        });
        return json;
    }

    private const string BertProcessing = """{"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}""";

    private const string TemplateProcessing = """
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                  {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
         "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [102], "tokens": ["[SEP]"]}}}
        """;

    [Theory]
    [InlineData(BertProcessing)]
    [InlineData(TemplateProcessing)]
    public void TokenizerJsonGivesTheSameIdsAsVocabTxt(string postProcessor)
    {
        using var folder = new TempFolder();
        string path = folder.File("tokenizer.json", TokenizerJson(lowercase: true, postProcessor));
        BertTokenizer fromJson = BertTokenizer.Load(path);
        Assert.Equal(30522, fromJson.VocabSize);
        string text = "Café naïve, unaffable! 我爱 北京 the [MASK] sat";
        Assert.Equal(Uncased.Encode(text, "a pair").InputIds, fromJson.Encode(text, "a pair").InputIds);
        // A model folder prefers tokenizer.json to vocab.txt.
        File.Copy(VocabPath, folder.Combine("vocab.txt"));
        Assert.Equal(Uncased.Encode(text).InputIds, BertTokenizer.Load(folder.Path).Encode(text).InputIds);
    }

    [Fact]
    public void TokenizerJsonNormalizerFlagsAreRead()
    {
        using var folder = new TempFolder();
        string path = folder.File("tokenizer.json", TokenizerJson(lowercase: false, BertProcessing));
        BertTokenizer cased = BertTokenizer.FromTokenizerJson(path);
        Assert.False(cased.Options.Lowercase);
        // No lower-casing (and so no accent stripping): "Hello" is not an entry of the uncased vocabulary.
        Assert.Equal(["[UNK]", ",", "world"], cased.Tokenize("Hello, world"));
    }

    [Fact]
    public void TokenizerConfigFlagsApplyToAFolderWithVocabTxt()
    {
        using var folder = new TempFolder();
        File.Copy(VocabPath, folder.Combine("vocab.txt"));
        folder.File("tokenizer_config.json", """{"do_lower_case": false, "model_max_length": 512}""");
        Assert.Equal(["[UNK]", ",", "world"], BertTokenizer.Load(folder.Path).Tokenize("Hello, world"));
    }

    [Theory]
    [InlineData("""{"model": {"type": "BPE", "vocab": {}}}""", "model.type is 'BPE'")]
    [InlineData("""{"version": "1.0"}""", "the top level has no \"model\"")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"a": "x"}}}""", "model.vocab['a'] must be a non-negative integer")]
    [InlineData("""{"model": {"type": "WordPiece", "vocab": {"[PAD]": 0}}, "pre_tokenizer": {"type": "Whitespace"}}""", "pre_tokenizer.type is 'Whitespace'")]
    [InlineData("{\n\"model\": {\n\"type\": \"WordPiece\",,\n", ":3: not valid JSON")]
    public void BadTokenizerJsonIsNamed(string contents, string expected)
    {
        using var folder = new TempFolder();
        string path = folder.File("tokenizer.json", contents);
        var e = Assert.Throws<PoNetInputException>(() => BertTokenizer.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains(expected, e.Message);
    }
}
