using Reweighting.Contracts;

namespace Reweighting.Trainer.Recording;

/// <summary>One metric value of a run at a step (loss, lr, grad_norm, tokens_per_s, valid_loss, ...).</summary>
public readonly record struct MetricValue(long Step, string Name, double Value);

/// <summary>Where the trainer records its run, metrics and phi history. Every write is idempotent, because a resumed run
/// repeats the steps after its last checkpoint and records them again.</summary>
public interface ITrainingRecorder
{
    /// <summary>Records the run as running (inserted, or marked running again on resume).</summary>
    Task StartRunAsync(string runId, string model, string strategy, string configJson, CancellationToken ct = default);

    /// <summary>Records metric values (a repeated (run, name, step) overwrites).</summary>
    Task RecordMetricsAsync(string runId, IReadOnlyList<MetricValue> metrics, CancellationToken ct = default);

    /// <summary>Records phi at a step (a repeated (run, step, source) overwrites).</summary>
    Task RecordClusterParametersAsync(ClusterParameters parameters, CancellationToken ct = default);

    /// <summary>Marks the run finished or failed.</summary>
    Task FinishRunAsync(string runId, bool failed, CancellationToken ct = default);
}

/// <summary>Records nothing (a run without a database).</summary>
public sealed class NullTrainingRecorder : ITrainingRecorder
{
    public static NullTrainingRecorder Instance { get; } = new();

    public Task StartRunAsync(string runId, string model, string strategy, string configJson, CancellationToken ct = default) => Task.CompletedTask;
    public Task RecordMetricsAsync(string runId, IReadOnlyList<MetricValue> metrics, CancellationToken ct = default) => Task.CompletedTask;
    public Task RecordClusterParametersAsync(ClusterParameters parameters, CancellationToken ct = default) => Task.CompletedTask;
    public Task FinishRunAsync(string runId, bool failed, CancellationToken ct = default) => Task.CompletedTask;
}
