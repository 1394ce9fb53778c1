using PoNet.Cli.Plots;
using PoNet.Tests.Lra;
using Xunit;

namespace PoNet.Tests.Plots;

public class PlotTests
{
    [Fact]
    public void BenchLengthTicksAreTheMeasuredLengths()
    {
        var ticks = BenchPlot.LengthTicks([512, 1024, 4096, 16384, 1000]);
        Assert.Equal(["512", "1K", "4K", "16K", "1000"], ticks.Select(t => t.Label));
        Assert.Equal(Math.Log10(4096), ticks[2].Position, 12);
    }

    [Fact]
    public void BenchMemoryTicksReadAsMegabytes()
    {
        var labels = BenchPlot.LogTicks(301, 12348, v => v.ToString(v >= 1 ? "#,0" : "0.##", System.Globalization.CultureInfo.InvariantCulture))
            .Where(t => t.Label is not null).Select(t => t.Label!).ToList();
        Assert.Contains("500", labels);
        Assert.Contains("2,000", labels);
        Assert.Contains("10,000", labels);
        Assert.DoesNotContain(labels, l => l.Contains('E'));
    }

    [Fact]
    public void ANarrowRangeStillHasLabelsAmongTheData()
    {
        var ticks = BenchPlot.LogTicks(2472, 2952, v => v.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture));
        var inside = ticks.Where(t => t.Label is not null && t.Position >= Math.Log10(2472) - 1e-9 && t.Position <= Math.Log10(2952) + 1e-9).Select(t => t.Label).ToList();
        Assert.Equal(["2,472", "2,952"], inside);
    }

    [Fact]
    public void PerStepMetricsWithDevCellsOnlyAtEvaluationsArePlotted()
    {
        using var dir = new TempDir();
        string csv = dir.Write("metrics.csv",
            "step,train_loss,train_accuracy,dev_loss,dev_accuracy,learning_rate\n" +
            "1,2.5,0.1,,,0.001\n2,2.25,0.2,,,0.001\n3,2,0.25,2.1,0.3,0.001\n4,1.5,0.5,,,0.001\n");
        var rows = TrainingCurves.ReadCsv(csv);
        Assert.Equal([1, 2, 3, 4], rows.Select(r => r.Step));
        Assert.Equal([2.5, 2.25, 2, 1.5], rows.Select(r => r.Train["loss"]));
        Assert.Equal([null, null, 2.1, null], rows.Select(r => r.Dev?["loss"]));
        Assert.Equal([null, null, 0.3, null], rows.Select(r => r.Dev?["accuracy"]));

        string png = Path.Combine(dir.Path, "curves.png");
        TrainingCurves.SavePngFromCsv(csv, "test", png);
        Assert.True(new FileInfo(png).Length > 1000);
    }

    [Fact]
    public void MetricsCsvWithoutAStepColumnNamesTheFile()
    {
        using var dir = new TempDir();
        string csv = dir.Write("metrics.csv", "train_loss\n1\n");
        var e = Assert.Throws<PoNetInputException>(() => TrainingCurves.ReadCsv(csv));
        Assert.Contains(csv + ":1:", e.Message);
    }
}
