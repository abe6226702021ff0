using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Labels documents with a stored GMM version: features, responsibilities, and the label whose components
/// hold the most posterior mass (its confidence). With a <see cref="ReferenceNovelty"/> (a version fitted against a clean
/// reference), that detector alone decides which documents are noisy: a document it flags is noisy (confidence: its
/// posterior probability of noise) and any other one takes the likelier of easy and hard, whatever component it is in.
/// A document without counted bytes, which the detector cannot place, keeps the mixture's verdict.</summary>
public sealed class GmmLabeller
{
    private readonly StatFeatures _features;
    private readonly SampleLabel[] _labelMap;

    /// <summary>The mixture in use.</summary>
    public GaussianMixture Mixture { get; }

    /// <summary>The feature map from (loss mean, loss variance) to the mixture's feature space.</summary>
    public StatFeatures Features => _features;

    /// <summary>The document-level noise detector, or null.</summary>
    public ReferenceNovelty? Novelty { get; }

    public GmmLabeller(GaussianMixture mixture, StatFeatures features, SampleLabel[] labelMap, ReferenceNovelty? novelty = null)
    {
        if (mixture.Dimensions != StatFeatures.Dimensions)
            throw new ArgumentException($"a document GMM has {StatFeatures.Dimensions} features, this one {mixture.Dimensions}");
        if (labelMap.Length != mixture.Components)
            throw new ArgumentException($"{mixture.Components} components but {labelMap.Length} labels");
        Mixture = mixture;
        _features = features;
        _labelMap = labelMap;
        Novelty = novelty;
    }

    /// <summary>A labeller for a stored GMM version, using the label map stored with it.</summary>
    public static GmmLabeller FromModel(GmmModel model) =>
        new(GaussianMixture.FromParameters(model.Parameters), StatFeatures.FromParameters(model.Parameters), model.LabelMap,
            model.Novelty is null ? null : ReferenceNovelty.FromParameters(model.Novelty));

    /// <summary>True when the mixture is fitted per byte, so documents must come with their scored bytes.</summary>
    public bool NeedsBytes => GmmInputs.NeedsBytes(_features.Transform);

    /// <summary>Verdict for one document's statistics, or null when they cannot be placed (see <see cref="GmmInputs.Of(Statistics.LossStatistics, FeatureTransform)"/>).</summary>
    public LabelAssignment? Assign(Statistics.LossStatistics statistics) =>
        GmmInputs.Of(statistics, _features.Transform) is { } pair
            ? Judged(AssignPair(pair.First, pair.Second), Novelty is null ? null : ReferenceNovelty.Features(statistics))
            : null;

    /// <summary>Verdict for a stored score row, or null when it cannot be placed (non-finite statistics; under a per-byte
    /// mixture, a row without bytes). A per-token mixture places a row by its stored (mean, variance), as it always did.</summary>
    public LabelAssignment? Assign(StoredStatistics row)
    {
        var novelty = Novelty is null ? null : ReferenceNovelty.Features(row);
        if (GmmInputs.Of(row, _features.Transform) is { } pair)
            return Judged(AssignPair(pair.First, pair.Second), novelty);
        return !NeedsBytes && double.IsFinite(row.Mean) && double.IsFinite(row.Variance) && row.Variance >= 0
            ? Judged(AssignPair(row.Mean, row.Variance), novelty)
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

    /// <summary>The mixture's verdict under the novelty detector's decision (unchanged without a detector or features).</summary>
    private LabelAssignment Judged(LabelAssignment mixture, double[]? features)
    {
        if (Novelty is null || !Novelty.CanJudge(features)) return mixture;
        var (noisy, posterior) = Novelty.Judge(features);
        if (noisy) return mixture with { Label = SampleLabel.Noisy, Confidence = posterior };
        if (mixture.Label != SampleLabel.Noisy) return mixture;
        // Clean by the detector, in a component named noisy: the likelier clean label, its share of the clean mass.
        double easy = 0, hard = 0;
        for (var c = 0; c < mixture.Responsibilities.Length; c++)
        {
            if (_labelMap[c] == SampleLabel.Easy) easy += mixture.Responsibilities[c];
            else if (_labelMap[c] == SampleLabel.Hard) hard += mixture.Responsibilities[c];
        }
        if (easy + hard <= 0) return mixture with { Label = SampleLabel.Hard, Confidence = 0 };
        return easy >= hard
            ? mixture with { Label = SampleLabel.Easy, Confidence = easy / (easy + hard) }
            : mixture with { Label = SampleLabel.Hard, Confidence = hard / (easy + hard) };
    }
}
