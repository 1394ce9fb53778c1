using PoNet.Lra.Data;
using PoNet.Lra;
using Xunit;

namespace PoNet.Tests.Lra;

public class LraTaskDataTests
{
    [Fact]
    public void ListOpsFromAFolderLogsTruncationAndKeepsEveryExample()
    {
        var dir = TestTemp.Dir("ponet-listops-");
        ListOpsTsv.Write(dir, ListOpsGenerator.Generate(40, 10, 10, seed: 3));
        var config = LraTaskDefaults.For("listops").Quick() with { MaxLength = 600 };
        var log = new List<string>();
        var splits = LraTaskData.Load(config, dir, cacheDir: dir, log.Add);
        Assert.Equal((40, 10, 10), (splits.Train.Count, splits.Dev.Count, splits.Test!.Count));
        // Every ListOps expression has 501–1999 tokens, so most exceed 600 and are cut, and the log says how many.
        Assert.Contains(log, l => l.StartsWith("truncated ", StringComparison.Ordinal) && l.EndsWith("to --max-length 600", StringComparison.Ordinal));
    }

    [Fact]
    public void LabelsOutsideTheClassCountAreAnError()
    {
        var dir = TestTemp.Dir("ponet-listops-");
        ListOpsTsv.Write(dir, ListOpsGenerator.Generate(40, 10, 10, seed: 3));
        var config = LraTaskDefaults.For("listops").Quick() with { Classes = 2 };
        var e = Assert.Throws<PoNetInputException>(() => LraTaskData.Load(config, dir, dir, _ => { }));
        Assert.Contains("is outside 0..1 (2 classes)", e.Message);
    }

    [Fact]
    public void PixelTokensAreShiftedSoThatZeroStaysPadding()
    {
        var dir = TestTemp.Dir("ponet-pathfinder-");
        new PathfinderGenerator().Generate(20, seed: 5).Save(dir);
        var config = LraTaskDefaults.For("pathfinder").Quick();
        var splits = LraTaskData.Load(config, dir, dir, _ => { });
        using var batch = splits.Train.GetBatch([0, 1], config.MaxLength);
        Assert.True(batch.Tokens.min().item<long>() >= 1, "a black pixel is token 1, not padding");
        Assert.Equal(1024L, batch.Tokens.ne(0).sum(1)[0].item<long>());
    }
}
