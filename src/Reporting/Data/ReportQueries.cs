using Npgsql;
using Reweighting.Contracts;

namespace Reweighting.Reporting;

/// <summary>The report's SQL, against the views and tables of infra/sql.</summary>
internal static class ReportQueries
{
    /// <summary>The label counts and the sample each read every latest score (about 10 s per million documents here):
    /// more than Npgsql's default 30 s on a large store.</summary>
    private const int CommandTimeoutSeconds = 600;

    private static NpgsqlCommand Command(NpgsqlDataSource db, string sql)
    {
        var cmd = db.CreateCommand(sql);
        cmd.CommandTimeout = CommandTimeoutSeconds;
        return cmd;
    }

    public static async Task<List<(TrainingRun Run, string Config)>> RunsAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = Command(db,
            "SELECT run_id, model, strategy, status, started_at, config::text FROM training_runs ORDER BY started_at, run_id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var runs = new List<(TrainingRun, string)>();
        while (await reader.ReadAsync(ct))
            runs.Add((new TrainingRun(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4)), reader.GetString(5)));
        return runs;
    }

    public static async Task<List<LabelCount>> LabelMixAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = Command(db, """
            SELECT COALESCE(domain, '(none)'), label::text, count(*)
            FROM labelled_documents GROUP BY 1, 2 ORDER BY 1, 2
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var counts = new List<LabelCount>();
        while (await reader.ReadAsync(ct))
            counts.Add(new LabelCount(reader.GetString(0), SampleLabels.Parse(reader.GetString(1)), reader.GetInt64(2)));
        return counts;
    }

    /// <summary>A seeded uniform sample: documents ordered by a seeded hash of their id. Unlike ORDER BY random() it needs
    /// no session seed and gives the same rows whatever the scan order or parallelism.</summary>
    public static async Task<List<ScoredPoint>> SampleAsync(NpgsqlDataSource db, int limit, long seed, CancellationToken ct)
    {
        await using var cmd = Command(db, """
            SELECT document_id, domain, label::text, loss_mean, loss_variance
            FROM labelled_documents
            ORDER BY hashtextextended(document_id, $1), document_id
            LIMIT $2
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = seed });
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var sample = new List<ScoredPoint>();
        while (await reader.ReadAsync(ct))
            sample.Add(new ScoredPoint(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), SampleLabels.Parse(reader.GetString(2)),
                reader.GetDouble(3), reader.GetDouble(4)));
        return sample;
    }

    public static async Task<List<MetricSeries>> MetricsAsync(NpgsqlDataSource db, string[] runIds, string[] names, int maxPoints, CancellationToken ct)
    {
        await using var cmd = Command(db, """
            SELECT run_id, name, step, value FROM training_metrics
            WHERE run_id = ANY($1) AND name = ANY($2)
            ORDER BY run_id, name, step
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = runIds });
        cmd.Parameters.Add(new NpgsqlParameter { Value = names });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var raw = new List<(string Run, string Name, MetricPoint Point)>();
        while (await reader.ReadAsync(ct))
            raw.Add((reader.GetString(0), reader.GetString(1), new MetricPoint(reader.GetInt64(2), reader.GetDouble(3))));
        return raw.GroupBy(r => (r.Run, r.Name))
            .Select(g =>
            {
                var points = g.Select(r => r.Point).Where(p => double.IsFinite(p.Value)).ToList();
                return new MetricSeries(g.Key.Run, g.Key.Name, Thin(points, maxPoints), g.Count());
            })
            .ToList();
    }

    /// <summary>Every n-th point and the last, so a long run draws at most about <paramref name="maxPoints"/> points.</summary>
    internal static IReadOnlyList<MetricPoint> Thin(List<MetricPoint> points, int maxPoints)
    {
        if (points.Count <= maxPoints) return points;
        var stride = (int)Math.Ceiling(points.Count / (double)(maxPoints - 1));
        var kept = new List<MetricPoint>();
        for (var i = 0; i < points.Count - 1; i += stride) kept.Add(points[i]);
        kept.Add(points[^1]);
        return kept;
    }

    public static async Task<List<PhiSnapshot>> PhiAsync(NpgsqlDataSource db, string[] runIds, CancellationToken ct)
    {
        // The enum orders gmm-init before meta, so at a shared step the meta update comes last.
        await using var cmd = Command(db, """
            SELECT run_id, step, source::text, centres, lambdas, pis FROM cluster_parameters
            WHERE run_id = ANY($1) ORDER BY run_id, step, source
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = runIds });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var phi = new List<PhiSnapshot>();
        while (await reader.ReadAsync(ct))
        {
            var centres = reader.GetValue(3) switch
            {
                double[,] grid => Enumerable.Range(0, grid.GetLength(0)).Select(i => Enumerable.Range(0, grid.GetLength(1)).Select(j => grid[i, j]).ToArray()).ToArray(),
                double[] flat => flat.Length % 2 == 0 ? flat.Chunk(2).ToArray() : [flat],
                _ => [],
            };
            phi.Add(new PhiSnapshot(reader.GetString(0), reader.GetInt64(1),
                reader.GetString(2) == "meta" ? ClusterParameterSource.Meta : ClusterParameterSource.GmmInit,
                centres, reader.GetFieldValue<double[]>(4), reader.GetFieldValue<double[]>(5)));
        }
        return phi;
    }
}
