using PoNet.IO;
using PoNet.Training;
using ScottPlot;

namespace PoNet.Cli.Plots;

/// <summary>
/// The curves of every training command as one PNG, from its metrics rows: losses on the left
/// axis, scores in [0, 1] (accuracies, F1, correlations) on the right; training series as lines
/// (a moving average over ~1 % of the run: per-step values are noisy), dev series as dashed lines
/// with a marker at each evaluated step. The legend sits outside the plotting area, so it covers no data.
/// </summary>
internal static class TrainingCurves
{
    public static void SavePng(IReadOnlyList<MetricsRow> rows, string title, string path, int width = 1000, int height = 500)
    {
        var plot = new Plot();
        bool IsLoss(string name) => name.Contains("loss", StringComparison.Ordinal);
        var trainKeys = rows.SelectMany(r => r.Train.Keys).Distinct().Where(k => k is "loss" or "mlm_loss" or "sso_loss" or "nsp_loss" or "accuracy").ToList();
        var devKeys = rows.SelectMany(r => r.Dev?.Keys ?? Enumerable.Empty<string>()).Distinct().ToList();
        double maxLoss = 1e-6;
        var trained = rows.Where(r => r.Step > 0).ToList();
        int window = Math.Max(1, trained.Count / 100);
        foreach (var key in trainKeys)
        {
            var points = trained.Where(r => r.Train.ContainsKey(key)).ToList();
            if (points.Count == 0) continue;
            var values = points.Select(r => r.Train[key]).ToArray();
            var smoothed = values.Select((_, i) => values.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average()).ToArray();
            var line = plot.Add.ScatterLine(points.Select(r => (double)r.Step).ToArray(), smoothed);
            line.LegendText = "train " + key.Replace('_', ' ');
            if (IsLoss(key)) maxLoss = Math.Max(maxLoss, smoothed.Where(double.IsFinite).DefaultIfEmpty(0).Max());
            else line.Axes.YAxis = plot.Axes.Right;
        }
        foreach (var key in devKeys)
        {
            var points = rows.Where(r => r.Dev is not null && r.Dev.ContainsKey(key) && double.IsFinite(r.Dev[key])).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(r => (double)r.Step).ToArray(), points.Select(r => r.Dev![key]).ToArray());
            line.LegendText = "dev " + key.Replace('_', ' ');
            line.LinePattern = LinePattern.Dashed;
            line.MarkerSize = 6;
            if (IsLoss(key)) maxLoss = Math.Max(maxLoss, points.Max(r => r.Dev![key]));
            else line.Axes.YAxis = plot.Axes.Right;
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy / score";
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, maxLoss * 1.05, plot.Axes.Left);
        plot.Axes.SetLimitsY(Math.Min(0, rows.SelectMany(r => r.Dev ?? []).Where(p => !IsLoss(p.Key) && double.IsFinite(p.Value)).Select(p => p.Value).DefaultIfEmpty(0).Min()), 1.02, plot.Axes.Right);
        plot.ShowLegend(Edge.Right);
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
