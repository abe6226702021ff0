using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Turns a document's statistics (loss mean, loss variance) into the feature vector a GMM was fitted on:
/// the transform, then optional standardisation.</summary>
public sealed class StatFeatures
{
    /// <summary>Variances are floored here before a log, so a document of identical token losses stays finite.</summary>
    public const double VarianceFloor = 1e-12;

    private readonly FeatureTransform _transform;

    /// <summary>The transform of this map.</summary>
    public FeatureTransform Transform => _transform;
    private readonly double[]? _mean;
    private readonly double[]? _std;

    /// <summary>Features per document: always 2, (loss mean, transformed variance).</summary>
    public const int Dimensions = 2;

    public StatFeatures(FeatureTransform transform, double[]? standardizeMean = null, double[]? standardizeStd = null)
    {
        if ((standardizeMean is null) != (standardizeStd is null))
            throw new ArgumentException("standardisation needs both a mean and a standard deviation");
        if (standardizeMean is not null && (standardizeMean.Length != Dimensions || standardizeStd!.Length != Dimensions))
            throw new ArgumentException($"standardisation vectors must have {Dimensions} entries");
        if (standardizeStd is not null && standardizeStd.Any(s => !(s > 0)))
            throw new ArgumentException("standardisation deviations must be positive");
        _transform = transform;
        _mean = standardizeMean;
        _std = standardizeStd;
    }

    /// <summary>The feature map a stored GMM was fitted with.</summary>
    public static StatFeatures FromParameters(GmmParameters p) => new(p.Transform, p.StandardizeMean, p.StandardizeStd);

    /// <summary>Writes the features of a document's pair to <paramref name="destination"/> (length 2): (loss mean, loss
    /// variance), or for <see cref="FeatureTransform.PerByte"/> (loss per byte, bytes per token) as
    /// <see cref="GmmInputs.Of(Statistics.LossStatistics, FeatureTransform)"/> gives it.</summary>
    public void Apply(double lossMean, double lossVariance, Span<double> destination)
    {
        destination[0] = lossMean;
        destination[1] = _transform switch
        {
            FeatureTransform.Raw => lossVariance,
            FeatureTransform.LogVariance => Math.Log(Math.Max(lossVariance, VarianceFloor)),
            FeatureTransform.PerByte => lossVariance, // the pair is (loss per byte, bytes per token): see GmmInputs
            _ => throw new ArgumentOutOfRangeException(nameof(lossVariance), _transform, "unknown feature transform"),
        };
        if (_mean is null) return;
        for (var i = 0; i < Dimensions; i++) destination[i] = (destination[i] - _mean[i]) / _std![i];
    }
}
