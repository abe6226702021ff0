using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Labels documents with a stored GMM version: features, responsibilities, and the label whose components
/// hold the most posterior mass (its confidence).</summary>
public sealed class GmmLabeller
{
    private readonly StatFeatures _features;
    private readonly SampleLabel[] _labelMap;

    /// <summary>The mixture in use.</summary>
    public GaussianMixture Mixture { get; }

    /// <summary>The feature map from (loss mean, loss variance) to the mixture's feature space.</summary>
    public StatFeatures Features => _features;

    public GmmLabeller(GaussianMixture mixture, StatFeatures features, SampleLabel[] labelMap)
    {
        if (mixture.Dimensions != StatFeatures.Dimensions)
            throw new ArgumentException($"a document GMM has {StatFeatures.Dimensions} features, this one {mixture.Dimensions}");
        if (labelMap.Length != mixture.Components)
            throw new ArgumentException($"{mixture.Components} components but {labelMap.Length} labels");
        Mixture = mixture;
        _features = features;
        _labelMap = labelMap;
    }

    /// <summary>A labeller for a stored GMM version, using the label map stored with it.</summary>
    public static GmmLabeller FromModel(GmmModel model) =>
        new(GaussianMixture.FromParameters(model.Parameters), StatFeatures.FromParameters(model.Parameters), model.LabelMap);

    /// <summary>True when the mixture is fitted per byte, so documents must come with their scored bytes.</summary>
    public bool NeedsBytes => GmmInputs.NeedsBytes(_features.Transform);

    /// <summary>Verdict for one document's statistics, or null when they cannot be placed (see <see cref="GmmInputs.Of(Statistics.LossStatistics, FeatureTransform)"/>).</summary>
    public LabelAssignment? Assign(Statistics.LossStatistics statistics) =>
        GmmInputs.Of(statistics, _features.Transform) is { } pair ? AssignPair(pair.First, pair.Second) : null;

    /// <summary>Verdict for a stored score row, or null when it cannot be placed (non-finite statistics; under a per-byte
    /// mixture, a row without bytes). A per-token mixture places a row by its stored (mean, variance), as it always did.</summary>
    public LabelAssignment? Assign(StoredStatistics row)
    {
        if (GmmInputs.Of(row, _features.Transform) is { } pair)
            return AssignPair(pair.First, pair.Second);
        return !NeedsBytes && double.IsFinite(row.Mean) && double.IsFinite(row.Variance) && row.Variance >= 0
            ? AssignPair(row.Mean, row.Variance)
            : null;
    }

    /// <summary>Verdict for one document's (loss mean, loss variance); a per-byte mixture refuses (it needs the bytes:
    /// use <see cref="Assign(Statistics.LossStatistics)"/>).</summary>
    public LabelAssignment Assign(double lossMean, double lossVariance)
    {
        if (NeedsBytes)
            throw new InvalidOperationException("this GMM is fitted per byte: label a document from its statistics with the scored bytes");
        return AssignPair(lossMean, lossVariance);
    }

    /// <summary>Verdict for a document's pair as <see cref="GmmInputs.Of(Statistics.LossStatistics, FeatureTransform)"/> gives it for this mixture's transform.</summary>
    public LabelAssignment AssignPair(double first, double second)
    {
        Span<double> x = stackalloc double[StatFeatures.Dimensions];
        _features.Apply(first, second, x);
        var responsibilities = Mixture.PredictProba(x);

        // Several components may share a label; the label's probability is their summed responsibility.
        Span<double> perLabel = stackalloc double[3];
        for (var c = 0; c < responsibilities.Length; c++) perLabel[(int)_labelMap[c]] += responsibilities[c];
        var best = 0;
        for (var l = 1; l < 3; l++) if (perLabel[l] > perLabel[best]) best = l;
        return new LabelAssignment((SampleLabel)best, Math.Min(perLabel[best], 1.0), responsibilities);
    }
}
