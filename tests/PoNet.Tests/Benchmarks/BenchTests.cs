using System.Text.Json;
using PoNet.Benchmarks;
using Xunit;

namespace PoNet.Tests.Benchmarks;

public class BenchCellTests
{
    [Theory]
    [InlineData("lra", "ponet")]
    [InlineData("lra", "transformer")]
    [InlineData("lra", "transformer-explicit")]
    [InlineData("lra", "fnet")]
    [InlineData("bert", "ponet")]
    public void MeasuresEveryMixerOnATinyModel(string arch, string mixer)
    {
        var result = BenchCell.Run(new BenchSpec
        {
            Arch = arch, Mixer = mixer, Length = 64, Layers = 1, Dim = 16, Heads = 2, Ffn = 32, BatchSize = 2, Repeats = 1, Warmup = 0, Threads = 1,
        });
        Assert.Equal("ok", result.Status);
        Assert.True(result.TrainStepsPerSecond > 0 && result.InferTokensPerSecond > 0);
        Assert.True(result.TrainStepCpuSeconds > 0);
        Assert.True(result.Parameters > 0);
        Assert.True(result.PeakMemoryMb >= 0);
        if (mixer == "ponet")
        {
            Assert.True(result.AchievedGflops > 0 && result.MatmulGflops > 0);
            Assert.True(result.ForwardSeconds > 0 && result.ForwardBackwardSeconds > 0 && result.MatmulForwardSeconds > 0);
        }
        else Assert.Null(result.AchievedGflops);
    }

    [Fact]
    public void WithoutBreakdownAPoNetCellTimesOnlyTrainingAndInference()
    {
        var result = BenchCell.Run(new BenchSpec
        {
            Mixer = "ponet", Length = 32, Layers = 1, Dim = 16, Heads = 2, Ffn = 32, BatchSize = 2, Segments = 8, Repeats = 1, Warmup = 0, Threads = 1, Breakdown = false,
        });
        Assert.True(result.TrainStepsPerSecond > 0 && result.InferTokensPerSecond > 0);
        Assert.Null(result.ForwardSeconds);
        Assert.Null(result.MatmulForwardSeconds);
        Assert.Null(result.AchievedGflops);
    }

    [Fact]
    public void BertArchIsPoNetOnly()
    {
        var e = Assert.Throws<PoNetInputException>(() => BenchCell.Run(new BenchSpec { Arch = "bert", Mixer = "fnet", Length = 8, Dim = 8, Heads = 2, Ffn = 8 }));
        Assert.Contains("--arch lra", e.Message);
    }
}

[Collection(nameof(ConsoleRedirection))]
public class BenchCommandTests
{
    [Fact]
    public void WritesJsonCsvAndPlotAndReportsCellsOverTheMemoryLimit()
    {
        var dir = TestTemp.Dir("ponet-bench-");
        var stdout = new StringWriter();
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(new StringWriter());
        int code;
        try
        {
            // 1 MB is below any process's resident size: every child is stopped and reported oom,
            // and the run still finishes with all its files.
            code = Cli.Program.Main(["bench", "--mixers", "ponet,fnet", "--lengths", "32,64", "--dim", "8", "--heads", "2", "--ffn", "8",
                "--batch-size", "1", "--layers", "1", "--repeats", "1", "--max-memory", "1", "--out", dir]);
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
        var cells = doc.RootElement.GetProperty("cells").EnumerateArray().ToList();
        Assert.Equal(4, cells.Count);
        Assert.All(cells, c => Assert.Equal("oom", c.GetProperty("status").GetString()));
        Assert.Equal(new[] { "ponet", "ponet", "fnet", "fnet" }, cells.Select(c => c.GetProperty("mixer").GetString()));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir, "bench.csv")).Length);
        Assert.True(new FileInfo(Path.Combine(dir, "bench.png")).Length > 1000);
        Assert.Contains("OOM", stdout.ToString());
    }

    static (int Code, string Out) Bench(params string[] args)
    {
        var stdout = new StringWriter();
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(new StringWriter());
        try { return (Cli.Program.Main(["bench", .. args]), stdout.ToString()); }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
    }

    [Fact]
    public void RoundsAreRecordedAndAFailedCellIsNotRetriedInLaterRounds()
    {
        var dir = TestTemp.Dir("ponet-bench-");
        var (code, _) = Bench("--mixers", "ponet,fnet", "--lengths", "32", "--dim", "8", "--heads", "2", "--ffn", "8",
            "--batch-size", "1", "--layers", "1", "--repeats", "1", "--rounds", "3", "--max-memory", "1", "--out", dir);
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "bench.json")));
        Assert.Equal(3, doc.RootElement.GetProperty("rounds").GetInt32());
        var rounds = doc.RootElement.GetProperty("round_cells").EnumerateArray().ToList();
        Assert.Equal([1, 1, 2, 2, 3, 3], rounds.Select(c => c.GetProperty("round").GetInt32()));
        Assert.Equal(["ponet", "fnet", "ponet", "fnet", "ponet", "fnet"], rounds.Select(c => c.GetProperty("mixer").GetString()));
        Assert.All(rounds.Skip(2), c => Assert.Equal("oom in an earlier round", c.GetProperty("detail").GetString()));
        Assert.Equal(2, doc.RootElement.GetProperty("cells").GetArrayLength());
    }

    [Theory]
    [InlineData("ponet", false)]
    [InlineData("ponet,fnet", false)]
    [InlineData("ponet,transformer", true)]
    public void TablesCompareToTheTransformerOnlyWhenItWasMeasured(string mixers, bool versusTransformer)
    {
        var dir = TestTemp.Dir("ponet-bench-");
        var (code, output) = Bench("--mixers", mixers, "--lengths", "32", "--dim", "8", "--heads", "2", "--ffn", "8",
            "--batch-size", "1", "--layers", "1", "--repeats", "1", "--max-memory", "1", "--out", dir);
        Assert.Equal(0, code);
        // Spectre wraps a title to the table's width: compare without whitespace.
        var text = string.Concat(output.Where(c => !char.IsWhiteSpace(c)));
        Assert.Contains("trainingsteps/s", text);
        Assert.Equal(versusTransformer, text.Contains("×Transformer"));
    }

    [Fact]
    public void BadListsExitWith2()
    {
        var (previousOut, previousError) = (Console.Out, Console.Error);
        Console.SetOut(new StringWriter());
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            Assert.Equal(2, Cli.Program.Main(["bench", "--mixers", "ponet,lstm"]));
            Assert.Equal(2, Cli.Program.Main(["bench", "--lengths", "512,abc"]));
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
        }
        Assert.Contains("'lstm' is not one of ponet, transformer, transformer-explicit, fnet", error.ToString());
        Assert.Contains("'abc' is not a positive integer", error.ToString());
    }
}
