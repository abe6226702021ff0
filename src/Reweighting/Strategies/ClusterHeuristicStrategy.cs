using Reweighting.Contracts;
using Reweighting.Gmm;

namespace Reweighting.Strategies;

/// <summary>The heuristic variant of Meta-EM (Snegha et al., "Model Uncertainty Based Reweighting for Robust
/// Convergence"): each sample is labelled by the GMM from its proxy statistics s_i = (loss mean, loss variance) and
/// weighted by where it lies relative to the batch's global point: hard exp(θ_i) + d_i, noisy exp(θ_i) − d_i, easy 1,
/// normalised over the batch.
/// <para>Precisely, with φ the labeller's <see cref="StatFeatures"/> (so distances are scale-free when the features are
/// standardised): x_i = φ(μ_i, σ²_i) with μ_i = <see cref="BatchScores.Losses"/>[i] and σ²_i =
/// <see cref="BatchScores.Variances"/>[i] (required); the global point is g = φ(mean_i μ_i, mean_i σ²_i), the batch's
/// mean statistics mapped like a sample (under log-variance that is the log of the mean variance, not the mean of the
/// log variances); d_i = ‖x_i − g‖₂; θ_i ∈ [0, π] is the unsigned angle in radians between x_i − g and the +loss-mean
/// axis, atan2(|Δ variance feature|, Δ loss mean), with θ = 0 for a sample at g. A negative raw weight (a noisy sample
/// with d_i &gt; exp(θ_i)) is floored at 0; w_i = raw_i / Σ raw, or 1/M when every raw weight is 0.</para>
/// <para>No 2/M cap: the paper's heuristic has none (the cap belongs to Meta-EM's learned weights), so
/// <see cref="BatchWeights.CapActive"/> is always false and <see cref="BatchWeights.MaxWeightTimesM"/> is logged to
/// show how far the heuristic concentrates the batch (a hard sample behind g can reach exp(π) + d ≈ 23 + d times an
/// easy one). The temperature is +∞ (no softmax).</para></summary>
public sealed class ClusterHeuristicStrategy(GmmLabeller labeller) : IWeightingStrategy
{
    public string Name => "cluster-heuristic";

    /// <summary>The labeller whose mixture, label map and feature map the weights come from.</summary>
    public GmmLabeller Labeller { get; } = labeller;

    public BatchWeights Weigh(BatchScores batch, StrategyState state)
    {
        batch.Validate();
        var variances = batch.Variances
            ?? throw new ArgumentException("the cluster-heuristic strategy needs each sample's loss variance (BatchScores.Variances)");
        if (variances.Any(v => !(v >= 0) || !double.IsFinite(v))) throw new ArgumentException("sample loss variances must be finite and non-negative");
        var m = batch.Size;

        Span<double> g = stackalloc double[StatFeatures.Dimensions];
        Labeller.Features.Apply(batch.Losses.Average(), variances.Average(), g);
        Span<double> x = stackalloc double[StatFeatures.Dimensions];
        var w = new double[m];
        for (var i = 0; i < m; i++)
        {
            Labeller.Features.Apply(batch.Losses[i], variances[i], x);
            double dMean = x[0] - g[0], dVariance = x[1] - g[1];
            var distance = Math.Sqrt(dMean * dMean + dVariance * dVariance);
            var angle = Math.Atan2(Math.Abs(dVariance), dMean); // [0, π]; atan2(0, 0) = 0 at the global point
            w[i] = RawWeight(Labeller.Assign(batch.Losses[i], variances[i]).Label, angle, distance);
        }

        var total = w.Sum();
        for (var i = 0; i < m; i++) w[i] = total > 0 ? w[i] / total : 1.0 / m;
        return new BatchWeights(w, double.PositiveInfinity, false);
    }

    /// <summary>The unnormalised weight of a sample with this label at this angle (radians) and distance from the
    /// global point: hard exp(θ) + d, noisy max(0, exp(θ) − d), easy 1.</summary>
    public static double RawWeight(SampleLabel label, double angle, double distance) => label switch
    {
        SampleLabel.Easy => 1,
        SampleLabel.Hard => Math.Exp(angle) + distance,
        SampleLabel.Noisy => Math.Max(0, Math.Exp(angle) - distance),
        _ => throw new ArgumentOutOfRangeException(nameof(label), label, "unknown label"),
    };
}
