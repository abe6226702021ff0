using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Polly;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;

namespace Reweighting.Trainer.Recording;

/// <summary>Records the run in PostgreSQL through <see cref="TrainingRunQueries"/> (training_runs, training_metrics,
/// cluster_parameters), each call inside the Polly retry pipeline of transient database failures.</summary>
public sealed class TrainingRunStore(NpgsqlDataSource dataSource, WriteRetryOptions? retry = null, ILogger<TrainingRunStore>? logger = null) : ITrainingRecorder
{
    private readonly TrainingRunQueries _queries = new(dataSource);
    private readonly ResiliencePipeline _pipeline = (retry ?? new WriteRetryOptions()).BuildPipeline(logger ?? (ILogger)NullLogger.Instance);

    public Task StartRunAsync(string runId, string model, string strategy, string configJson, CancellationToken ct = default) =>
        _pipeline.ExecuteAsync(token => new ValueTask(_queries.StartRunAsync(runId, model, strategy, configJson, token)), ct).AsTask();

    public Task RecordMetricsAsync(string runId, IReadOnlyList<MetricValue> metrics, CancellationToken ct = default)
    {
        if (metrics.Count == 0) return Task.CompletedTask;
        var steps = metrics.Select(m => m.Step).ToArray();
        var names = metrics.Select(m => m.Name).ToArray();
        var values = metrics.Select(m => m.Value).ToArray();
        return _pipeline.ExecuteAsync(token => new ValueTask(_queries.RecordMetricsAsync(runId, steps, names, values, token)), ct).AsTask();
    }

    public Task RecordClusterParametersAsync(ClusterParameters parameters, CancellationToken ct = default) =>
        _pipeline.ExecuteAsync(token => new ValueTask(_queries.RecordClusterParametersAsync(parameters, token)), ct).AsTask();

    public Task FinishRunAsync(string runId, bool failed, CancellationToken ct = default) =>
        _pipeline.ExecuteAsync(token => new ValueTask(_queries.FinishRunAsync(runId, failed, token)), ct).AsTask();
}
