namespace Reweighting.Evaluation;

/// <summary>How well a score ranks positives (noisy documents) above negatives.</summary>
public static class DetectionMetrics
{
    /// <summary>Area under the ROC curve: the probability that a random positive scores above a random negative,
    /// ties counting one half (the Mann-Whitney statistic with average ranks). NaN without both classes.</summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        Check(scores, positive);
        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var ranks = new double[scores.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            var average = (start + end) / 2.0 + 1;
            for (var j = start; j <= end; j++) ranks[order[j]] = average;
            start = end + 1;
        }
        long p = positive.Count(x => x), n = positive.Count - p;
        if (p == 0 || n == 0) return double.NaN;
        var rankSum = Enumerable.Range(0, scores.Count).Where(i => positive[i]).Sum(i => ranks[i]);
        return (rankSum - p * (p + 1) / 2.0) / ((double)p * n);
    }

    /// <summary>Average precision: sum over score thresholds (descending, ties grouped) of precision times the gain
    /// in recall, as scikit-learn's average_precision_score. NaN without positives.</summary>
    public static double AveragePrecision(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        Check(scores, positive);
        var total = positive.Count(x => x);
        if (total == 0) return double.NaN;
        var order = Enumerable.Range(0, scores.Count).OrderByDescending(i => scores[i]).ToArray();
        double ap = 0, previousRecall = 0;
        int truePositives = 0, seen = 0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]]) end++;
            for (var j = start; j <= end; j++)
            {
                seen++;
                if (positive[order[j]]) truePositives++;
            }
            var recall = (double)truePositives / total;
            ap += (recall - previousRecall) * truePositives / seen;
            previousRecall = recall;
            start = end + 1;
        }
        return ap;
    }

    /// <summary>Precision and recall of a hard flag.</summary>
    public static (double Precision, double Recall) PrecisionRecall(IReadOnlyList<bool> flagged, IReadOnlyList<bool> positive)
    {
        if (flagged.Count != positive.Count) throw new ArgumentException("one flag per label");
        int tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < flagged.Count; i++)
        {
            if (flagged[i] && positive[i]) tp++;
            else if (flagged[i]) fp++;
            else if (positive[i]) fn++;
        }
        return (tp + fp == 0 ? double.NaN : (double)tp / (tp + fp), tp + fn == 0 ? double.NaN : (double)tp / (tp + fn));
    }

    private static void Check(IReadOnlyList<double> scores, IReadOnlyList<bool> positive)
    {
        if (scores.Count != positive.Count) throw new ArgumentException($"{scores.Count} scores for {positive.Count} labels");
        if (scores.Any(s => double.IsNaN(s))) throw new ArgumentException("scores must not be NaN");
    }
}
