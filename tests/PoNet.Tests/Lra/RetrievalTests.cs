using System.Text;
using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

public class RetrievalTests
{
    private static string Text(int[] tokens) => Encoding.UTF8.GetString(ByteTokens.Decode(tokens));

    [Fact]
    public void ReadsTheOfficialAanLayout()
    {
        using var dir = new TempDir();
        dir.Write(AanReader.TrainFile, "1.0\tP01\tP02\tfirst paper\tsecond paper\n0\tP03\tP04\tthird\t" + new string('y', 12) + "\n");
        dir.Write(AanReader.DevFile, "0.0\tA\tB\tx\ty\n");
        dir.Write(AanReader.TestFile, "1\tA\tB\tx\ty\n");

        var split = AanReader.ReadFolder(dir.Path, maxLength: 10);

        Assert.Equal(2, split.Train.Count);
        Assert.Equal(("first pape", "second pap", 1), (Text(split.Train[0].Tokens1), Text(split.Train[0].Tokens2), split.Train[0].Label));
        Assert.Equal(("third", new string('y', 10), 0), (Text(split.Train[1].Tokens1), Text(split.Train[1].Tokens2), split.Train[1].Label));
        Assert.Equal(0, split.Dev[0].Label);
        Assert.Equal(1, split.Test[0].Label);
        Assert.Equal(3, split.Truncated); // "first paper", "second paper", 12 y's
    }

    [Theory]
    [InlineData("1\tA\tB\tx\n", ":1:", "5 tab-separated columns")]
    [InlineData("1\tA\tB\tx\ty\n0.5\tA\tB\tx\ty\n", ":2:", "label 0 or 1")]
    [InlineData("yes\tA\tB\tx\ty\n", ":1:", "label 0 or 1")]
    [InlineData("", ":1:", "no pairs")]
    public void BadAanLinesNameFileAndLine(string content, string line, string expected)
    {
        using var dir = new TempDir();
        string path = dir.Write("pairs.tsv", content);
        var e = Assert.Throws<PoNetInputException>(() => AanReader.ReadFile(path, 4000, out _));
        Assert.Contains(path + line, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ChunksAreWholeParagraphsOfAboutTheTargetSize()
    {
        string text = "aaaa\n\nbbbb\r\n\r\ncccc\n\n\n\ndd\n\ne";
        var chunks = SourceDocumentPairs.SplitIntoChunks(text, chunkBytes: 10).Select(Encoding.UTF8.GetString).ToList();
        // "aaaa" + "bbbb" reach 10 bytes with their separators; the short remainder joins the last chunk.
        Assert.Equal(["aaaa\n\nbbbb", "cccc\n\ndd\n\ne"], chunks);
        Assert.Empty(SourceDocumentPairs.SplitIntoChunks("short", chunkBytes: 10));
    }

    private static TempDir Corpus(int files)
    {
        var dir = new TempDir();
        for (int f = 0; f < files; f++)
        {
            // Each paragraph names its file, so a pair's source can be read back from its text.
            var paragraphs = Enumerable.Range(0, 3 + f % 3).Select(p => $"file{f:D2} paragraph {p} " + new string((char)('a' + f % 26), 40));
            dir.Write($"docs/sub{f % 2}/f{f:D2}.txt", string.Join("\n\n", paragraphs));
        }
        dir.Write("docs/tiny.txt", "file99 too short for two chunks");
        return dir;
    }

    private static string Source(int[] tokens) => Text(tokens)[..6];

    [Fact]
    public void PairsAreBalancedAndLabelSaysSameSource()
    {
        using var dir = Corpus(files: 20);
        var options = new SourceDocumentPairOptions { Train = 200, Dev = 40, Test = 40, ChunkBytes = 100 };
        var split = SourceDocumentPairs.Build(Path.Combine(dir.Path, "docs"), options, seed: 5);

        Assert.Equal((200, 40, 40), (split.Train.Count, split.Dev.Count, split.Test.Count));
        foreach (var part in new[] { split.Train, split.Dev, split.Test })
        {
            Assert.Equal(part.Count / 2, part.Count(p => p.Label == 1));
            foreach (var pair in part)
            {
                Assert.Equal(pair.Label == 1, Source(pair.Tokens1) == Source(pair.Tokens2));
                Assert.NotEqual(Text(pair.Tokens1), Text(pair.Tokens2));
            }
        }
        // Held-out files: no source file of dev or test appears in train.
        var trainSources = split.Train.SelectMany(p => new[] { Source(p.Tokens1), Source(p.Tokens2) }).ToHashSet();
        Assert.DoesNotContain(split.Test.Concat(split.Dev).SelectMany(p => new[] { Source(p.Tokens1), Source(p.Tokens2) }), trainSources.Contains);
        Assert.DoesNotContain("file99", trainSources);
    }

    [Fact]
    public void PairsAreDeterministicForASeed()
    {
        using var dir = Corpus(files: 12);
        var options = new SourceDocumentPairOptions { Train = 50, Dev = 10, Test = 10, ChunkBytes = 100 };
        string Fingerprint(long seed) => string.Join("|", SourceDocumentPairs.Build(dir.Path, options, seed).Train
            .Select(p => Text(p.Tokens1) + "/" + Text(p.Tokens2) + p.Label));
        Assert.Equal(Fingerprint(1), Fingerprint(1));
        Assert.NotEqual(Fingerprint(1), Fingerprint(2));
    }

    [Fact]
    public void TooFewFilesIsAnInputError()
    {
        using var dir = Corpus(files: 3);
        var e = Assert.Throws<PoNetInputException>(() =>
            SourceDocumentPairs.Build(dir.Path, new SourceDocumentPairOptions { ChunkBytes = 100 }, seed: 1));
        Assert.Contains("at least 6 files", e.Message);
    }
}
