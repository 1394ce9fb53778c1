using PoNet.Benchmarks;
using Xunit;

namespace PoNet.Tests.Benchmarks;

public class BenchSweepTests
{
    static readonly BenchSpec Tiny = new() { Layers = 1, Dim = 16, Heads = 2, Ffn = 32, BatchSize = 2, Segments = 16, Repeats = 1, Warmup = 0, Threads = 1 };

    [Fact]
    public void MixersTakeTurnsWithinEachRoundAndRatiosArePerRound()
    {
        var order = new List<(int Round, string Mixer, int Length)>();
        var sweep = new BenchSweep(spec => BenchCell.Run(spec), cell =>
        {
            order.Add((cell.Round!.Value, cell.Mixer, cell.Length));
        });
        var plan = new BenchSweepPlan { Spec = Tiny, Mixers = ["ponet", "fnet"], Lengths = [64, 32], Rounds = 3 };
        var result = sweep.Run(plan);

        var expected = Enumerable.Range(1, 3).SelectMany(r => new[] { (r, "ponet", 32), (r, "fnet", 32), (r, "ponet", 64), (r, "fnet", 64) });
        Assert.Equal(expected, order);
        Assert.Equal(12, result.RoundCells.Count);
        Assert.All(result.RoundCells, c => Assert.Equal("ok", c.Status));

        // One summary per mixer × length: the median of its three rounds.
        Assert.Equal(4, result.Cells.Count);
        foreach (var cell in result.Cells)
        {
            var rounds = result.RoundCells.Where(c => c.Mixer == cell.Mixer && c.Length == cell.Length).Select(c => c.TrainStepsPerSecond!.Value).Order().ToList();
            Assert.Equal(rounds[1], cell.TrainStepsPerSecond);
            Assert.Equal(3, cell.Rounds);
            Assert.Null(cell.Round);
        }

        // Ratios come from cells of the same round, then summarised.
        foreach (var length in new[] { 32, 64 })
        {
            var ratio = Assert.Single(result.Ratios, r => r.Length == length && r.Measure == "train_steps_per_second");
            Assert.Equal(("ponet", "fnet"), (ratio.Mixer, ratio.Baseline));
            var perRound = Enumerable.Range(1, 3).Select(r =>
                result.RoundCells.Single(c => c.Mixer == "ponet" && c.Length == length && c.Round == r).TrainStepsPerSecond!.Value /
                result.RoundCells.Single(c => c.Mixer == "fnet" && c.Length == length && c.Round == r).TrainStepsPerSecond!.Value).ToList();
            Assert.Equal(perRound, ratio.PerRound);
            Assert.Equal(perRound.Order().ElementAt(1), ratio.Median);
            Assert.Equal((perRound.Min(), perRound.Max()), (ratio.Min, ratio.Max));
            // Peak memory above baseline can read 0 MB for so tiny a cell in-process; a ratio is only formed over positive peaks.
            bool positivePeaks = result.RoundCells.Where(c => c.Mixer == "fnet" && c.Length == length).All(c => c.PeakMemoryMb > 0);
            Assert.Equal(positivePeaks ? 1 : 0, result.Ratios.Count(r => r.Length == length && r.Measure == "peak_memory_mb"));
        }
    }

    [Fact]
    public void AFailedCellStopsThatMixersLongerLengthsInEveryRound()
    {
        var ran = new List<(string, int)>();
        // The cell runner is the real in-process measurement, with a memory limit of 0 MB past N = 32
        // for FNet (as BenchChildProcess reports a cell it stopped).
        var sweep = new BenchSweep(spec =>
        {
            ran.Add((spec.Mixer, spec.Length));
            return spec.Mixer == "fnet" && spec.Length > 32
                ? new BenchResult { Mixer = spec.Mixer, Length = spec.Length, Status = "oom", Detail = "resident memory passed --max-memory 0 MB" }
                : BenchCell.Run(spec);
        });
        var result = sweep.Run(new BenchSweepPlan { Spec = Tiny, Mixers = ["ponet", "fnet"], Lengths = [32, 64, 128], Rounds = 2 });

        Assert.Equal(1, ran.Count(c => c == ("fnet", 64)));
        Assert.DoesNotContain(("fnet", 128), ran);
        Assert.Equal(2, ran.Count(c => c == ("fnet", 32)));
        Assert.Equal(6, ran.Count(c => c.Item1 == "ponet"));
        Assert.All(result.RoundCells.Where(c => c.Mixer == "fnet" && c.Length > 32), c => Assert.Equal("oom", c.Status));
        Assert.Equal("oom", result.Cells.Single(c => c.Mixer == "fnet" && c.Length == 128).Status);
        // Only the length both mixers measured has a ratio.
        Assert.Equal([32], result.Ratios.Select(r => r.Length).Distinct());
    }

    [Theory]
    [InlineData(new[] { 3.0 }, 3.0)]
    [InlineData(new[] { 5.0, 1.0, 3.0 }, 3.0)]
    [InlineData(new[] { 4.0, 1.0, 2.0, 10.0 }, 3.0)]
    public void MedianOfOddAndEvenCounts(double[] values, double median) =>
        Assert.Equal(median, BenchSweep.Median(values));

    [Fact]
    public void ZeroRoundsIsAnInputError() =>
        Assert.Throws<PoNetInputException>(() => new BenchSweep(BenchCell.Run).Run(new BenchSweepPlan { Spec = Tiny, Rounds = 0 }));
}
