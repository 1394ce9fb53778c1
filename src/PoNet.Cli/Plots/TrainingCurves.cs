using PoNet.Lra;
using ScottPlot;
using PoNet.IO;

namespace PoNet.Cli.Plots;

/// <summary>Loss (left axis) and accuracy (right axis) of train and dev against the step, as a PNG.</summary>
internal static class TrainingCurves
{
    public static void SavePng(IReadOnlyList<LraMetricsRow> rows, string title, string path, int width = 900, int height = 500)
    {
        var plot = new Plot();
        double[] steps = rows.Select(r => (double)r.Step).ToArray();
        void Line(Func<LraMetricsRow, double> y, string label, bool right, bool dashed)
        {
            var line = plot.Add.Scatter(steps, rows.Select(y).ToArray());
            line.LegendText = label;
            if (dashed) line.LinePattern = LinePattern.Dashed;
            if (right) line.Axes.YAxis = plot.Axes.Right;
        }
        Line(r => r.TrainLoss, "train loss", right: false, dashed: false);
        Line(r => r.DevLoss, "dev loss", right: false, dashed: true);
        Line(r => r.TrainAccuracy, "train accuracy", right: true, dashed: false);
        Line(r => r.DevAccuracy, "dev accuracy", right: true, dashed: true);
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy";
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Right);
        plot.Axes.SetLimitsY(0, Math.Max(1e-6, rows.Max(r => Math.Max(r.TrainLoss, r.DevLoss))) * 1.05, plot.Axes.Left);
        plot.ShowLegend(Alignment.MiddleRight);
        var png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>
    /// ScottPlot draws no text at all without a TrueType/OpenType font; null when one is found, else
    /// a warning to print. Only checked on Linux, where minimal images often have none.
    /// </summary>
    public static string? MissingFontWarning()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string[] roots = ["/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(home, ".fonts"), Path.Combine(home, ".local/share/fonts")];
        foreach (var root in roots.Where(Directory.Exists))
        {
            try
            {
                if (Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
                    .Any(f => f.EndsWith(".ttf", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".otf", StringComparison.OrdinalIgnoreCase)))
                    return null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return "no TrueType font found (looked in /usr/share/fonts and ~/.fonts): the plot will have no text; install one, e.g. fonts-dejavu-core";
    }
}
