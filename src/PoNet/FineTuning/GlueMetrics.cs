namespace PoNet.FineTuning;

/// <summary>
/// The GLUE metrics (docs/MODEL.md §5), computed as scikit-learn and SciPy compute them: accuracy; F1 of
/// the positive class (id 1) for binary tasks (MRPC, QQP); Matthews correlation, multi-class form
/// (CoLA); Pearson and Spearman correlation (STS-B), Spearman with average ranks for ties. An
/// undefined correlation (a constant input) is NaN, as in SciPy; Matthews is then 0, as in sklearn.
/// </summary>
public static class GlueMetrics
{
    public const string Accuracy = "accuracy", F1 = "f1", Matthews = "matthews", Pearson = "pearson", Spearman = "spearman";
    public static readonly string[] Classification = [Accuracy, F1, Matthews];
    public static readonly string[] Regression = [Pearson, Spearman];

    public static double AccuracyOf(IReadOnlyList<int> predicted, IReadOnlyList<int> gold)
    {
        Check(predicted.Count, gold.Count);
        return (double)predicted.Zip(gold).Count(p => p.First == p.Second) / gold.Count;
    }

    /// <summary>F1 of <paramref name="positive"/>: 2·TP / (2·TP + FP + FN); 0 when there are no positives at all.</summary>
    public static double F1Of(IReadOnlyList<int> predicted, IReadOnlyList<int> gold, int positive = 1)
    {
        Check(predicted.Count, gold.Count);
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < gold.Count; i++)
        {
            bool p = predicted[i] == positive, g = gold[i] == positive;
            if (p && g) tp++;
            else if (p) fp++;
            else if (g) fn++;
        }
        return tp + fp + fn == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    /// <summary>
    /// sklearn's multi-class Matthews correlation: with c correct, s samples, p_k predicted and t_k true
    /// counts of class k, (c·s − Σ p_k·t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)); 0 when the denominator is.
    /// For two classes it is (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)).
    /// </summary>
    public static double MatthewsOf(IReadOnlyList<int> predicted, IReadOnlyList<int> gold)
    {
        Check(predicted.Count, gold.Count);
        var classes = predicted.Concat(gold).Distinct().ToList();
        double s = gold.Count, c = predicted.Zip(gold).Count(p => p.First == p.Second);
        double pt = 0, pp = 0, tt = 0;
        foreach (var k in classes)
        {
            double pk = predicted.Count(x => x == k), tk = gold.Count(x => x == k);
            pt += pk * tk;
            pp += pk * pk;
            tt += tk * tk;
        }
        double denominator = Math.Sqrt((s * s - pp) * (s * s - tt));
        return denominator == 0 ? 0 : (c * s - pt) / denominator;
    }

    public static double PearsonOf(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x.Count, y.Count);
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Pearson correlation of the ranks; tied values share the average of their ranks.</summary>
    public static double SpearmanOf(IReadOnlyList<double> x, IReadOnlyList<double> y) => PearsonOf(Ranks(x), Ranks(y));

    /// <summary>1-based ranks, ties averaged (scipy.stats.rankdata, method "average").</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double average = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = average;
            start = end + 1;
        }
        return ranks;
    }

    static void Check(int predicted, int gold)
    {
        if (predicted != gold) throw new ArgumentException($"{predicted} predictions for {gold} gold values");
        if (gold == 0) throw new ArgumentException("no examples to score");
    }
}
