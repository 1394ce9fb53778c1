using System.Text.Json.Nodes;
using PoNet.Cli;
using PoNet.Lra;
using Xunit;

namespace PoNet.Tests.Lra;

public class LraCommandTests
{
    static readonly string[] Tiny =
        ["--preset", "quick", "--steps", "12", "--max-length", "32", "--dim", "16", "--ffn", "32", "--layers", "1", "--batch-size", "8"];

    static int Ponet(params string[] args) => Program.Main(["lra", .. args]);

    [Fact]
    public void SyntheticRunWritesResultsCurvesAndPlot()
    {
        var dir = Directory.CreateTempSubdirectory("ponet-lra-cli-").FullName;
        Assert.Equal(0, Ponet(["synthetic", .. Tiny, "--eval-every", "6", "--ablate", "ga,lmp", "--fusion", "add", "--out", dir]));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        Assert.Equal(12, json["steps"]!.GetValue<int>());
        Assert.Equal("ga, lmp", json["config"]!["ablate"]!.GetValue<string>());
        Assert.Equal("add", json["config"]!["fusion"]!.GetValue<string>());
        Assert.Equal(3, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length);
        var png = File.ReadAllBytes(Path.Combine(dir, "curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        // Running again into the same folder is refused; resuming the finished run just reports it again.
        Assert.Equal(2, Ponet(["synthetic", .. Tiny, "--out", dir]));
        Assert.Equal(0, Ponet(["synthetic", "--out", dir, "--resume"]));
        Assert.Equal(2, Ponet(["synthetic", "--out", dir, "--resume", "--steps", "30"]));
    }

    [Theory]
    [InlineData("synthetic --mixer transformer --ablate ga")]
    [InlineData("synthetic --ablate ga,smp,lmp")]
    [InlineData("synthetic --attention explicit")]
    [InlineData("synthetic --mixer transformer --attention flash")]
    [InlineData("synthetic --ablate xyz")]
    [InlineData("synthetic --mixer lstm")]
    [InlineData("synthetic --batch-size 10 --accumulate 3")]
    [InlineData("nosuchtask")]
    [InlineData("listops --data /nonexistent/listops")]
    [InlineData("synthetic --resume")]
    public void UsageAndDataErrorsExitWith2AndWriteNoResults(string args)
    {
        var dir = Directory.CreateTempSubdirectory("ponet-lra-cli-").FullName;
        Assert.Equal(2, Ponet([.. args.Split(' '), .. Tiny.Where((_, i) => i < 2), "--steps", "2", "--out", dir]));
        Assert.False(File.Exists(Path.Combine(dir, LraTrainer.ResultsFile)));
    }
}
