using System.Text.Json;
using Xunit;
using static PoNet.Tests.Tokenization.TokenizerTestData;

namespace PoNet.Tests.Tokenization;

/// <summary>`ponet tokenize`, run in-process through Program.Main.</summary>
[Collection(nameof(ConsoleRedirection))]
public class TokenizeCommandTests
{
    private static (int ExitCode, string Error) Run(params string[] args)
    {
        var error = new StringWriter();
        TextWriter originalError = Console.Error, originalOut = Console.Out;
        Console.SetError(error);
        Console.SetOut(TextWriter.Null);
        try
        {
            return (PoNet.Cli.Program.Main(args), error.ToString());
        }
        finally
        {
            Console.SetError(originalError);
            Console.SetOut(originalOut);
        }
    }

    private static int[] Array(JsonElement line, string name) =>
        line.GetProperty(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Fact]
    public void WritesOneLinePerInputLine()
    {
        using var folder = new TempFolder();
        string input = folder.File("in.jsonl",
            "{\"text\": \"Hello, world!\"}\n{\"text\": \"a b\", \"text_pair\": \"c d e\"}\n\n{\"text\": \"x\", \"text_pair\": null}\n");
        string output = folder.Combine("out.jsonl");

        var (code, error) = Run("tokenize", "--vocab", VocabPath, "--input", input, "--output", output);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        string[] lines = File.ReadAllLines(output);
        Assert.Equal(3, lines.Length);
        JsonElement first = JsonDocument.Parse(lines[0]).RootElement;
        Assert.Equal(Ids("[CLS]", "hello", ",", "world", "!", "[SEP]"), Array(first, "input_ids"));
        Assert.Equal([0, 1, 1, 1, 1, 2], Array(first, "segment_ids"));
        Assert.Equal([1, 1, 1, 1, 1, 1], Array(first, "attention_mask"));
        JsonElement second = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], Array(second, "token_type_ids"));
        Assert.Equal([0, 1, 1, 2, 3, 3, 3, 4], Array(second, "segment_ids"));
        Assert.Equal(Ids("[CLS]", "x", "[SEP]"), Array(JsonDocument.Parse(lines[2]).RootElement, "input_ids"));
    }

    [Fact]
    public void TruncatesAndPads()
    {
        using var folder = new TempFolder();
        string input = folder.File("in.jsonl", "{\"text\": \"a b c d e\", \"text_pair\": \"f g h\"}\n{\"text\": \"a\"}\n");
        string output = folder.Combine("out.jsonl");
        var (code, _) = Run("tokenize", "--vocab", VocabPath, "--input", input, "--output", output,
            "--max-length", "8", "--pad-to", "8", "--truncation", "only_first");
        Assert.Equal(0, code);
        string[] lines = File.ReadAllLines(output);
        Assert.Equal(Ids("[CLS]", "a", "b", "[SEP]", "f", "g", "h", "[SEP]"), Array(JsonDocument.Parse(lines[0]).RootElement, "input_ids"));
        JsonElement padded = JsonDocument.Parse(lines[1]).RootElement;
        Assert.Equal(Ids("[CLS]", "a", "[SEP]", "[PAD]", "[PAD]", "[PAD]", "[PAD]", "[PAD]"), Array(padded, "input_ids"));
        Assert.Equal([1, 1, 1, 0, 0, 0, 0, 0], Array(padded, "attention_mask"));
        Assert.Equal([0, 1, 2, 3, 3, 3, 3, 3], Array(padded, "segment_ids"));
    }

    [Theory]
    [InlineData("{\"text\": \"ok\"}\n{\"text\": \"broken\"\n", "in.jsonl:2: not valid JSON")]
    [InlineData("{\"text\": \"ok\"}\n{\"txt\": \"typo\"}\n", "in.jsonl:2: no \"text\"")]
    [InlineData("{\"text\": 5}\n", "in.jsonl:1: \"text\" is not a string")]
    [InlineData("[\"text\"]\n", "in.jsonl:1: a JSON array")]
    [InlineData("", "in.jsonl:1: no input lines")]
    [InlineData("\n\n", "in.jsonl:2: no input lines")]
    public void BadInputExitsTwoWithFileAndLineAndWritesNothing(string contents, string expected)
    {
        using var folder = new TempFolder();
        string input = folder.File("in.jsonl", contents);
        string output = folder.Combine("out.jsonl");
        var (code, error) = Run("tokenize", "--vocab", VocabPath, "--input", input, "--output", output);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Equal(["in.jsonl"], Directory.GetFiles(folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void InvalidUtf8IsNamedWithItsLine()
    {
        using var folder = new TempFolder();
        string input = folder.Combine("in.jsonl");
        File.WriteAllBytes(input, [.. "{\"text\": \"ok\"}\n{\"text\": \""u8, 0xC3, 0x28, .. "\"}\n"u8]);
        var (code, error) = Run("tokenize", "--vocab", VocabPath, "--input", input, "--output", folder.Combine("out.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains("in.jsonl:2: not UTF-8", error);
        Assert.False(File.Exists(folder.Combine("out.jsonl")));
    }

    [Fact]
    public void AnExistingOutputIsKeptWhenALineIsBad()
    {
        using var folder = new TempFolder();
        string input = folder.File("in.jsonl", "{\"text\": \"ok\"}\n{oops}\n");
        string output = folder.File("out.jsonl", "previous run\n");
        Assert.Equal(2, Run("tokenize", "--vocab", VocabPath, "--input", input, "--output", output).ExitCode);
        Assert.Equal("previous run\n", File.ReadAllText(output));
    }

    [Fact]
    public void BadOptionsExitTwo()
    {
        using var folder = new TempFolder();
        string input = folder.File("in.jsonl", "{\"text\": \"a b c d e\", \"text_pair\": \"f g\"}\n");
        string output = folder.Combine("out.jsonl");
        string[] common = ["tokenize", "--vocab", VocabPath, "--input", input, "--output", output];

        var (code, error) = Run([.. common, "--truncation", "middle_out"]);
        Assert.Equal(2, code);
        Assert.Contains("middle_out", error);
        (code, error) = Run([.. common, "--truncation", "only_first"]);
        Assert.Equal(2, code);
        Assert.Contains("--truncation needs --max-length", error);
        // only_second must cut 3 tokens from a pair of 2: impossible, reported at the line.
        (code, error) = Run([.. common, "--max-length", "7", "--truncation", "only_second"]);
        Assert.Equal(2, code);
        Assert.Contains("in.jsonl:1: cannot truncate", error);
        // A line longer than --pad-to without --max-length to cut it.
        (code, error) = Run([.. common, "--pad-to", "5"]);
        Assert.Equal(2, code);
        Assert.Contains("in.jsonl:1: 10 tokens, more than --pad-to 5", error);
        (code, error) = Run("tokenize", "--vocab", folder.Combine("missing.txt"), "--input", input, "--output", output);
        Assert.Equal(2, code);
        Assert.Contains("missing.txt: no such file", error);
        Assert.False(File.Exists(output));
    }
}
