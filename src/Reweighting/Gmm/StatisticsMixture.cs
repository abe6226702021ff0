using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>A feature map a document GMM is fitted under: a transform of (loss mean, loss variance), standardised over
/// the fitted sample or not.</summary>
public sealed record GmmFeatureSetting(string Name, FeatureTransform Transform, bool Standardise, string Description)
{
    /// <summary>The settings users can choose; the first is the default, chosen by `reweight eval noise-detection`
    /// (see docs/reweighting.md).</summary>
    public static IReadOnlyList<GmmFeatureSetting> All { get; } =
    [
        new("raw-std", FeatureTransform.Raw, true, "(mean, variance), standardised"),
        new("log-variance-std", FeatureTransform.LogVariance, true, "(mean, ln variance), standardised"),
        new("log-variance", FeatureTransform.LogVariance, false, "(mean, ln variance) as measured"),
        new("raw", FeatureTransform.Raw, false, "(mean, variance) as measured"),
        new("per-byte-std", FeatureTransform.PerByte, true, "(loss per byte, bytes per token), standardised"),
        new("per-byte", FeatureTransform.PerByte, false, "(loss per byte, bytes per token) as measured"),
    ];

    public static GmmFeatureSetting Default => All[0];

    public static GmmFeatureSetting Get(string name) => All.FirstOrDefault(f => f.Name == name)
        ?? throw new ArgumentException($"unknown feature transform '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})");
}

/// <summary>Fits the document GMM on (loss mean, loss variance) statistics under a feature setting. With
/// standardisation, the sample's own feature mean and deviation are stored in the parameters, so a labeller made from
/// them applies the same map.</summary>
public static class StatisticsMixture
{
    /// <param name="stats">(loss mean, loss variance) per document.</param>
    /// <param name="setting">The feature map.</param>
    /// <param name="options">EM settings (default: <see cref="GmmFitOptions"/>'s).</param>
    /// <param name="warmStart">Given the sample's standardisation (nulls when not standardised), the parameters to start EM
    /// from in that feature space, or null for a cold start (k-means++ restarts).</param>
    public static (GmmFit Fit, StatFeatures Features) Fit(IReadOnlyList<(double Mean, double Variance)> stats, GmmFeatureSetting setting, GmmFitOptions? options = null,
        Func<double[]?, double[]?, GmmParameters?>? warmStart = null)
    {
        if (stats.Count == 0) throw new ArgumentException("the GMM needs at least one document's statistics");
        options ??= new GmmFitOptions();
        var (mu, sd) = setting.Standardise ? Standardisation(stats, setting.Transform) : (null, null);
        var features = new StatFeatures(setting.Transform, mu, sd);
        var points = new double[StatFeatures.Dimensions * stats.Count]; // (N, 2) row-major
        for (var j = 0; j < stats.Count; j++) features.Apply(stats[j].Mean, stats[j].Variance, points.AsSpan(2 * j, 2));
        var fit = GaussianMixtureFitter.Fit(points, StatFeatures.Dimensions, options, setting.Transform, warmStart?.Invoke(mu, sd));
        return (mu is null ? fit : fit with { Parameters = fit.Parameters with { StandardizeMean = mu, StandardizeStd = sd } }, features);
    }

    /// <summary>Per-feature mean and population deviation of the transformed statistics; a constant feature keeps
    /// deviation 1.</summary>
    public static (double[] Mean, double[] Std) Standardisation(IReadOnlyList<(double Mean, double Variance)> stats, FeatureTransform transform)
    {
        var transformed = new StatFeatures(transform);
        var raw = new double[StatFeatures.Dimensions * stats.Count];
        for (var j = 0; j < stats.Count; j++) transformed.Apply(stats[j].Mean, stats[j].Variance, raw.AsSpan(2 * j, 2));
        double[] mu = new double[2], sd = new double[2];
        for (var d = 0; d < 2; d++)
        {
            var column = Enumerable.Range(0, stats.Count).Select(j => raw[2 * j + d]).ToArray();
            mu[d] = column.Average();
            var s = Math.Sqrt(column.Average(x => (x - mu[d]) * (x - mu[d])));
            sd[d] = s > 0 ? s : 1;
        }
        return (mu, sd);
    }

    /// <summary>A labeller for a fit, its components mapped to labels by <paramref name="rule"/> (default: <see cref="LabelRules.Default"/>).</summary>
    public static GmmLabeller Labeller((GmmFit Fit, StatFeatures Features) fitted, ILabelRule? rule = null) =>
        new(GaussianMixture.FromParameters(fitted.Fit.Parameters), fitted.Features, (rule ?? LabelRules.Default).Map(fitted.Fit.Parameters));
}
