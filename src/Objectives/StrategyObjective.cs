using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>Trains on sum_i a_i l_i with a_i = M w_i n_i from a weighting strategy (l_i a sequence's mean token loss,
/// n_i its share of the step's tokens). The strategy sees each sequence's loss mean and variance: from
/// <paramref name="statistics"/> when given (a proxy: meta-em, cluster-heuristic), otherwise from the training model's
/// own detached losses (Sow et al.'s strategies weigh the model's current losses).</summary>
/// <remarks>The weights cover the whole optimiser step, as Sow et al. normalise them: under gradient accumulation the
/// softmax, the 2/M bound and the token shares span every micro-batch of the step (M = micro-batches × sequences), so
/// 4 micro-batches of 4 give the update 1 of 16 gives. With one micro-batch the training forward pass supplies the
/// losses; with several, a strategy that weighs the model's own losses needs them before the first micro-batch's
/// backward pass, so <see cref="BeginStep"/> runs one forward pass without gradients (in evaluation mode) over the step.
/// A strategy with a statistics source needs no such pass.</remarks>
public sealed class StrategyObjective(IWeightingStrategy strategy, ISampleStatisticsSource? statistics = null) : ITrainingObjective
{
    private readonly WeightSummary _summary = new();
    private readonly Dictionary<int, double[]> _stepCoefficients = new(); // micro-batch index → its a_i, times the accumulation

    public IWeightingStrategy Strategy { get; } = strategy;

    /// <summary>The data-parallel group (null: one process). The weights then cover the global batch: every rank's
    /// statistics are all-gathered (<see cref="GlobalBatch.Gather(ProcessGroup, BatchScores)"/>) before the strategy weighs them,
    /// so the softmax, the 2/M bound and the token shares use the global M, and each rank keeps its own slice, scaled by the world size
    /// because the trainer averages the ranks' gradients.</summary>
    public ProcessGroup? Group { get; init; }

    /// <summary>Called with every micro-batch's weights (for evaluations that look at where the weight went).</summary>
    public Action<MicroBatch, BatchWeights>? WeightsObserved { get; init; }

    /// <summary>With several micro-batches, or a statistics source, weighs the whole step at once.</summary>
    public void BeginStep(GptModel model, StepContext step)
    {
        _stepCoefficients.Clear();
        // One micro-batch weighs itself in Compute, from the forward pass that trains.
        if (step.MicroBatches.Count == 1 && statistics is null) return;
        var stats = new List<SampleStats>(step.MicroBatches.Count);
        foreach (var b in step.MicroBatches)
        {
            if (statistics is not null) stats.Add(statistics.Compute(b));
            else
            {
                using var scope = DisposeScope.Open();
                stats.Add(ProxyStatistics.Of(OwnLosses(model, b)));
            }
        }
        PrepareStep(step, stats);
    }

    /// <summary>Weighs every sequence of the step from its statistics (one entry per micro-batch, in order) and keeps each
    /// micro-batch's coefficients for <see cref="Compute"/>: micro-batch j's objective is A·sum_{i in j} a_i l_i, so the
    /// trainer's division by the accumulation count A leaves sum_i a_i l_i over the step.</summary>
    internal void PrepareStep(StepContext step, IReadOnlyList<SampleStats> stats)
    {
        _stepCoefficients.Clear();
        var batches = step.MicroBatches;
        var scores = Global(StepScores(step, stats));
        var weights = Strategy.Weigh(scores, new StrategyState(step.Step));
        _summary.Add(weights);
        WeightsObserved?.Invoke(batches[0], weights); // the step's sequences in order (every rank's, in rank order)
        var a = LocalCoefficients(weights, scores.TokenCounts);
        var offset = 0;
        foreach (var b in batches)
        {
            var rows = (int)b.Targets.Size(0);
            _stepCoefficients[b.Index] = [.. a.Skip(offset).Take(rows).Select(c => c * batches.Count)];
            offset += rows;
        }
    }

    /// <summary>The batch the strategy weighs: this rank's, or under data parallelism every rank's in rank order.</summary>
    private BatchScores Global(BatchScores local) => Group is { WorldSize: > 1 } group ? GlobalBatch.Gather(group, local) : local;

    /// <summary>This rank's a_i = M w_i n_i from the weights of the batch <see cref="Global"/> returned (its token counts), times
    /// the world size (the ranks' gradients are averaged, and the objective is their sum).</summary>
    private double[] LocalCoefficients(BatchWeights weights, long[] counts)
    {
        var a = weights.LossCoefficients(counts);
        return Group is { WorldSize: > 1 } group ? [.. GlobalBatch.Local(group, a).Select(c => c * group.WorldSize)] : a;
    }

    /// <summary>Every sequence of the step as one batch: the micro-batches' statistics in order, each sequence counting its
    /// target tokens. What the weights of a step, and meta-em's meta-gradient through them, are computed over.</summary>
    public static BatchScores StepScores(StepContext step, IReadOnlyList<SampleStats> stats) => new(
        [.. stats.SelectMany(s => s.Means)],
        [.. step.MicroBatches.SelectMany(b => Enumerable.Repeat(b.Targets.Size(1), (int)b.Targets.Size(0)))],
        [.. stats.SelectMany(s => s.Variances)]);

    private static Tensor OwnLosses(GptModel model, MicroBatch batch)
    {
        using var noGrad = NoGrad();
        var wasTraining = model.IsTraining;
        model.Eval();
        try
        {
            return model.TokenLosses(batch.Ids, batch.Targets);
        }
        finally
        {
            model.Train(wasTraining);
        }
    }

    public ObjectiveValue Compute(GptModel model, MicroBatch batch)
    {
        var tokenLosses = model.TokenLosses(batch.Ids, batch.Targets); // (B, T)
        var perSample = tokenLosses.Mean(1);
        if (_stepCoefficients.Remove(batch.Index, out var prepared))
        {
            var c = FromSpan<float>(prepared.Select(v => (float)v).ToArray(), [prepared.Length], perSample.Device);
            return new ObjectiveValue((perSample * c).Sum(), tokenLosses.Mean());
        }
        var stats = StatisticsOf(batch, tokenLosses);
        var counts = Enumerable.Repeat(batch.Targets.Size(1), stats.Means.Length).ToArray();
        var scores = Global(new BatchScores(stats.Means, counts, stats.Variances));
        var weights = Strategy.Weigh(scores, new StrategyState(batch.Step));
        _summary.Add(weights);
        WeightsObserved?.Invoke(batch, weights);
        var a = LocalCoefficients(weights, scores.TokenCounts);
        var coefficients = FromSpan<float>(a.Select(c => (float)c).ToArray(), [a.Length], perSample.Device);
        return new ObjectiveValue((perSample * coefficients).Sum(), tokenLosses.Mean());
    }

    /// <summary>The statistics the strategy weighs for a micro-batch.</summary>
    public SampleStats StatisticsOf(MicroBatch batch, Tensor? tokenLosses = null)
    {
        if (statistics is not null) return statistics.Compute(batch);
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
