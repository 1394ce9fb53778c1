using PoNet.Benchmarks;
using ScottPlot;
using PoNet.IO;

namespace PoNet.Cli.Plots;

/// <summary>Training step time and peak memory against sequence length, log-log, one line per mixer.</summary>
internal static class BenchPlot
{
    public static void SavePng(IReadOnlyList<BenchResult> results, string path, string subtitle)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        void Panel(Plot plot, Func<BenchResult, double?> value, string yLabel, string title)
        {
            foreach (var group in results.Where(r => r.Status == "ok" && value(r) is > 0).GroupBy(r => r.Mixer))
            {
                var cells = group.OrderBy(r => r.Length).ToList();
                var line = plot.Add.Scatter(cells.Select(r => Math.Log10(r.Length)).ToArray(), cells.Select(r => Math.Log10(value(r)!.Value)).ToArray());
                line.LegendText = group.Key;
                line.MarkerSize = 7;
            }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(), LabelFormatter = v => $"{Math.Pow(10, v):N0}" };
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(), LabelFormatter = v => $"{Math.Pow(10, v):G3}" };
            plot.XLabel("sequence length N (log)");
            plot.YLabel(yLabel);
            plot.Title(title);
            plot.ShowLegend(Alignment.UpperLeft);
        }
        Panel(multiplot.GetPlot(0), r => r.TrainStepSeconds, "seconds per training step (log)", $"time · {subtitle}");
        Panel(multiplot.GetPlot(1), r => r.PeakMemoryMb, "peak memory above baseline, MB (log)", $"memory · {subtitle}");
        var png = multiplot.Render(1400, 560).GetImageBytes(ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
