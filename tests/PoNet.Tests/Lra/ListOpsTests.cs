using PoNet.Lra.Data;
using Xunit;
using static PoNet.Lra.Data.ListOpsVocabulary;

namespace PoNet.Tests.Lra;

public class ListOpsTests
{
    private static int[] Parse(string model) =>
        model.Split(' ').Select(t => TryGetId(t, out int id) ? id : throw new ArgumentException(t)).ToArray();

    [Theory]
    [InlineData("[MAX 2 [MIN 4 7 ] ]", 4)]
    [InlineData("[MIN 3 9 1 ]", 1)]
    [InlineData("[SM 9 8 7 ]", 4)] // 24 mod 10
    [InlineData("[MED 1 9 5 ]", 5)] // odd count: the middle value
    [InlineData("[MED 1 2 ]", 1)] // even count: floor((1 + 2) / 2) = floor(1.5)
    [InlineData("[MED 8 1 3 6 ]", 4)] // sorted 1 3 6 8: floor((3 + 6) / 2) = floor(4.5)
    [InlineData("[MED 2 4 ]", 3)] // even count, exact mean
    [InlineData("[SM [MED 0 9 ] [MAX 1 [MIN 5 6 ] ] 7 ]", 6)] // MED(0,9) = 4, MAX(1,5) = 5: 4 + 5 + 7 = 16
    [InlineData("7", 7)]
    public void EvaluatesHandComputedExpressions(string model, int expected) =>
        Assert.Equal(expected, ListOpsExpression.Evaluate(Parse(model)));

    [Fact]
    public void WritesTheOfficialNestedPairs()
    {
        Assert.Equal("( ( ( [MAX 2 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )",
            ListOpsExpression.ToSource(Parse("[MAX 2 [MIN 4 7 ] ]")));
        Assert.Equal("3", ListOpsExpression.ToSource(Parse("3")));
    }

    [Fact]
    public void VocabularyIsFixedAndSmall()
    {
        Assert.Equal(16, Size);
        Assert.True(Size <= 32);
        Assert.Equal(1, Digit(0));
        Assert.Equal(10, Digit(9));
        string[] names = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "[MIN", "[MAX", "[MED", "[SM", "]"];
        var ids = names.Select(n => TryGetId(n, out int id) ? id : -1).ToArray();
        Assert.Equal(Enumerable.Range(1, 15), ids);
        Assert.False(TryGetId("(", out _));
        Assert.False(TryGetId("[FIRST", out _));
    }

    [Fact]
    public void GenerationIsDeterministicForASeed()
    {
        var a = ListOpsGenerator.Generate(30, 5, 5, seed: 7);
        var b = ListOpsGenerator.Generate(30, 5, 5, seed: 7);
        var c = ListOpsGenerator.Generate(30, 5, 5, seed: 8);
        Assert.Equal(Flatten(a), Flatten(b));
        Assert.NotEqual(Flatten(a), Flatten(c));
        Assert.Equal((30, 5, 5), (a.Train.Count, a.Dev.Count, a.Test.Count));
    }

    private static string[] Flatten(LraSplit<LraExample> split) =>
        split.Train.Concat(split.Dev).Concat(split.Test).Select(e => string.Join(',', e.Tokens) + ":" + e.Label).ToArray();

    [Fact]
    public void GeneratedExamplesMatchTheSpecStatistics()
    {
        const int n = 3000;
        var split = ListOpsGenerator.Generate(n, 0, 0, seed: 1, out var stats);
        var examples = split.Train;

        foreach (var e in examples)
        {
            Assert.InRange(e.Tokens.Length, ListOpsGenerator.MinLength, ListOpsGenerator.MaxLength);
            Assert.Equal(e.Label, ListOpsExpression.Evaluate(e.Tokens));
        }
        Assert.Equal(n, examples.Select(e => string.Join(',', e.Tokens)).Distinct().Count());

        // docs/MODEL.md §7: ~8% of drawn trees pass the length filter, median length ~1000, labels 0 and
        // 9 ~17% each, the others 7.5-9.6%. Bounds leave ~4 standard errors at n = 3000.
        double passRate = (double)stats.TreesInLengthRange / stats.TreesDrawn;
        Assert.InRange(passRate, 0.065, 0.095);
        var lengths = examples.Select(e => e.Tokens.Length).Order().ToArray();
        Assert.InRange(lengths[n / 2], 850, 1150);
        var share = Enumerable.Range(0, 10).Select(l => examples.Count(e => e.Label == l) / (double)n).ToArray();
        Assert.InRange(share[0], 0.14, 0.20);
        Assert.InRange(share[9], 0.14, 0.20);
        for (int label = 1; label <= 8; label++)
            Assert.InRange(share[label], 0.055, 0.115);
    }

    [Fact]
    public void WrittenFilesReadBackIdentically()
    {
        using var dir = new TempDir();
        var split = ListOpsGenerator.Generate(12, 3, 4, seed: 3);
        ListOpsTsv.Write(dir.Path, split);

        Assert.Equal(ListOpsTsv.Header, File.ReadLines(Path.Combine(dir.Path, ListOpsTsv.TrainFile)).First());
        Assert.Equal([ListOpsTsv.TestFile, ListOpsTsv.TrainFile, ListOpsTsv.DevFile],
            Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var read = ListOpsTsv.Read(dir.Path);
        Assert.Equal(Flatten(split), Flatten(read));
    }

    [Fact]
    public void ReadsTheOfficialLayout()
    {
        using var dir = new TempDir();
        string path = dir.Write("basic_test.tsv", "Source\tTarget\n( ( ( [MAX 2 ) ( ( ( [MIN 4 ) 7 ) ] ) ) ] )\t4\n5\t5\n");
        var examples = ListOpsTsv.ReadFile(path);
        Assert.Equal(2, examples.Count);
        Assert.Equal(Parse("[MAX 2 [MIN 4 7 ] ]"), examples[0].Tokens);
        Assert.Equal(4, examples[0].Label);
        Assert.Equal([Digit(5)], examples[1].Tokens);
    }

    [Theory]
    [InlineData("", ":1:", "empty")]
    [InlineData("Source,Target\n1\t1\n", ":1:", "header")]
    [InlineData("Source\tTarget\n1\t1\t2\n", ":2:", "2 tab-separated columns")]
    [InlineData("Source\tTarget\n[MAX 1 ]\t1\n[MAX 1 x ]\t1\n", ":3:", "unknown token 'x'")]
    [InlineData("Source\tTarget\n[MAX 1 ]\t10\n", ":2:", "label 0-9")]
    [InlineData("Source\tTarget\n[MAX 1 ]\t1.0\n", ":2:", "label 0-9")]
    public void BadFilesNameFileLineAndExpectation(string content, string line, string expected)
    {
        using var dir = new TempDir();
        string path = dir.Write("basic_train.tsv", content);
        var e = Assert.Throws<PoNetInputException>(() => ListOpsTsv.ReadFile(path));
        Assert.Contains(path + line, e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MissingFileIsAnInputError()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<PoNetInputException>(() => ListOpsTsv.Read(dir.Path));
        Assert.Contains(ListOpsTsv.TrainFile, e.Message);
    }
}
