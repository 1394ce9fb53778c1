using PoNet.Data.Lra;
using Xunit;

namespace PoNet.Tests.Lra;

public class DataCommandTests
{
    [Fact]
    public void ListOpsCommandWritesReadableFiles()
    {
        using var dir = new TempDir();
        int code = PoNet.Cli.Program.Main(["data", "listops", "--out", dir.Path, "--train", "6", "--dev", "2", "--test", "3", "--seed", "4"]);
        Assert.Equal(0, code);
        var split = ListOpsTsv.Read(dir.Path);
        Assert.Equal((6, 2, 3), (split.Train.Count, split.Dev.Count, split.Test.Count));
    }

    [Fact]
    public void PathfinderCommandWritesDataAndPreview()
    {
        using var dir = new TempDir();
        string preview = Path.Combine(dir.Path, "preview.png");
        int code = PoNet.Cli.Program.Main(["data", "pathfinder", "--out", dir.Path, "--count", "12", "--seed", "2", "--preview", preview]);
        Assert.Equal(0, code);
        Assert.Equal(12, PathfinderDataset.Load(dir.Path).Count);
        Assert.True(new FileInfo(preview).Length > 100);
    }

    [Theory]
    [InlineData("data", "fetch", "nope")]
    [InlineData("data", "listops")]
    [InlineData("data", "pathfinder", "--out", "x", "--count", "-1")]
    public void BadUsageExitsWithTwo(params string[] args) =>
        Assert.Equal(2, PoNet.Cli.Program.Main(args));
}
