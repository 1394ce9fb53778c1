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
        var dir = TestTemp.Dir("ponet-lra-cli-");
        string[] run = ["synthetic", .. Tiny, "--eval-every", "6", "--ablate", "ga,lmp", "--fusion", "add", "--out", dir];
        Assert.Equal(0, Ponet(run));
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!;
        Assert.Equal(12, json["steps"]!.GetValue<int>());
        Assert.Equal("ga, lmp", json["config"]!["ablate"]!.GetValue<string>());
        Assert.Equal("add", json["config"]!["fusion"]!.GetValue<string>());
        Assert.Equal(1 + 12, File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Length); // header and a row per step
        var png = File.ReadAllBytes(Path.Combine(dir, "curves.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        // The same command again answers from the finished run without training (its results unchanged);
        // other settings into the same folder are refused; --overwrite starts afresh; resuming the finished run reports it again.
        var before = File.GetLastWriteTimeUtc(Path.Combine(dir, "results.json"));
        Assert.Equal(0, Ponet(run));
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(dir, "results.json")));
        Assert.Equal(2, Ponet(["synthetic", .. Tiny, "--out", dir]));
        Assert.Equal(0, Ponet(["synthetic", .. Tiny, "--out", dir, "--overwrite"]));
        Assert.NotEqual("ga, lmp", JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "results.json")))!["config"]!["ablate"]?.ToString()); // the new run's
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
        var dir = TestTemp.Dir("ponet-lra-cli-");
        Assert.Equal(2, Ponet([.. args.Split(' '), .. Tiny.Where((_, i) => i < 2), "--steps", "2", "--out", dir]));
        Assert.False(File.Exists(Path.Combine(dir, LraTrainer.ResultsFile)));
    }
}
