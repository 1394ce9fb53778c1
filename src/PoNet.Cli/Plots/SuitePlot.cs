using PoNet.Model.Mixers;
using PoNet.IO;
using PoNet.Lra;
using ScottPlot;

namespace PoNet.Cli.Plots;

/// <summary>table.png of an LRA suite: per task, our test accuracy per mixer (solid) beside the paper's (pale), in %.</summary>
internal static class SuitePlot
{
    public static void SavePng(IReadOnlyList<LraSuiteCell> cells, string title, string path)
    {
        var plot = new Plot();
        var tasks = cells.Select(c => c.Task).Distinct().ToList();
        var mixers = cells.Select(c => c.Mixer).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        double group = mixers.Count * 2 + 1;
        var bars = new List<Bar>();
        for (int j = 0; j < mixers.Count; j++)
        {
            var colour = palette.GetColor(j);
            for (int i = 0; i < tasks.Count; i++)
            {
                var cell = cells.First(c => c.Task == tasks[i] && c.Mixer == mixers[j]);
                double x = i * group + j * 2;
                if (cell.TestAccuracy is { } ours) bars.Add(new Bar { Position = x, Value = ours, FillColor = colour, Label = $"{ours:F1}" });
                if (cell.PaperTestAccuracy is { } paper) bars.Add(new Bar { Position = x + 1, Value = paper, FillColor = colour.WithAlpha(0.35), Label = $"{paper:F1}" });
            }
            var key = plot.Add.Bars(new[] { new Bar { Position = -100, Value = 0, FillColor = colour } });
            key.LegendText = $"{EnumNames.Of(mixers[j])} (ours solid, paper pale)";
        }
        var all = plot.Add.Bars(bars);
        all.ValueLabelStyle.FontSize = 10;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            tasks.Select((t, i) => new Tick(i * group + mixers.Count - 0.5, t)).ToArray());
        plot.Axes.SetLimitsX(-1, tasks.Count * group - 1);
        plot.Axes.SetLimitsY(0, 100);
        plot.YLabel("test accuracy (%)");
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperRight);
        var png = plot.GetImageBytes(1200, 520, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
