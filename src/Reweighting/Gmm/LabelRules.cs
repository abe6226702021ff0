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
    /// matrices of D × D, <paramref name="weights"/> the K mixing weights (needed by rules that look at mass).</summary>
    SampleLabel[] Map(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances, IReadOnlyList<double>? weights = null);
}

/// <summary>A label rule that computes one ranking key per component and hands the ranking to
/// <see cref="ComponentLabels.ByAscendingKey"/>: lowest third easy, middle hard, highest noisy, ties broken by content.</summary>
public sealed class RankingLabelRule(string name, string description, Func<double[], double[][], double> key) : ILabelRule
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public SampleLabel[] Map(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances, IReadOnlyList<double>? weights = null)
    {
        CheckShapes(means, covariances, weights);
        var keys = means.Select((m, c) => key(m, covariances[c])).ToArray();
        return ComponentLabels.ByAscendingKey(keys, means, covariances);
    }

    internal static void CheckShapes(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances, IReadOnlyList<double>? weights)
    {
        if (means.Count != covariances.Count) throw new ArgumentException($"{means.Count} means but {covariances.Count} covariances");
        if (weights is not null && weights.Count != means.Count) throw new ArgumentException($"{means.Count} means but {weights.Count} weights");
        for (var c = 0; c < means.Count; c++)
        {
            var d = means[c].Length;
            if (d < StatFeatures.Dimensions) throw new ArgumentException($"component {c} has {d} features; label rules need (loss mean, variance feature)");
            if (covariances[c].Length != d || covariances[c].Any(row => row.Length != d))
                throw new ArgumentException($"component {c}: its covariance must be {d} x {d}");
        }
    }

    public override string ToString() => Name;
}

/// <summary>Noisy means atypical: the heaviest components, taken in descending weight until they hold at least
/// <paramref name="typicalMass"/> of the mixture, are the typical documents; every other component is noisy, wherever
/// it lies: above the bulk in loss (garbage, shuffled text) or below it (boilerplate, dumps a model learns by heart).
/// Among the typical components, ascending centre loss mean splits easy (lower half) from hard (upper half); a single
/// typical component is hard. Equal weights are ordered by content, as in <see cref="ComponentLabels.ByAscendingKey"/>.</summary>
public sealed class TypicalMassLabelRule(string name, double typicalMass, bool lowSideEasy = false) : ILabelRule
{
    public string Name { get; } = name;

    public string Description => LowSideEasy
        ? $"components outside the heaviest {typicalMass:P0} of the mixture are noisy when their centre loss mean is above the lowest typical one, easy below it; typical ones easy/hard by centre loss mean"
        : $"components outside the heaviest {typicalMass:P0} of the mixture are noisy; typical ones easy/hard by centre loss mean";

    /// <summary>Whether an atypical component below every typical centre loss mean is easy (a distinct low-loss domain,
    /// such as code among prose) rather than noisy.</summary>
    public bool LowSideEasy { get; } = lowSideEasy;

    public double TypicalMass { get; } = typicalMass is > 0 and <= 1 ? typicalMass : throw new ArgumentOutOfRangeException(nameof(typicalMass), "typical mass must be in (0, 1]");

    public SampleLabel[] Map(IReadOnlyList<double[]> means, IReadOnlyList<double[][]> covariances, IReadOnlyList<double>? weights = null)
    {
        if (weights is null) throw new ArgumentException($"the {Name} label rule needs the mixture's weights");
        RankingLabelRule.CheckShapes(means, covariances, weights);
        var k = means.Count;
        // Heaviest first: ascending key −w_c, ties by content.
        var byWeight = ComponentLabels.RankByAscendingKey(weights.Select(w => -w).ToArray(), means, covariances);
        var typical = new List<int>();
        var mass = 0.0;
        foreach (var c in byWeight)
        {
            typical.Add(c);
            mass += weights[c];
            if (mass >= TypicalMass * weights.Sum() - 1e-12) break;
        }
        var labels = Enumerable.Repeat(SampleLabel.Noisy, k).ToArray();
        if (LowSideEasy)
        {
            var lowestTypical = typical.Min(c => means[c][0]);
            for (var c = 0; c < k; c++)
                if (!typical.Contains(c) && means[c][0] < lowestTypical) labels[c] = SampleLabel.Easy;
        }
        ComponentLabels.SplitEasyHard(typical, means, covariances, labels);
        return labels;
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

    /// <summary><c>atypical</c>: every component outside the heaviest half of the mixture is noisy
    /// (<see cref="TypicalMassLabelRule"/>).</summary>
    public static ILabelRule Atypical { get; } = new TypicalMassLabelRule("atypical", 0.5);

    /// <summary><c>atypical-upper</c>: as <see cref="Atypical"/>, but an atypical component whose centre loss mean is
    /// below every typical one is easy: for corpora whose low-loss domains form clusters of their own, where noise sits
    /// only above the bulk.</summary>
    public static ILabelRule AtypicalUpper { get; } = new TypicalMassLabelRule("atypical-upper", 0.5, lowSideEasy: true);

    /// <summary>The rule used when none is named: <see cref="Atypical"/>, chosen by `reweight eval noise-detection` on corpora
    /// with injected noise (see docs/reweighting.md): noise sits on both sides of the bulk, so ranking by loss alone
    /// labels repetitive noise easy.</summary>
    public static ILabelRule Default => Atypical;

    /// <summary>Every named rule, the default first.</summary>
    public static IReadOnlyList<ILabelRule> All { get; } = [Atypical, AtypicalUpper, MeanLoss, Variance, MeanPlusSpread, MeanPlusVariance];

    /// <summary>The rule called <paramref name="name"/>; an unknown name throws with the list of known ones.</summary>
    public static ILabelRule Get(string name) =>
        All.FirstOrDefault(r => r.Name == name)
        ?? throw new ArgumentException($"unknown label rule '{name}' (known: {string.Join(", ", All.Select(r => r.Name))})");

    /// <summary>Applies a rule to a stored mixture's centres and covariances.</summary>
    public static SampleLabel[] Map(this ILabelRule rule, GmmParameters parameters) => rule.Map(parameters.Means, parameters.Covariances, parameters.Weights);
}
