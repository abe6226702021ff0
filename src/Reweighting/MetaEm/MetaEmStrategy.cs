using Reweighting.Gmm;
using Reweighting.Strategies;

namespace Reweighting.MetaEm;

/// <summary>Meta-EM weights as a strategy: a pure function of a batch's proxy statistics (loss means in
/// <see cref="BatchScores.Losses"/>, variances in <see cref="BatchScores.Variances"/>) and the current phi, mapped
/// into the GMM's feature space by <paramref name="features"/>. The meta-update that moves phi lives in the training
/// objective, `MetaEmObjective` (same namespace, in the Objectives project, beside its meta-gradient); here phi is
/// explicit state.</summary>
public sealed class MetaEmStrategy(ClusterPhi phi, StatFeatures features) : IWeightingStrategy
{
    public string Name => "meta-em";

    /// <summary>The cluster parameters in use.</summary>
    public ClusterPhi Phi { get; set; } = phi;

    public StatFeatures Features { get; } = features;

    public BatchWeights Weigh(BatchScores batch, StrategyState state)
    {
        var weights = Phi.Weigh(FeaturesOf(batch));
        return new BatchWeights(weights.Weights, double.PositiveInfinity, weights.CapActive);
    }

    /// <summary>The batch's feature rows (M × D).</summary>
    public double[] FeaturesOf(BatchScores batch)
    {
        batch.Validate();
        if (batch.Variances is null) throw new ArgumentException("meta-em weighs (loss mean, loss variance) statistics: the batch has no variances");
        var x = new double[batch.Size * StatFeatures.Dimensions];
        for (var i = 0; i < batch.Size; i++) Features.Apply(batch.Losses[i], batch.Variances[i], x.AsSpan(i * StatFeatures.Dimensions, StatFeatures.Dimensions));
        return x;
    }
}
