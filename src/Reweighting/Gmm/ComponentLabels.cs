using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Which label each mixture component stands for.</summary>
public static class ComponentLabels
{
    /// <summary>The default map: components ranked by the loss mean of their centre (feature 0, which the transform
    /// and standardisation keep monotonic) split into thirds: lowest easy, middle hard, highest noisy.
    /// With K = 3 that is exactly easy, hard, noisy in ascending order. Same as the <c>mean-loss</c> label rule.</summary>
    public static SampleLabel[] ByAscendingMeanLoss(IReadOnlyList<double[]> means) =>
        ByAscendingKey(means.Select(m => m[0]).ToArray(), means);

    /// <summary>Ranks components by ascending <paramref name="keys"/> and splits the ranking into thirds: component
    /// of rank r (0-based) of K gets label ⌊3r/K⌋ (easy, hard, noisy; with K = 2 there is no noisy component).
    /// Ties are broken by content, never by position alone: equal keys rank by centre mean loss (feature 0), then by
    /// the remaining centre features in order, then by the covariance entries row by row when covariances are given;
    /// only components identical in all of that fall back to their index. So permuting the components permutes the
    /// labels with them.</summary>
    public static SampleLabel[] ByAscendingKey(IReadOnlyList<double> keys, IReadOnlyList<double[]> means, IReadOnlyList<double[][]>? covariances = null)
    {
        var order = RankByAscendingKey(keys, means, covariances);
        var labels = new SampleLabel[order.Length];
        for (var rank = 0; rank < order.Length; rank++)
            labels[order[rank]] = (SampleLabel)(rank * 3 / order.Length);
        return labels;
    }

    /// <summary>Labels the <paramref name="clean"/> components in <paramref name="labels"/>: by ascending centre loss mean,
    /// the lower half easy and the upper half hard (the middle one of an odd count easy); a single clean component is
    /// hard. Ties are broken by content as in <see cref="ByAscendingKey"/>. Other components keep their labels.</summary>
    public static void SplitEasyHard(IReadOnlyList<int> clean, IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances,
        SampleLabel[] labels)
    {
        if (clean.Count == 1)
        {
            labels[clean[0]] = SampleLabel.Hard;
            return;
        }
        var byLoss = RankByAscendingKey(clean.Select(c => means[c][0]).ToArray(), clean.Select(c => means[c]).ToArray(),
            clean.Select(c => covariances[c]).ToArray());
        for (var rank = 0; rank < byLoss.Length; rank++)
            labels[clean[byLoss[rank]]] = 2 * rank < byLoss.Length ? SampleLabel.Easy : SampleLabel.Hard;
    }

    /// <summary>The component indices in ascending order of <paramref name="keys"/>, ties broken by content as in
    /// <see cref="ByAscendingKey"/>.</summary>
    public static int[] RankByAscendingKey(IReadOnlyList<double> keys, IReadOnlyList<double[]> means, IReadOnlyList<double[][]>? covariances = null)
    {
        var k = means.Count;
        if (k == 0) throw new ArgumentException("a mixture needs at least one component");
        if (keys.Count != k || (covariances is not null && covariances.Count != k))
            throw new ArgumentException($"{k} means but {keys.Count} keys{(covariances is null ? "" : $" and {covariances.Count} covariances")}");
        for (var c = 0; c < k; c++)
            if (!double.IsFinite(keys[c])) throw new ArgumentException($"component {c} has a non-finite ranking key {keys[c]}");

        var order = Enumerable.Range(0, k).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byKey = keys[a].CompareTo(keys[b]);
            if (byKey != 0) return byKey;
            var byContent = CompareContent(means[a], means[b]);
            if (byContent != 0) return byContent;
            if (covariances is not null)
                for (var row = 0; row < Math.Min(covariances[a].Length, covariances[b].Length); row++)
                    if ((byContent = CompareContent(covariances[a][row], covariances[b][row])) != 0) return byContent;
            return a.CompareTo(b);
        });
        return order;
    }

    private static int CompareContent(double[] a, double[] b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            var c = a[i].CompareTo(b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }
}
