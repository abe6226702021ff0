namespace Reweighting.Contracts;

/// <summary>How per-document statistics (loss mean, loss variance) become GMM features.</summary>
public enum FeatureTransform
{
    /// <summary>Features are (mean, variance) as measured.</summary>
    Raw,

    /// <summary>Features are (mean, ln variance); variance spans orders of magnitude, its log is closer to Gaussian.</summary>
    LogVariance,

    /// <summary>Features are (loss per byte, bytes per token): the document's summed token loss over the UTF-8 bytes its
    /// scored tokens cover, and those bytes over the scored tokens. Independent of how finely the tokenizer cuts the text;
    /// needs the scored bytes.</summary>
    PerByte,
}

/// <summary>A fitted Gaussian mixture over document statistics: everything needed to recompute responsibilities.</summary>
/// <param name="Weights">Mixing weights pi_k, length K, summing to 1.</param>
/// <param name="Means">Component means, K rows of D features (after transform and standardisation).</param>
/// <param name="Covariances">Full covariance matrices, K matrices of D x D.</param>
/// <param name="Transform">The feature transform applied to (mean, variance) before the mixture sees it.</param>
/// <param name="StandardizeMean">Per-feature mean subtracted after the transform, or null for none.</param>
/// <param name="StandardizeStd">Per-feature standard deviation divided by after the transform, or null for none.</param>
public sealed record GmmParameters(
    double[] Weights,
    double[][] Means,
    double[][][] Covariances,
    FeatureTransform Transform,
    double[]? StandardizeMean = null,
    double[]? StandardizeStd = null)
{
    /// <summary>Number of components K.</summary>
    public int Components => Weights.Length;

    /// <summary>Number of features D.</summary>
    public int Dimensions => Means.Length == 0 ? 0 : Means[0].Length;
}

/// <summary>One stored GMM version: its parameters, which label each component carries, and how it was fitted.</summary>
/// <param name="Version">Version number, increasing with every fit.</param>
/// <param name="ScorerModel">The proxy model whose statistics it was fitted on.</param>
/// <param name="Parameters">The mixture itself.</param>
/// <param name="LabelMap">Label of each component, length K.</param>
/// <param name="SampleCount">Statistics the fit used.</param>
/// <param name="LogLikelihood">Mean log-likelihood of the fit sample.</param>
/// <param name="FittedAt">When the fit finished.</param>
/// <param name="Novelty">The document-level detector fitted against a clean reference with this version, or null: when
/// present, it alone decides which documents are noisy (see the labeller).</param>
public sealed record GmmModel(
    int Version,
    string ScorerModel,
    GmmParameters Parameters,
    SampleLabel[] LabelMap,
    long SampleCount,
    double LogLikelihood,
    DateTimeOffset FittedAt,
    NoveltyParameters? Novelty = null)
{
    /// <summary>"easy 40%, hard 35%, noisy 25%": each component's label and weight, for logs.</summary>
    public string DescribeComponents() =>
        string.Join(", ", LabelMap.Select((label, c) => $"{label.ToWire()} {Parameters.Weights[c]:P0}"));
}
