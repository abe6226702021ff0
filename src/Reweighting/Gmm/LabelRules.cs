using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Decides which label (easy, hard, noisy) each component of a fitted mixture stands for, from the
/// components' content alone (centres and covariances in feature space), so the map does not depend on the order EM
/// happened to produce them in.</summary>
public interface ILabelRule
{
    /// <summary>The name users pass on the command line and that evaluation reports carry.</summary>
    string Name { get; }

    /// <summary>One line on what the rule ranks by.</summary>
    string Description { get; }

    /// <summary>The label of every component: <paramref name="means"/> K centres of D ≥ 2 features (feature 0 the loss
    /// mean, feature 1 the transformed variance, both after any standardisation), <paramref name="covariances"/> K
    /// matrices of D × D.</summary>
    SampleLabel[] Map(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances);
}

/// <summary>A label rule that computes one ranking key per component and hands the ranking to
/// <see cref="ComponentLabels.ByAscendingKey"/>: lowest third easy, middle hard, highest noisy, ties broken by content.</summary>
public sealed class RankingLabelRule(string name, string description, Func<double[], double[][], double> key) : ILabelRule
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public SampleLabel[] Map(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances)
    {
        if (means.Count != covariances.Count) throw new ArgumentException($"{means.Count} means but {covariances.Count} covariances");
        for (var c = 0; c < means.Count; c++)
        {
            var d = means[c].Length;
            if (d < StatFeatures.Dimensions) throw new ArgumentException($"component {c} has {d} features; label rules need (loss mean, variance feature)");
            if (covariances[c].Length != d || covariances[c].Any(row => row.Length != d))
                throw new ArgumentException($"component {c}: its covariance must be {d} x {d}");
        }
        var keys = means.Select((m, c) => key(m, covariances[c])).ToArray();
        return ComponentLabels.ByAscendingKey(keys, means, covariances);
    }

    public override string ToString() => Name;
}

/// <summary>The named label rules. Every rule ranks the K components by a key, ascending, and labels the lowest third
/// easy, the middle third hard, the highest third noisy (with K = 3: one each); equal keys are ordered by centre mean
/// loss, then centre variance feature, then covariance entries, and only identical components by index.
/// All keys are read in the mixture's feature space, so after standardisation they compare features in units of
/// their spread over the fit sample.</summary>
public static class LabelRules
{
    /// <summary><c>mean-loss</c>: the centre's loss mean (the original map, <see cref="ComponentLabels.ByAscendingMeanLoss"/>).</summary>
    public static ILabelRule MeanLoss { get; } = new RankingLabelRule("mean-loss",
        "ascending centre loss mean", (mean, _) => mean[0]);

    /// <summary><c>variance</c>: the centre's variance feature (variance or log variance, as transformed).</summary>
    public static ILabelRule Variance { get; } = new RankingLabelRule("variance",
        "ascending centre variance feature", (mean, _) => mean[1]);

    /// <summary><c>mean-plus-spread</c>: the centre's loss mean plus the component's standard deviation along the loss-mean
    /// feature, √Σ₀₀, i.e. where its upper one-sigma tail of loss ends: a broad component reaching high losses ranks
    /// noisier than a tight one with the same centre.</summary>
    public static ILabelRule MeanPlusSpread { get; } = new RankingLabelRule("mean-plus-spread",
        "ascending centre loss mean + sqrt(covariance[loss, loss])", (mean, cov) => mean[0] + Math.Sqrt(cov[0][0]));

    /// <summary><c>mean-plus-variance</c>: the sum of the centre's two features, loss mean + variance feature, so noisy is
    /// the component high in both (meant for standardised features, where both are in units of their spread).</summary>
    public static ILabelRule MeanPlusVariance { get; } = new RankingLabelRule("mean-plus-variance",
        "ascending centre loss mean + centre variance feature", (mean, _) => mean[0] + mean[1]);

    /// <summary>The rule used when none is named: <see cref="MeanLoss"/>.</summary>
    public static ILabelRule Default => MeanLoss;

    /// <summary>Every named rule, the default first.</summary>
    public static IReadOnlyList<ILabelRule> All { get; } = [MeanLoss, Variance, MeanPlusSpread, MeanPlusVariance];

    /// <summary>The rule called <paramref name="name"/>; an unknown name throws with the list of known ones.</summary>
    public static ILabelRule Get(string name) =>
        All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"unknown label rule '{name}' (known: {string.Join(", ", All.Select(r => r.Name))})");

    /// <summary>Applies a rule to a stored mixture's centres and covariances.</summary>
    public static SampleLabel[] Map(this ILabelRule rule, GmmParameters parameters) => rule.Map(parameters.Means, parameters.Covariances);
}
