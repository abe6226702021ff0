using System.Runtime.CompilerServices;
using Reweighting.Torch;
using Reweighting.Objectives;

namespace Reweighting.Trainer.Streaming;

/// <summary>The scorer's statistics of each training sequence, as a statistics source for meta-em and
/// cluster-heuristic: the trainer registers every micro-batch's statistics (from the scored batches it packed) before
/// the step, and the objective looks them up by the micro-batch's token tensor instead of running a proxy.</summary>
public sealed class ScoredSequenceStatistics : ISampleStatisticsSource
{
    private readonly ConditionalWeakTable<Tensor, StatsBox> _registered = new();

    private sealed record StatsBox(SampleStats Stats);

    /// <summary>Registers the statistics of the micro-batch whose input ids are <paramref name="ids"/>.</summary>
    public void Register(Tensor ids, SampleStats stats)
    {
        if (stats.Means.Length != ids.Size(0))
            throw new ArgumentException($"{stats.Means.Length} statistics for a micro-batch of {ids.Size(0)} sequences");
        _registered.AddOrUpdate(ids, new StatsBox(stats));
    }

    /// <summary>Forgets every registration (after a step).</summary>
    public void Clear() => _registered.Clear();

    public SampleStats Compute(Tensor ids, Tensor targets) =>
        _registered.TryGetValue(ids, out var box)
            ? box.Stats
            : throw new InvalidOperationException("no scorer statistics were registered for this micro-batch (the streaming trainer registers them before each step)");
}
