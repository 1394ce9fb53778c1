using System.Globalization;
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
        // Ticks at the lengths measured (a log axis' automatic ticks land on 501, 562, 631, …).
        var lengths = results.Select(r => r.Length).Where(n => n > 0).Distinct().Order().ToList();
        void Panel(Plot plot, Func<BenchResult, double?> value, string yLabel, string title, Func<double, string> format)
        {
            var values = new List<double>();
            foreach (var group in results.Where(r => r.Status == "ok" && value(r) is > 0).GroupBy(r => r.Mixer))
            {
                var cells = group.OrderBy(r => r.Length).ToList();
                values.AddRange(cells.Select(r => value(r)!.Value));
                var line = plot.Add.Scatter(cells.Select(r => Math.Log10(r.Length)).ToArray(), cells.Select(r => Math.Log10(value(r)!.Value)).ToArray());
                line.LegendText = group.Key;
                line.MarkerSize = 7;
            }
            plot.Axes.Bottom.TickGenerator = Manual(LengthTicks(lengths).Select(t => (t.Position, (string?)t.Label)));
            if (values.Count > 0)
                plot.Axes.Left.TickGenerator = Manual(LogTicks(values.Min(), values.Max(), format));
            plot.XLabel("sequence length N (log scale)");
            plot.YLabel(yLabel);
            plot.Title(title);
            plot.ShowLegend(Edge.Bottom);
        }
        Panel(multiplot.GetPlot(0), r => r.TrainStepSeconds, "seconds per training step (log scale)", $"time · {subtitle}", Seconds);
        Panel(multiplot.GetPlot(1), r => r.PeakMemoryMb, "peak memory above baseline, MB (log scale)", $"memory · {subtitle}",
            v => v.ToString(v >= 1 ? "#,0" : "0.##", CultureInfo.InvariantCulture));
        var png = multiplot.Render(1400, 560).GetImageBytes(ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>One tick per measured length, at log10 of it, labelled as the tables head their columns.</summary>
    public static List<(double Position, string Label)> LengthTicks(IEnumerable<int> lengths) =>
        lengths.Select(n => (Math.Log10(n), LengthLabel(n))).ToList();

    /// <summary>512, 1K, 2K, … as the tables head their columns.</summary>
    public static string LengthLabel(int n) =>
        n >= 1024 && n % 1024 == 0 ? $"{n / 1024}K" : n.ToString(CultureInfo.InvariantCulture);

    static string Seconds(double v) => v.ToString(v >= 10 ? "#,0" : v >= 1 ? "0.#" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>
    /// Ticks of a log axis covering [<paramref name="min"/>, <paramref name="max"/>] (positions are
    /// log10 of the values, as plotted): labelled majors at 1, 2, 5 × 10^k (1 × 10^k only, over
    /// many decades), unlabelled minors at the other integers × 10^k.
    /// </summary>
    public static List<(double Position, string? Label)> LogTicks(double min, double max, Func<double, string> format)
    {
        var ticks = new List<(double Position, string? Label)>();
        int low = (int)Math.Floor(Math.Log10(min)) - 1, high = (int)Math.Ceiling(Math.Log10(max)) + 1;
        // Many decades: a label per decade; a few: 1-2-5; less than a factor of 5: every integer.
        int[] majors = high - low > 5 ? [1] : max / min >= 5 ? [1, 2, 5] : [1, 2, 3, 4, 5, 6, 7, 8, 9];
        for (int k = low; k <= high; k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k);
                ticks.Add((Math.Log10(v), majors.Contains(m) ? format(v) : null));
            }
        // Still fewer than two labels among the data (e.g. 2472 and 2952 MB): label the extremes measured.
        if (ticks.Count(t => t.Label is not null && t.Position >= Math.Log10(min) - 1e-9 && t.Position <= Math.Log10(max) + 1e-9) < 2)
        {
            ticks.RemoveAll(t => t.Label is not null && t.Position > Math.Log10(min) - 0.05 && t.Position < Math.Log10(max) + 0.05);
            ticks.Add((Math.Log10(min), format(min)));
            if (max > min) ticks.Add((Math.Log10(max), format(max)));
        }
        return ticks;
    }

    static ScottPlot.TickGenerators.NumericManual Manual(IEnumerable<(double Position, string? Label)> ticks)
    {
        var generator = new ScottPlot.TickGenerators.NumericManual();
        foreach (var (position, label) in ticks)
            if (label is null) generator.AddMinor(position);
            else generator.AddMajor(position, label);
        return generator;
    }
}
