using Reweighting.Strategies;

namespace Reweighting.Evaluation;

/// <summary>Where a run's sample weights went, over all its batches.</summary>
/// <param name="MaxWeightTimesM">The largest M·w_i of any batch (1 for uniform weights).</param>
/// <param name="MeanEntropy">The weights' entropy over ln M, averaged over batches (1 for uniform weights).</param>
/// <param name="NoisyWeightShare">The weight on noisy data, averaged over batches; NaN when noise was not tracked.</param>
/// <param name="CleanEffectiveShare">How evenly the clean samples (no noisy token) share their weight: per batch
/// (sum w)² / (n sum w²) over its n clean samples, averaged over batches; 1 when every clean sample weighs the same.
/// NaN when noise was not tracked.</param>
public sealed record WeightSummary(double MaxWeightTimesM, double MeanEntropy, double NoisyWeightShare,
    double CleanEffectiveShare = double.NaN);

/// <summary>Accumulates, over a run's batches, the largest M·w_i, the normalised entropy of the weights and the share
/// of weight on noisy data (each sample counting by the fraction of its tokens that are noisy).</summary>
public sealed class WeightStatistics
{
    private double _maxWeightTimesM, _entropy, _noisyShare, _cleanEffective;
    private int _cleanBatches;
    private bool _noiseTracked;

    /// <summary>Batches observed so far.</summary>
    public int Batches { get; private set; }

    /// <summary>Adds one batch's weights. <paramref name="noisyFraction"/> gives sample i's fraction of noisy tokens,
    /// in [0, 1]; null when the data carries no noise labels.</summary>
    public void Observe(BatchWeights weights, Func<int, double>? noisyFraction = null)
    {
        var w = weights.Weights;
        _maxWeightTimesM = Math.Max(_maxWeightTimesM, weights.MaxWeightTimesM);
        _entropy += w.Length > 1 ? -w.Where(v => v > 0).Sum(v => v * Math.Log(v)) / Math.Log(w.Length) : 1;
        if (noisyFraction is not null)
        {
            _noiseTracked = true;
            double sum = 0, squares = 0;
            var clean = 0;
            for (var i = 0; i < w.Length; i++)
            {
                var noisy = noisyFraction(i);
                _noisyShare += w[i] * noisy;
                if (noisy > 0) continue;
                clean++;
                sum += w[i];
                squares += w[i] * w[i];
            }
            if (clean > 0 && squares > 0)
            {
                _cleanEffective += sum * sum / (clean * squares);
                _cleanBatches++;
            }
        }
        Batches++;
    }

    /// <summary>The summary of the batches observed, or null before the first.</summary>
    public WeightSummary? Summary() => Batches == 0
        ? null
        : new WeightSummary(_maxWeightTimesM, _entropy / Batches, _noiseTracked ? _noisyShare / Batches : double.NaN,
            _cleanBatches > 0 ? _cleanEffective / _cleanBatches : double.NaN);
}
