using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>A Gaussian mixture with full covariances, ready to evaluate: log-likelihoods and responsibilities
/// (predict_proba) computed in log space, with each covariance held as its Cholesky factor.</summary>
public sealed class GaussianMixture
{
    private readonly double[] _logWeights;          // (K)
    private readonly double[][] _means;             // (K, D)
    private readonly CholeskyFactor[] _covariances; // K factors of (D, D)
    private readonly double[] _logNormalisers;      // (K) -0.5 (D log 2pi + log det Sigma_k)

    /// <summary>Number of components K.</summary>
    public int Components => _means.Length;

    /// <summary>Number of features D.</summary>
    public int Dimensions { get; }

    /// <summary>Builds the mixture; weights must be positive and sum to 1, covariances symmetric positive-definite.</summary>
    public GaussianMixture(double[] weights, double[][] means, double[][][] covariances)
    {
        var k = weights.Length;
        if (k == 0) throw new ArgumentException("a mixture needs at least one component");
        if (means.Length != k || covariances.Length != k)
            throw new ArgumentException($"{k} weights but {means.Length} means and {covariances.Length} covariances");
        Dimensions = means[0].Length;
        if (Dimensions == 0 || means.Any(m => m.Length != Dimensions) || covariances.Any(c => c.Length != Dimensions))
            throw new ArgumentException($"every mean and covariance must have {Dimensions} dimensions");
        if (weights.Any(w => !(w > 0) || !double.IsFinite(w)) || Math.Abs(weights.Sum() - 1) > 1e-6)
            throw new ArgumentException("weights must be positive and sum to 1");

        _logWeights = weights.Select(w => Math.Log(w)).ToArray();
        _means = means.Select(m => m.ToArray()).ToArray();
        _covariances = new CholeskyFactor[k];
        _logNormalisers = new double[k];
        for (var c = 0; c < k; c++)
        {
            try
            {
                _covariances[c] = CholeskyFactor.Decompose(covariances[c]);
            }
            catch (ArgumentException ex)
            {
                throw new ArgumentException($"component {c}: {ex.Message}", ex);
            }
            _logNormalisers[c] = -0.5 * (Dimensions * Math.Log(2 * Math.PI) + _covariances[c].LogDeterminant);
        }
    }

    /// <summary>Builds the mixture from its stored form.</summary>
    public static GaussianMixture FromParameters(GmmParameters parameters) =>
        new(parameters.Weights, parameters.Means, parameters.Covariances);

    /// <summary>Mean of component <paramref name="component"/> (feature space).</summary>
    public ReadOnlySpan<double> Mean(int component) => _means[component];

    /// <summary>log pi_k + log N(x | mu_k, Sigma_k) for every component k.</summary>
    public void LogJoint(ReadOnlySpan<double> x, Span<double> destination)
    {
        CheckPoint(x);
        for (var c = 0; c < Components; c++)
            destination[c] = _logWeights[c] + _logNormalisers[c] - 0.5 * _covariances[c].SquaredMahalanobis(x, _means[c]);
    }

    /// <summary>log p(x) = log sum_k pi_k N(x | mu_k, Sigma_k).</summary>
    public double LogLikelihood(ReadOnlySpan<double> x)
    {
        Span<double> joint = stackalloc double[Components];
        LogJoint(x, joint);
        return LogMath.LogSumExp(joint);
    }

    /// <summary>Responsibilities gamma_k = p(k | x), written to <paramref name="destination"/> (length K); they sum to 1
    /// even for points far from every component, where the densities themselves underflow.</summary>
    public void PredictProba(ReadOnlySpan<double> x, Span<double> destination)
    {
        LogJoint(x, destination);
        var logNorm = LogMath.LogSumExp(destination);
        for (var c = 0; c < Components; c++) destination[c] = Math.Exp(destination[c] - logNorm);
    }

    /// <summary>Responsibilities of one point as a new array.</summary>
    public double[] PredictProba(ReadOnlySpan<double> x)
    {
        var result = new double[Components];
        PredictProba(x, result);
        return result;
    }

    private void CheckPoint(ReadOnlySpan<double> x)
    {
        if (x.Length != Dimensions) throw new ArgumentException($"expected {Dimensions} features, got {x.Length}");
    }
}
