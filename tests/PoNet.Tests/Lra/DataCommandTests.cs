using PoNet.Lra.Data;
using Xunit;

namespace PoNet.Tests.Lra;

/// <summary>`ponet data`, run in-process through Program.Main.</summary>
[Collection(nameof(ConsoleRedirection))]
public class DataCommandTests
{
    private static (int ExitCode, string Output, string Error) Run(params string[] args) => CliRun.Run(args);

    [Fact]
    public void ListOpsCommandWritesReadableFiles()
    {
        using var dir = new TempDir();
        var (code, output, error) = Run("data", "listops", "--out", dir.Path, "--train", "6", "--dev", "2", "--test", "3", "--seed", "4");
        Assert.Equal(0, code);
        Assert.Equal(dir.Path, output.Trim());
        Assert.Contains("within 501-1999 tokens", error);
        var split = ListOpsTsv.Read(dir.Path);
        Assert.Equal((6, 2, 3), (split.Train.Count, split.Dev.Count, split.Test.Count));
    }

    [Fact]
    public void PathfinderCommandWritesDataAndPreview()
    {
        using var dir = new TempDir();
        string preview = Path.Combine(dir.Path, "preview.png");
        var (code, _, error) = Run("data", "pathfinder", "--out", dir.Path, "--count", "12", "--seed", "2", "--preview", preview);
        Assert.Equal(0, code);
        Assert.Contains("% positive", error);
        Assert.Equal(12, PathfinderDataset.Load(dir.Path).Count);
        Assert.True(new FileInfo(preview).Length > 100);
    }

    [Theory]
    [InlineData("'nope'", "data", "fetch", "nope")]
    [InlineData("--out", "data", "listops")]
    [InlineData("--count is -1", "data", "pathfinder", "--out", "x", "--count", "-1")]
    public void BadUsageExitsWithTwoAndSaysWhy(string expected, params string[] args)
    {
        var (code, _, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
    }
}
