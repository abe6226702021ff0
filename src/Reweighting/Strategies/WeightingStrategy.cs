namespace Reweighting.Strategies;

/// <summary>What a strategy sees of one training batch: each sample's mean token loss and token count (and, for the
/// statistics-based strategies, its loss variance).</summary>
public sealed record BatchScores(double[] Losses, long[] TokenCounts, double[]? Variances = null)
{
    public int Size => Losses.Length;

    public BatchScores Validate()
    {
        if (Losses.Length == 0) throw new ArgumentException("a batch needs at least one sample");
        if (TokenCounts.Length != Losses.Length || (Variances is not null && Variances.Length != Losses.Length))
            throw new ArgumentException("losses, token counts and variances must have one entry per sample");
        if (Losses.Any(l => !double.IsFinite(l))) throw new ArgumentException("sample losses must be finite");
        if (TokenCounts.Any(n => n < 0) || TokenCounts.Sum() == 0) throw new ArgumentException("token counts must be non-negative with a positive total");
        return this;
    }
}

/// <summary>Per-sample weights of one batch (summing to 1) with what is logged about them.</summary>
/// <param name="Weights">w_i, non-negative, summing to 1.</param>
/// <param name="Temperature">The softmax temperature used (infinity for uniform).</param>
/// <param name="CapActive">Whether the 2/M bound had to clip a weight.</param>
public sealed record BatchWeights(double[] Weights, double Temperature, bool CapActive)
{
    /// <summary>M · max w_i: 1 for uniform weights, at most 2 under the bound.</summary>
    public double MaxWeightTimesM => Weights.Max() * Weights.Length;

    /// <summary>Coefficients a_i of the batch loss sum_i a_i l_i (l_i a sample's mean token loss):
    /// a_i = M w_i n_i with n_i the sample's share of the batch's tokens, so uniform weights give the token mean.</summary>
    public double[] LossCoefficients(long[] tokenCounts)
    {
        double total = tokenCounts.Sum();
        var m = Weights.Length;
        return Weights.Select((w, i) => m * w * tokenCounts[i] / total).ToArray();
    }
}

/// <summary>The training step a strategy is asked about (strategies are pure functions of a batch and this state).</summary>
public readonly record struct StrategyState(long Step);

/// <summary>Turns a batch's scores into per-sample weights.</summary>
public interface IWeightingStrategy
{
    string Name { get; }

    BatchWeights Weigh(BatchScores batch, StrategyState state);
}

/// <summary>Every sample weighs 1/M: ordinary training.</summary>
public sealed class UniformStrategy : IWeightingStrategy
{
    public string Name => "uniform";

    public BatchWeights Weigh(BatchScores batch, StrategyState state)
    {
        batch.Validate();
        return new BatchWeights(Enumerable.Repeat(1.0 / batch.Size, batch.Size).ToArray(), double.PositiveInfinity, false);
    }
}
