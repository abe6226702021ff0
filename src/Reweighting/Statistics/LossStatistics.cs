namespace Reweighting.Statistics;

/// <summary>Count, mean and population variance of a document's token losses, accumulated one loss or one window at a
/// time and merged exactly across windows (Chan et al.'s parallel update of the sum of squared deviations), so a long
/// document scored in many windows gets the statistics of all its tokens without cancellation error.</summary>
public readonly record struct LossStatistics(long Count, double Mean, double SquaredDeviations)
{
    public static readonly LossStatistics Empty = new(0, 0, 0);

    /// <summary>Population variance: sigma^2 = 1/L sum (l_j - mu)^2 (NaN for an empty document).</summary>
    public double Variance => Count == 0 ? double.NaN : SquaredDeviations / Count;

    /// <summary>Statistics of one window of losses (two passes: the mean, then the deviations from it).</summary>
    public static LossStatistics Of(ReadOnlySpan<float> losses)
    {
        if (losses.IsEmpty) return Empty;
        double sum = 0;
        foreach (var l in losses) sum += l;
        var mean = sum / losses.Length;
        double m2 = 0;
        foreach (var l in losses) m2 += (l - mean) * (l - mean);
        return new LossStatistics(losses.Length, mean, m2);
    }

    /// <summary>The statistics of the union of two disjoint sets of tokens.</summary>
    public LossStatistics Merge(LossStatistics other)
    {
        if (other.Count == 0) return this;
        if (Count == 0) return other;
        var n = Count + other.Count;
        var delta = other.Mean - Mean;
        var mean = Mean + delta * other.Count / n;
        var m2 = SquaredDeviations + other.SquaredDeviations + delta * delta * ((double)Count * other.Count / n);
        return new LossStatistics(n, mean, m2);
    }
}
