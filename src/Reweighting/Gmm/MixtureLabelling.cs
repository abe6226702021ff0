using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>A document GMM fitted and its components named under <see cref="LabellingSettings"/>.</summary>
/// <param name="Fit">The chosen fit; its parameters carry the feature transform and standardisation.</param>
/// <param name="Features">The feature map of the fit.</param>
/// <param name="LabelMap">The label of every component.</param>
/// <param name="Bics">The BIC of every K tried (one entry when K was fixed).</param>
/// <param name="Anchored">True when a reference named the components.</param>
public sealed record LabelledMixture(GmmFit Fit, StatFeatures Features, SampleLabel[] LabelMap,
    IReadOnlyList<(int Components, double Bic)> Bics, bool Anchored)
{
    /// <summary>A labeller for the fit under its label map.</summary>
    public GmmLabeller Labeller() => new(GaussianMixture.FromParameters(Fit.Parameters), Features, LabelMap);
}

/// <summary>Fits the document GMM on (loss mean, loss variance) statistics and names its components, as the scorer
/// service, the demo and the evaluation all do: K fixed or chosen by BIC, then the components named from a clean
/// reference (<see cref="ReferenceAnchoring"/>) or, without one, by a label rule.</summary>
public static class MixtureLabelling
{
    /// <summary>The BIC search tries K only up to the number of documents over this.</summary>
    public const int MinPointsPerComponent = 20;

    /// <param name="stats">The stream's statistics.</param>
    /// <param name="reference">A clean reference's statistics, scored by the same proxy, or null.</param>
    /// <param name="settings">K, features and naming.</param>
    /// <param name="options">EM settings; its <see cref="GmmFitOptions.Components"/> is replaced by the K tried.</param>
    public static LabelledMixture Fit(IReadOnlyList<(double Mean, double Variance)> stats,
        IReadOnlyList<(double Mean, double Variance)>? reference,
        LabellingSettings settings, GmmFitOptions? options = null)
    {
        options ??= new GmmFitOptions();
        var (fit, features, bics, _) = FitComponents(stats, settings, options, null);
        return Name(fit, features, bics, reference, settings);
    }

    /// <summary>The fit of lowest BIC over the K the settings allow (the one K when fixed), with every K's BIC; each K
    /// from a cold start, and, when <paramref name="warmStart"/> gives one for a K, also from it (the likelier start kept;
    /// WarmStarted says whether the chosen fit came from it).</summary>
    public static (GmmFit Fit, StatFeatures Features, IReadOnlyList<(int Components, double Bic)> Bics, bool WarmStarted) FitComponents(
        IReadOnlyList<(double Mean, double Variance)> stats, LabellingSettings settings, GmmFitOptions options,
        Func<int, double[]?, double[]?, GmmParameters?>? warmStart)
    {
        settings.Validate();
        if (stats.Count == 0) throw new ArgumentException("the GMM needs at least one document's statistics");
        var setting = GmmFeatureSetting.Get(settings.FeatureSetting);
        var (low, high) = settings.ChoosesComponents
            ? (settings.MinComponents, settings.MaxComponents)
            : (settings.Components, settings.Components);
        if (stats.Count < low) throw new ArgumentException($"{stats.Count} statistics cannot fit {low} components");
        // The search never gives a component fewer than MinPointsPerComponent documents on average: beyond that EM
        // collapses components onto single points.
        if (settings.ChoosesComponents) high = Math.Max(low, Math.Min(high, stats.Count / MinPointsPerComponent));
        (GmmFit Fit, StatFeatures Features)? best = null;
        var bestWarm = false;
        var bics = new List<(int, double)>();
        for (var k = low; k <= high; k++)
        {
            var kOptions = options with { Components = k };
            (GmmFit Fit, StatFeatures Features) fitted;
            try
            {
                fitted = StatisticsMixture.Fit(stats, setting, kOptions);
                _ = GaussianMixture.FromParameters(fitted.Fit.Parameters); // refuses an emptied component
            }
            catch (ArgumentException) when (settings.ChoosesComponents && k > low)
            {
                break; // a degenerate fit (an emptied component): larger K only fare worse
            }
            var warmed = false;
            if (warmStart is not null)
            {
                var started = false;
                var warm = StatisticsMixture.Fit(stats, setting, kOptions, (mu, sd) =>
                {
                    var start = warmStart(k, mu, sd);
                    started = start is not null;
                    return start;
                });
                // Prefer the warm start (stable labels from version to version) unless the cold start is likelier.
                if (started && warm.Fit.MeanLogLikelihood + 1e-9 >= fitted.Fit.MeanLogLikelihood) (fitted, warmed) = (warm, true);
            }
            bics.Add((k, fitted.Fit.Bic));
            if (best is null || fitted.Fit.Bic < best.Value.Fit.Bic) (best, bestWarm) = (fitted, warmed);
        }
        return (best!.Value.Fit, best.Value.Features, bics, bestWarm);
    }

    /// <summary>Names the components of a fit: from the reference when the settings anchor on one and one is given,
    /// else by the settings' rule.</summary>
    public static LabelledMixture Name(GmmFit fit, StatFeatures features, IReadOnlyList<(int Components, double Bic)> bics,
        IReadOnlyList<(double Mean, double Variance)>? reference, LabellingSettings settings)
    {
        var anchored = settings.AnchorsOnReference && reference is { Count: > 0 };
        var map = anchored
            ? ReferenceAnchoring.MapStatistics(fit.Parameters, reference!, settings.OccupancyRatio)
            : settings.FallbackRule.Map(fit.Parameters);
        return new LabelledMixture(fit, features, map, bics, anchored);
    }
}
