using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Reweighting.Contracts;
using Reweighting.Storage.Writing;

namespace Reweighting.Trainer.Recording;

/// <summary>Writes training_runs, training_metrics and cluster_parameters (infra/sql/V001__schema.sql) with Npgsql, each
/// call one statement (or one transaction) inside the Polly retry pipeline of transient database failures.</summary>
public sealed class TrainingRunStore(NpgsqlDataSource dataSource, WriteRetryOptions? retry = null, ILogger<TrainingRunStore>? logger = null) : ITrainingRecorder
{
    private readonly ResiliencePipeline pipeline = (retry ?? new WriteRetryOptions()).BuildPipeline(logger ?? (ILogger)NullLogger.Instance);

    public Task StartRunAsync(string runId, string model, string strategy, string configJson, CancellationToken ct = default) =>
        pipeline.ExecuteAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand("""
                INSERT INTO training_runs (run_id, model, strategy, config, status)
                VALUES ($1, $2, $3, $4, 'running')
                ON CONFLICT (run_id) DO UPDATE SET status = 'running', finished_at = NULL, config = EXCLUDED.config
                """);
            cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = model });
            cmd.Parameters.Add(new NpgsqlParameter { Value = strategy });
            cmd.Parameters.Add(new NpgsqlParameter { Value = configJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
            await cmd.ExecuteNonQueryAsync(token);
        }, ct).AsTask();

    public Task RecordMetricsAsync(string runId, IReadOnlyList<MetricValue> metrics, CancellationToken ct = default)
    {
        if (metrics.Count == 0) return Task.CompletedTask;
        var steps = metrics.Select(m => m.Step).ToArray();
        var names = metrics.Select(m => m.Name).ToArray();
        var values = metrics.Select(m => m.Value).ToArray();
        return pipeline.ExecuteAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand("""
                INSERT INTO training_metrics (run_id, step, name, value)
                SELECT $1, s, n, v FROM unnest($2::bigint[], $3::text[], $4::double precision[]) AS m(s, n, v)
                ON CONFLICT (run_id, name, step) DO UPDATE SET value = EXCLUDED.value, recorded_at = now()
                """);
            cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = steps });
            cmd.Parameters.Add(new NpgsqlParameter { Value = names });
            cmd.Parameters.Add(new NpgsqlParameter { Value = values });
            await cmd.ExecuteNonQueryAsync(token);
        }, ct).AsTask();
    }

    public Task RecordClusterParametersAsync(ClusterParameters parameters, CancellationToken ct = default)
    {
        var k = parameters.Centres.Length;
        var d = k == 0 ? 0 : parameters.Centres[0].Length;
        var centres = new double[k, d];
        for (var i = 0; i < k; i++)
            for (var j = 0; j < d; j++) centres[i, j] = parameters.Centres[i][j];
        var source = parameters.Source == ClusterParameterSource.GmmInit ? "gmm-init" : "meta";
        return pipeline.ExecuteAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand("""
                INSERT INTO cluster_parameters (run_id, step, source, centres, lambdas, pis)
                VALUES ($1, $2, $3::cluster_param_source, $4, $5, $6)
                ON CONFLICT (run_id, step, source) DO UPDATE
                SET centres = EXCLUDED.centres, lambdas = EXCLUDED.lambdas, pis = EXCLUDED.pis, recorded_at = now()
                """);
            cmd.Parameters.Add(new NpgsqlParameter { Value = parameters.RunId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = parameters.Step });
            cmd.Parameters.Add(new NpgsqlParameter { Value = source });
            cmd.Parameters.Add(new NpgsqlParameter { Value = centres });
            cmd.Parameters.Add(new NpgsqlParameter { Value = parameters.Lambdas });
            cmd.Parameters.Add(new NpgsqlParameter { Value = parameters.Pis });
            await cmd.ExecuteNonQueryAsync(token);
        }, ct).AsTask();
    }

    public Task FinishRunAsync(string runId, bool failed, CancellationToken ct = default) =>
        pipeline.ExecuteAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand("UPDATE training_runs SET status = $2, finished_at = now() WHERE run_id = $1");
            cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
            cmd.Parameters.Add(new NpgsqlParameter { Value = failed ? "failed" : "finished" });
            await cmd.ExecuteNonQueryAsync(token);
        }, ct).AsTask();
}
