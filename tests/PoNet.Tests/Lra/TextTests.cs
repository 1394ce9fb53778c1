using System.Text;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class TextTests
{
    [Fact]
    public void BytesAreTokensPlusOneAndCutAtTheLimit()
    {
        byte[] utf8 = Encoding.UTF8.GetBytes("aé\0");
        Assert.Equal([0x61 + 1, 0xC3 + 1, 0xA9 + 1, 0 + 1], ByteTokens.Encode(utf8, 10));
        Assert.Equal([0x61 + 1, 0xC3 + 1], ByteTokens.Encode(utf8, 2)); // cut inside "é", as bytes are
        Assert.Equal(utf8, ByteTokens.Decode(ByteTokens.Encode(utf8, 10)));
        Assert.True(ByteTokens.VocabSize <= 512);
    }

    [Fact]
    public void ReadsTheAclImdbLayout()
    {
        using var dir = new TempDir();
        dir.Write("aclImdb/train/pos/0_9.txt", "great");
        dir.Write("aclImdb/train/pos/1_8.txt", "fine<br />film");
        dir.Write("aclImdb/train/neg/0_3.txt", "bad");
        dir.Write("aclImdb/test/pos/0_10.txt", "wonderful");
        dir.Write("aclImdb/test/neg/0_2.txt", new string('x', 30));
        dir.Write("aclImdb/train/unsup/0_0.txt", "ignored");

        var split = ImdbReader.ReadAclImdb(Path.Combine(dir.Path, "aclImdb"), maxLength: 20);

        Assert.Equal(["bad", "great", "fine<br />film"], split.Train.Select(Text));
        Assert.Equal([0, 1, 1], split.Train.Select(e => e.Label));
        Assert.Equal([new string('x', 20), "wonderful"], split.Test.Select(Text));
        Assert.Same(split.Test, split.Dev);
        Assert.Equal(1, split.Truncated);
    }

    [Fact]
    public void AclImdbWithoutAFolderNamesIt()
    {
        using var dir = new TempDir();
        dir.Write("aclImdb/train/pos/0_9.txt", "great");
        dir.Write("aclImdb/train/neg/0_3.txt", "bad");
        dir.Write("aclImdb/test/pos/0_10.txt", "wonderful");
        var e = Assert.Throws<PoNetInputException>(() => ImdbReader.ReadAclImdb(Path.Combine(dir.Path, "aclImdb")));
        Assert.Contains(Path.Combine("test", "neg"), e.Message);
    }

    private static string Text(LraExample e) => Encoding.UTF8.GetString(ByteTokens.Decode(e.Tokens));

    private static string NpmJson(params (string Text, int Sentiment)[] reviews) =>
        "[" + string.Join(",", reviews.Select(r => $"{{\"t\":{System.Text.Json.JsonSerializer.Serialize(r.Text)},\"s\":{r.Sentiment}}}")) + "]";

    [Fact]
    public void RecoversTheTrainTestSplitFromTheNpmBlocks()
    {
        using var dir = new TempDir();
        string path = dir.Write("reviews.json", NpmJson(
            ("test neg a", 0), ("test neg b", 0),
            ("train neg a", 0), ("train neg b \u00e9", 0),
            ("test pos a", 1), ("test pos b", 1),
            ("train pos a", 1), ("train pos b", 1)));

        var split = ImdbReader.ReadNpmJson(path);

        Assert.Equal(["train neg a", "train neg b \u00e9", "train pos a", "train pos b"], split.Train.Select(Text));
        Assert.Equal([0, 0, 1, 1], split.Train.Select(e => e.Label));
        Assert.Equal(["test neg a", "test neg b", "test pos a", "test pos b"], split.Test.Select(Text));
        Assert.Equal([0, 0, 1, 1], split.Test.Select(e => e.Label));
        Assert.Equal(0, split.Truncated);
    }

    [Fact]
    public void RejectsAnNpmFileWhoseBlocksDisagree()
    {
        using var dir = new TempDir();
        string path = dir.Write("reviews.json", NpmJson(("a", 0), ("b", 1), ("c", 1), ("d", 1)));
        var e = Assert.Throws<PoNetInputException>(() => ImdbReader.ReadNpmJson(path));
        Assert.Contains("review 1", e.Message);
        Assert.Contains("train-neg", e.Message);
    }

    [Theory]
    [InlineData("[{\"t\":\"a\",\"s\":0},\n{\"t\":\"b\" \"s\":0}]", ":2:")]
    [InlineData("{\"t\":\"a\"}", ":1:")]
    public void BadNpmJsonNamesFileAndLine(string content, string line)
    {
        using var dir = new TempDir();
        string path = dir.Write("reviews.json", content);
        var e = Assert.Throws<PoNetInputException>(() => ImdbReader.ReadNpmJson(path));
        Assert.Contains(path + line, e.Message);
    }

    [Fact]
    public void NpmReviewWithoutSentimentIsNamed()
    {
        using var dir = new TempDir();
        string path = dir.Write("reviews.json", "[{\"t\":\"a\",\"s\":0},{\"t\":\"b\"},{\"t\":\"c\",\"s\":1},{\"t\":\"d\",\"s\":1}]");
        var e = Assert.Throws<PoNetInputException>(() => ImdbReader.ReadNpmJson(path));
        Assert.Contains("review 1", e.Message);
    }
}
