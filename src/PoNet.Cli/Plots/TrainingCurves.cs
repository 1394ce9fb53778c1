using System.Globalization;
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
        // Steps are whole numbers: no 1.1, 1.2, … on a short run.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy / score";
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, maxLoss * 1.05, plot.Axes.Left);
        plot.Axes.SetLimitsY(Math.Min(0, rows.SelectMany(r => r.Dev ?? []).Where(p => !IsLoss(p.Key) && double.IsFinite(p.Value)).Select(p => p.Value).DefaultIfEmpty(0).Min()), 1.02, plot.Axes.Right);
        plot.ShowLegend(Edge.Right);
        var png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }

    /// <summary>Plots a metrics.csv as written by the trainer (columns step, learning_rate, train_*, dev_*; empty cells skipped).</summary>
    public static void SavePngFromCsv(string metricsCsv, string title, string path) => SavePng(ReadCsv(metricsCsv), title, path);

    /// <summary>The rows of a metrics.csv, columns found by header name; a malformed file is one line naming it and the line.</summary>
    public static List<MetricsRow> ReadCsv(string metricsCsv)
    {
        var lines = File.ReadAllLines(metricsCsv);
        if (lines.Length == 0) throw new PoNetInputException($"{metricsCsv}: empty (expected a header line step,learning_rate,…)");
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        int step = header.IndexOf("step"), lr = header.IndexOf("learning_rate");
        if (step < 0) throw new PoNetInputException($"{metricsCsv}:1: no 'step' column in the header");
        var rows = new List<MetricsRow>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var cells = lines[i].Split(',');
            double? Cell(int c) => c >= 0 && c < cells.Length && double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null;
            if (!int.TryParse(step < cells.Length ? cells[step] : "", NumberStyles.Integer, CultureInfo.InvariantCulture, out var s))
                throw new PoNetInputException($"{metricsCsv}:{i + 1}: step '{(step < cells.Length ? cells[step] : "")}' is not an integer");
            var train = new Dictionary<string, double>();
            var dev = new Dictionary<string, double>();
            for (int c = 0; c < header.Count; c++)
                if (Cell(c) is { } v)
                {
                    if (header[c].StartsWith("train_", StringComparison.Ordinal)) train[header[c][6..]] = v;
                    else if (header[c].StartsWith("dev_", StringComparison.Ordinal)) dev[header[c][4..]] = v;
                }
            rows.Add(new MetricsRow { Step = s, LearningRate = Cell(lr), Train = train, Dev = dev.Count > 0 ? dev : null });
        }
        return rows;
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
