using PoNet.FineTuning;
using Xunit;

namespace PoNet.Tests.Transfer;

/// <summary>GLUE metrics against values worked out by hand (and equal to scikit-learn's / SciPy's).</summary>
public class MetricsTests
{
    // TP 4 (0, 4, 6, 7), FP 1 (1), FN 1 (5), TN 2 (2, 3)
    static readonly int[] Predicted = [1, 1, 0, 0, 1, 0, 1, 1];
    static readonly int[] Gold = [1, 0, 0, 0, 1, 1, 1, 1];

    [Fact]
    public void AccuracyF1AndMatthewsOfABinaryTask()
    {
        Assert.Equal(6.0 / 8, GlueMetrics.AccuracyOf(Predicted, Gold), 12);
        Assert.Equal(2.0 * 4 / (2 * 4 + 1 + 1), GlueMetrics.F1Of(Predicted, Gold), 12);
        // (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (8 − 1) / √(5·5·3·3) = 7/15
        Assert.Equal(7.0 / 15, GlueMetrics.MatthewsOf(Predicted, Gold), 12);
    }

    [Fact]
    public void MatthewsOfAThreeClassTask()
    {
        // c = 4, s = 6, predicted counts (3, 0, 3), true counts (2, 1, 3):
        // (4·6 − (3·2 + 0·1 + 3·3)) / √((36 − 18)(36 − 14)) = 9 / √396
        int[] gold = [2, 0, 2, 2, 0, 1], predicted = [0, 0, 2, 2, 0, 2];
        Assert.Equal(9 / Math.Sqrt(396), GlueMetrics.MatthewsOf(predicted, gold), 12);
    }

    [Fact]
    public void MatthewsOfAConstantPredictionIsZeroAndPerfectIsOne()
    {
        Assert.Equal(0, GlueMetrics.MatthewsOf([1, 1, 1, 1], [0, 1, 0, 1]));
        Assert.Equal(1, GlueMetrics.MatthewsOf(Gold, Gold), 12);
        Assert.Equal(-1, GlueMetrics.MatthewsOf(Gold.Select(g => 1 - g).ToArray(), Gold), 12);
    }

    [Fact]
    public void F1IsZeroWithoutPositivesAndIgnoresTrueNegatives()
    {
        Assert.Equal(0, GlueMetrics.F1Of([0, 0], [0, 0]));
        Assert.Equal(GlueMetrics.F1Of([1, 0], [1, 1]), GlueMetrics.F1Of([1, 0, 0, 0], [1, 1, 0, 0]), 12);
    }

    [Fact]
    public void PearsonAndSpearmanWithTies()
    {
        double[] x = [1, 2, 3, 4, 5], y = [2, 4, 5, 4, 5];
        // dx = (−2, −1, 0, 1, 2), dy = (−2, 0, 1, 0, 1): 6 / √(10·6)
        Assert.Equal(6 / Math.Sqrt(60), GlueMetrics.PearsonOf(x, y), 12);
        // ranks of y with ties averaged: (1, 2.5, 4.5, 2.5, 4.5); 7 / √(10·9) (scipy.stats.spearmanr: 0.7378647873726218)
        Assert.Equal([1, 2.5, 4.5, 2.5, 4.5], GlueMetrics.Ranks(y));
        Assert.Equal(7 / Math.Sqrt(90), GlueMetrics.SpearmanOf(x, y), 12);
        Assert.Equal(0.7378647873726218, GlueMetrics.SpearmanOf(x, y), 12);
    }

    [Fact]
    public void SpearmanOnlySeesTheOrder()
    {
        double[] x = [0.1, 0.5, 0.2, 9, 3];
        Assert.Equal(1, GlueMetrics.SpearmanOf(x, x.Select(v => Math.Exp(v)).ToArray()), 12);
        Assert.True(GlueMetrics.PearsonOf(x, x.Select(v => Math.Exp(v)).ToArray()) < 0.99);
    }

    [Fact]
    public void ACorrelationWithAConstantIsUndefined()
    {
        Assert.True(double.IsNaN(GlueMetrics.PearsonOf([1, 2, 3], [2, 2, 2])));
        Assert.True(double.IsNaN(GlueMetrics.SpearmanOf([1, 2, 3], [2, 2, 2])));
    }
}
