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

    /// <summary>Verdict for one document's (loss mean, loss variance).</summary>
    public LabelAssignment Assign(double lossMean, double lossVariance)
    {
        Span<double> x = stackalloc double[StatFeatures.Dimensions];
        _features.Apply(lossMean, lossVariance, x);
        var responsibilities = Mixture.PredictProba(x);

        // Several components may share a label; the label's probability is their summed responsibility.
        Span<double> perLabel = stackalloc double[3];
        for (var c = 0; c < responsibilities.Length; c++) perLabel[(int)_labelMap[c]] += responsibilities[c];
        var best = 0;
        for (var l = 1; l < 3; l++) if (perLabel[l] > perLabel[best]) best = l;
        return new LabelAssignment((SampleLabel)best, Math.Min(perLabel[best], 1.0), responsibilities);
    }
}
