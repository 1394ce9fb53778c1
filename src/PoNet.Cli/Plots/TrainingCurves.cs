using System.Globalization;
using PoNet.Lra;
using ScottPlot;
using PoNet.IO;

namespace PoNet.Cli.Plots;

/// <summary>
/// Loss (left axis) and accuracy (right axis) against the step, as a PNG: train curves with a point
/// per logged row, dev points wherever a row has them (per-step metrics leave dev cells empty
/// between evaluations). The legend sits outside the data area.
/// </summary>
internal static class TrainingCurves
{
    /// <summary>One logged row; null where it was not measured.</summary>
    public sealed record Row(int Step, double? TrainLoss, double? TrainAccuracy, double? DevLoss, double? DevAccuracy);

    public static void SavePng(IReadOnlyList<LraMetricsRow> rows, string title, string path, int width = 900, int height = 500) =>
        SavePng(rows.Select(r => new Row(r.Step, Value(r.TrainLoss), Value(r.TrainAccuracy), Value(r.DevLoss), Value(r.DevAccuracy))).ToList(), title, path, width, height);

    /// <summary>Plots a metrics.csv: columns found by header name (step, train_loss, train_accuracy, dev_loss, dev_accuracy), empty or NaN cells skipped.</summary>
    public static void SavePngFromCsv(string metricsCsv, string title, string path, int width = 900, int height = 500) =>
        SavePng(ReadCsv(metricsCsv), title, path, width, height);

    public static List<Row> ReadCsv(string metricsCsv)
    {
        var lines = File.ReadAllLines(metricsCsv);
        if (lines.Length == 0) throw new PoNetInputException($"{metricsCsv}: empty (expected a header line step,train_loss,…)");
        var header = lines[0].Split(',').Select(h => h.Trim()).ToList();
        int Column(string name) => header.IndexOf(name);
        int step = Column("step");
        if (step < 0) throw new PoNetInputException($"{metricsCsv}:1: no 'step' column in the header");
        var (trainLoss, trainAccuracy, devLoss, devAccuracy) = (Column("train_loss"), Column("train_accuracy"), Column("dev_loss"), Column("dev_accuracy"));
        var rows = new List<Row>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0) continue;
            var cells = lines[i].Split(',');
            double? Cell(int c) => c >= 0 && c < cells.Length && double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? Value(v) : null;
            if (!int.TryParse(step < cells.Length ? cells[step] : "", NumberStyles.Integer, CultureInfo.InvariantCulture, out var s))
                throw new PoNetInputException($"{metricsCsv}:{i + 1}: step '{(step < cells.Length ? cells[step] : "")}' is not an integer");
            rows.Add(new Row(s, Cell(trainLoss), Cell(trainAccuracy), Cell(devLoss), Cell(devAccuracy)));
        }
        return rows;
    }

    static double? Value(double v) => double.IsFinite(v) ? v : null;

    public static void SavePng(IReadOnlyList<Row> rows, string title, string path, int width = 900, int height = 500)
    {
        var plot = new Plot();
        double maxLoss = 1e-6;
        void Line(Func<Row, double?> y, string label, bool right, bool dev)
        {
            var points = rows.Where(r => y(r).HasValue).OrderBy(r => r.Step).ToList();
            if (points.Count == 0) return;
            if (!right) maxLoss = Math.Max(maxLoss, points.Max(r => y(r)!.Value));
            var line = plot.Add.Scatter(points.Select(r => (double)r.Step).ToArray(), points.Select(r => y(r)!.Value).ToArray());
            line.LegendText = label;
            // Train: one point per logged step, too many for markers; dev: few, each marked.
            line.MarkerSize = dev || points.Count <= 50 ? 6 : 0;
            line.LineWidth = dev ? 1.5f : 1f;
            if (dev) line.LinePattern = LinePattern.Dashed;
            if (right) line.Axes.YAxis = plot.Axes.Right;
        }
        Line(r => r.TrainLoss, "train loss", right: false, dev: false);
        Line(r => r.DevLoss, "dev loss", right: false, dev: true);
        Line(r => r.TrainAccuracy, "train accuracy", right: true, dev: false);
        Line(r => r.DevAccuracy, "dev accuracy", right: true, dev: true);
        plot.Title(title);
        plot.XLabel("step");
        // Steps are whole numbers: no 1.1, 1.2, … on a short run.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy";
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Right);
        plot.Axes.SetLimitsY(0, maxLoss * 1.05, plot.Axes.Left);
        plot.ShowLegend(Edge.Bottom);
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
