using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>Writes a training run's rows: <c>training_runs</c>, <c>training_metrics</c> and <c>cluster_parameters</c>
/// (infra/sql/V001__schema.sql), each call one statement. Every write is an upsert, because a resumed run repeats the
/// steps after its last checkpoint and records them again; retrying transient failures is the caller's.</summary>
public sealed class TrainingRunQueries(NpgsqlDataSource dataSource)
{
    /// <summary>Inserts the run as running, or marks an existing one running again (a resume) with the new config.</summary>
    public async Task StartRunAsync(string runId, string model, string strategy, string configJson, CancellationToken ct = default)
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
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Upserts metric values, one row per (run, name, step), in one statement; the three arrays are columns.</summary>
    public async Task RecordMetricsAsync(string runId, long[] steps, string[] names, double[] values, CancellationToken ct = default)
    {
        if (steps.Length != names.Length || steps.Length != values.Length)
            throw new ArgumentException($"metric columns differ in length: {steps.Length} steps, {names.Length} names, {values.Length} values");
        if (steps.Length == 0) return;
        await using var cmd = dataSource.CreateCommand("""
            INSERT INTO training_metrics (run_id, step, name, value)
            SELECT $1, s, n, v FROM unnest($2::bigint[], $3::text[], $4::double precision[]) AS m(s, n, v)
            ON CONFLICT (run_id, name, step) DO UPDATE SET value = EXCLUDED.value, recorded_at = now()
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = steps });
        cmd.Parameters.Add(new NpgsqlParameter { Value = names });
        cmd.Parameters.Add(new NpgsqlParameter { Value = values });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Upserts phi at a step, one row per (run, step, source).</summary>
    public async Task RecordClusterParametersAsync(ClusterParameters parameters, CancellationToken ct = default)
    {
        var k = parameters.Centres.Length;
        var d = k == 0 ? 0 : parameters.Centres[0].Length;
        var centres = new double[k, d];
        for (var i = 0; i < k; i++)
            for (var j = 0; j < d; j++) centres[i, j] = parameters.Centres[i][j];
        var source = parameters.Source == ClusterParameterSource.GmmInit ? "gmm-init" : "meta";
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
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Marks the run finished, or failed, with the time.</summary>
    public async Task FinishRunAsync(string runId, bool failed, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("UPDATE training_runs SET status = $2, finished_at = now() WHERE run_id = $1");
        cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
        cmd.Parameters.Add(new NpgsqlParameter { Value = failed ? "failed" : "finished" });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
