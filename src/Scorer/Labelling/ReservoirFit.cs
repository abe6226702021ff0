using Reweighting.Contracts;
using Reweighting.Gmm;

namespace Reweighting.Scorer.Labelling;

/// <summary>One fit of the document GMM on a reservoir sample: cold (k-means++ restarts), or the better (higher mean
/// log-likelihood) of a fit warm-started from the previous version's parameters, carried into this sample's feature
/// space, and a cold one: a warm start keeps the labels stable from version to version, but must not lock in a
/// partition that an early, small reservoir got wrong.</summary>
/// <param name="Fit">The EM outcome; its parameters carry the feature transform and standardisation.</param>
/// <param name="WarmStarted">True when EM started from the previous version rather than from k-means++.</param>
/// <param name="Features">The feature map of the fit.</param>
/// <param name="Bics">The BIC of every K tried.</param>
public sealed record ReservoirFit(GmmFit Fit, bool WarmStarted, StatFeatures Features, IReadOnlyList<(int Components, double Bic)> Bics)
{
    /// <summary>Fits <paramref name="sample"/> with a fixed K (<paramref name="options"/>' Components); when
    /// <paramref name="previous"/> has the same K and feature transform and agrees on standardisation, also from it,
    /// keeping the warm-started fit unless the cold one is more likely.</summary>
    public static ReservoirFit Run(IReadOnlyList<(double Mean, double Variance)> sample, GmmFeatureSetting setting,
        GmmFitOptions options, GmmParameters? previous) =>
        Run(sample, new LabellingSettings(FeatureSetting: setting.Name, Components: options.Components), options, previous);

    /// <summary>Fits <paramref name="sample"/> under <paramref name="settings"/>: each K tried (one when fixed, the BIC
    /// range otherwise) from a cold start and, for the previous version's K, also warm-started from it; the fit of
    /// lowest BIC is kept.</summary>
    public static ReservoirFit Run(IReadOnlyList<(double Mean, double Variance)> sample, LabellingSettings settings,
        GmmFitOptions options, GmmParameters? previous)
    {
        if (sample.Count < settings.SmallestComponents)
            throw new ArgumentException($"{sample.Count} statistics cannot fit {settings.SmallestComponents} components");
        var transform = GmmFeatureSetting.Get(settings.FeatureSetting).Transform;
        var (fit, features, bics, warmStarted) = MixtureLabelling.FitComponents(sample, settings, options,
            (k, mu, sd) => previous is null ? null : IntoFeatureSpace(previous, transform, mu, sd, k));
        return new ReservoirFit(fit, warmStarted, features, bics);
    }

    /// <summary>The previous mixture expressed in a new standardisation: standardisation is affine per feature,
    /// x' = (x·s_old + m_old − m_new) / s_new, so means map the same way and covariances scale by s_old,a·s_old,b /
    /// (s_new,a·s_new,b); the mixture is the same distribution over raw statistics. Null when the two cannot be
    /// matched (different K or transform, one standardised and the other not).</summary>
    internal static GmmParameters? IntoFeatureSpace(GmmParameters previous, FeatureTransform transform, double[]? mu, double[]? sd, int components)
    {
        if (previous.Components != components || previous.Dimensions != StatFeatures.Dimensions || previous.Transform != transform) return null;
        if ((previous.StandardizeMean is null) != (mu is null)) return null;
        if (mu is null) return previous with { StandardizeMean = null, StandardizeStd = null };
        double[] oldMu = previous.StandardizeMean!, oldSd = previous.StandardizeStd!;
        var d = StatFeatures.Dimensions;
        var scale = new double[d];
        for (var a = 0; a < d; a++) scale[a] = oldSd[a] / sd![a];
        var means = previous.Means.Select(m => Enumerable.Range(0, d).Select(a => (m[a] * oldSd[a] + oldMu[a] - mu[a]) / sd![a]).ToArray()).ToArray();
        var covariances = previous.Covariances.Select(c =>
            Enumerable.Range(0, d).Select(a => Enumerable.Range(0, d).Select(b => c[a][b] * scale[a] * scale[b]).ToArray()).ToArray()).ToArray();
        // The fitter's mixture sees plain feature-space parameters; the new standardisation is attached after the fit.
        return new GmmParameters(previous.Weights.ToArray(), means, covariances, transform);
    }
}
