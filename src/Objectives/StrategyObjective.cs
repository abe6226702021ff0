using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>Trains on sum_i a_i l_i with a_i = M w_i n_i from a weighting strategy (l_i a sequence's mean token loss,
/// n_i its share of the micro-batch's tokens). The strategy sees each sequence's loss mean and variance: from
/// <paramref name="statistics"/> when given (a proxy: meta-em, cluster-heuristic), otherwise from the training model's
/// own detached losses (Sow et al.'s strategies weigh the model's current losses).</summary>
public sealed class StrategyObjective(IWeightingStrategy strategy, ISampleStatisticsSource? statistics = null) : ITrainingObjective
{
    private readonly WeightSummary _summary = new();

    public IWeightingStrategy Strategy { get; } = strategy;

    /// <summary>Called with every micro-batch's weights (for evaluations that look at where the weight went).</summary>
    public Action<MicroBatch, BatchWeights>? WeightsObserved { get; init; }

    /// <summary>Statistics computed ahead for micro-batches (by a meta-update), keyed by micro-batch index; consumed once.</summary>
    internal Dictionary<int, SampleStats> Prepared { get; } = new();

    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        var tokenLosses = model.TokenLosses(batch.Ids, batch.Targets); // (B, T)
        var perSample = tokenLosses.Mean(1);
        var stats = StatisticsOf(batch, tokenLosses);
        var counts = Enumerable.Repeat(batch.Targets.Size(1), stats.Means.Length).ToArray();
        var weights = Strategy.Weigh(new BatchScores(stats.Means, counts, stats.Variances), new StrategyState(batch.Step));
        _summary.Add(weights);
        WeightsObserved?.Invoke(batch, weights);
        var a = weights.LossCoefficients(counts);
        var coefficients = FromSpan<float>(a.Select(c => (float)c).ToArray(), [a.Length], perSample.Device);
        return new ObjectiveValue((perSample * coefficients).Sum(), tokenLosses.Mean());
    }

    /// <summary>The statistics the strategy weighs for a micro-batch.</summary>
    public SampleStats StatisticsOf(MicroBatch batch, Tensor? tokenLosses = null)
    {
        if (Prepared.Remove(batch.Index, out var prepared)) return prepared;
        if (statistics is not null) return statistics.Compute(batch.Ids, batch.Targets);
        return tokenLosses is not null ? ProxyStatistics.Of(tokenLosses) : throw new InvalidOperationException("no statistics source and no token losses");
    }

    public string? TakeSummary() => _summary.Take();
}

/// <summary>What the weights did since the last progress line: the temperature, the largest M·w_i, how many
/// batches the 2/M bound clipped.</summary>
public sealed class WeightSummary
{
    private double _maxWeightTimesM;
    private double _temperature = double.PositiveInfinity;
    private int _capped;
    private int _batches;

    public void Add(BatchWeights w)
    {
        _maxWeightTimesM = Math.Max(_maxWeightTimesM, w.MaxWeightTimesM);
        _temperature = w.Temperature;
        if (w.CapActive) _capped++;
        _batches++;
    }

    /// <summary>"r …  max w·M …  capped …" for the progress line; resets the counts.</summary>
    public string? Take()
    {
        if (_batches == 0) return null;
        var text = $"r {(double.IsPositiveInfinity(_temperature) ? "inf" : _temperature.ToString("F2"))}  max w·M {_maxWeightTimesM:F2}  capped {_capped}/{_batches} batches";
        _maxWeightTimesM = 0;
        _capped = 0;
        _batches = 0;
        return text;
    }
}
