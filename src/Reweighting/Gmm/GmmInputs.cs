using Reweighting.Contracts;
using Reweighting.Statistics;

namespace Reweighting.Gmm;

/// <summary>The pair of per-document statistics a feature transform starts from: (loss mean, loss variance) for
/// <see cref="FeatureTransform.Raw"/> and <see cref="FeatureTransform.LogVariance"/>, (loss per byte, bytes per token) for
/// <see cref="FeatureTransform.PerByte"/>. Every place where a document's statistics meet a mixture goes through
/// <see cref="Of(LossStatistics, FeatureTransform)"/>, so a per-byte mixture never sees a per-token pair.</summary>
public static class GmmInputs
{
    /// <summary>True when the transform needs the scored bytes.</summary>
    public static bool NeedsBytes(FeatureTransform transform) => transform == FeatureTransform.PerByte;

    /// <summary>The pair <paramref name="transform"/> starts from, or null when the document cannot be placed: no scored
    /// token, non-finite statistics, or (per byte) no bytes.</summary>
    public static (double First, double Second)? Of(LossStatistics statistics, FeatureTransform transform)
    {
        if (statistics.Count == 0) return null;
        (double, double) pair = transform switch
        {
            FeatureTransform.Raw or FeatureTransform.LogVariance => (statistics.Mean, statistics.Variance),
            FeatureTransform.PerByte => (statistics.LossPerByte, statistics.BytesPerToken),
            _ => throw new ArgumentOutOfRangeException(nameof(transform), transform, "unknown feature transform"),
        };
        return double.IsFinite(pair.Item1) && double.IsFinite(pair.Item2) && pair.Item2 >= 0 ? pair : null;
    }

    /// <summary>The pair of a stored score row (see <see cref="Of(LossStatistics, FeatureTransform)"/>).</summary>
    public static (double First, double Second)? Of(StoredStatistics row, FeatureTransform transform) =>
        Of(FromRow(row), transform);

    /// <summary>The statistics of a stored score row: <paramref name="tokens"/> scored tokens, their loss mean and
    /// population variance, the bytes they cover (null or 0 when not recorded), and the text's compression ratio and order
    /// gain (null when unknown).</summary>
    public static LossStatistics FromRow(long tokens, double mean, double variance, long? bytes, double? compression = null,
        double? orderGain = null) =>
        new(tokens, mean, variance * tokens, bytes ?? 0, compression ?? double.NaN, orderGain ?? double.NaN);

    /// <summary>The statistics of a stored score row, with its compression ratio and order gain when it has them.</summary>
    public static LossStatistics FromRow(StoredStatistics row) =>
        FromRow(row.Tokens, row.Mean, row.Variance, row.Bytes, row.CompressionRatio, row.OrderGain);

    /// <summary>The pairs of every document that can be placed, in order.</summary>
    public static (double First, double Second)[] All(IEnumerable<LossStatistics> statistics, FeatureTransform transform) =>
        statistics.Select(s => Of(s, transform)).OfType<(double, double)>().ToArray();
}
