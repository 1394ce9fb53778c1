using PoNet.Pretraining;
using ScottPlot;
using PoNet.IO;

namespace PoNet.Cli.Plots;

/// <summary>Pre-training curves as a PNG: losses on the left axis, held-out accuracies on the right.</summary>
internal static class PretrainingCurves
{
    public static void SavePng(PretrainState state, string path, int width = 900, int height = 500)
    {
        var plot = new Plot();
        var history = state.History;
        if (history.Count > 0)
        {
            // The per-step loss is noisy: a moving average over ~1% of the run.
            int window = Math.Max(1, history.Count / 100);
            var smoothed = history.Select((_, i) => history.Skip(Math.Max(0, i - window + 1)).Take(Math.Min(window, i + 1)).Average(r => r.MlmLoss)).ToArray();
            var train = plot.Add.Scatter(history.Select(r => (double)r.Step).ToArray(), smoothed);
            train.LegendText = "train MLM loss";
            train.MarkerSize = 0;
        }
        var evals = state.Evaluations;
        double[] steps = evals.Select(e => (double)e.Step).ToArray();
        void Line(Func<PretrainEvalRecord, double> y, string label, bool right)
        {
            var line = plot.Add.Scatter(steps, evals.Select(y).ToArray());
            line.LegendText = label;
            line.LinePattern = LinePattern.Dashed;
            if (right) line.Axes.YAxis = plot.Axes.Right;
        }
        Line(e => e.MlmLoss, "held-out MLM loss", right: false);
        Line(e => e.MlmAccuracy, "held-out MLM accuracy", right: true);
        Line(e => e.SsoAccuracy, "held-out SSO accuracy", right: true);
        plot.Title("PoNet pre-training");
        plot.XLabel("step");
        // Steps are whole numbers: no 1.1, 1.2, … on a short run.
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.YLabel("loss");
        plot.Axes.Right.Label.Text = "accuracy";
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, 1.02, plot.Axes.Right);
        // Outside the data area: inside, any corner covers a curve on some run.
        plot.ShowLegend(Edge.Bottom);
        var png = plot.GetImageBytes(width, height, ImageFormat.Png);
        AtomicFile.Write(path, s => s.Write(png));
    }
}
