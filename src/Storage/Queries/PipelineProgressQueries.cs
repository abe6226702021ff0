using Npgsql;

namespace Reweighting.Storage.Queries;

/// <summary>How far the services' durable work has come, read from the store alone: a stage that must know when the
/// scorer or a training run is done asks PostgreSQL, never the control bus, whose events may be late or lost.</summary>
public sealed class PipelineProgressQueries(NpgsqlDataSource dataSource)
{
    /// <summary>What the store holds of a scorer group's work on one topic with one scorer model.</summary>
    public async Task<ScoringProgress> ScoringAsync(string consumerGroup, string topic, string scorerModel, CancellationToken ct = default)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(Command("SELECT partition, next_offset FROM consumer_offsets WHERE consumer_group = $1 AND topic = $2 ORDER BY partition",
            consumerGroup, topic));
        batch.BatchCommands.Add(Command("""
            SELECT count(*), count(*) FILTER (WHERE gmm_version IS NULL) FROM sample_scores WHERE scorer_model = $1
            """, scorerModel));
        batch.BatchCommands.Add(Command("SELECT count(*) FROM scored_batch_outbox WHERE published_at IS NULL"));
        batch.BatchCommands.Add(Command("SELECT count(*), max(version) FROM gmm_models WHERE scorer_model = $1", scorerModel));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        var offsets = new Dictionary<int, long>();
        while (await reader.ReadAsync(ct)) offsets[reader.GetInt32(0)] = reader.GetInt64(1);
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        var (stored, provisional) = (reader.GetInt64(0), reader.GetInt64(1));
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        var unpublished = reader.GetInt64(0);
        await reader.NextResultAsync(ct);
        await reader.ReadAsync(ct);
        var versions = (int)reader.GetInt64(0);
        int? latest = reader.IsDBNull(1) ? null : reader.GetInt32(1);
        return new ScoringProgress(offsets, stored, provisional, unpublished, versions, latest);
    }

    /// <summary>A training run's status in <c>training_runs</c> (null when it has no row yet) and the last step it
    /// recorded metrics for.</summary>
    public async Task<TrainingRunProgress> TrainingRunAsync(string runId, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT (SELECT status FROM training_runs WHERE run_id = $1), (SELECT max(step) FROM training_metrics WHERE run_id = $1)
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = runId });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new TrainingRunProgress(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
    }

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values) command.Parameters.Add(new NpgsqlParameter { Value = value });
        return command;
    }
}

/// <summary>A scorer group's stored work.</summary>
/// <param name="NextOffsets">The stored next offset of each partition (absent: nothing committed there yet).</param>
/// <param name="Stored">Score rows of the scorer model.</param>
/// <param name="Provisional">Of those, rows scored before the first GMM fit and not relabelled yet.</param>
/// <param name="UnpublishedBatches">Scored batches still in the outbox.</param>
/// <param name="GmmVersions">GMM versions stored for the scorer model.</param>
/// <param name="LatestGmmVersion">The newest of them.</param>
public sealed record ScoringProgress(IReadOnlyDictionary<int, long> NextOffsets, long Stored, long Provisional, long UnpublishedBatches,
    int GmmVersions, int? LatestGmmVersion)
{
    /// <summary>Whether the stored offsets reach <paramref name="endOffsets"/> (partition to high watermark): then every
    /// record before them is stored or dead-lettered, since offsets commit in the same transaction as the rows.</summary>
    public bool Reached(IReadOnlyDictionary<int, long> endOffsets) =>
        endOffsets.All(end => end.Value == 0 || NextOffsets.GetValueOrDefault(end.Key, 0) >= end.Value);

    /// <summary>The offsets as "partition 0: 903/903, partition 1: 600/903".</summary>
    public string Describe(IReadOnlyDictionary<int, long> endOffsets) =>
        string.Join(", ", endOffsets.OrderBy(e => e.Key).Select(e => $"partition {e.Key}: {NextOffsets.GetValueOrDefault(e.Key, 0):N0}/{e.Value:N0}"));
}

/// <summary>A training run as the store records it.</summary>
/// <param name="Status">running, finished or failed; null before the run's row exists.</param>
/// <param name="LastStep">The last step with recorded metrics.</param>
public sealed record TrainingRunProgress(string? Status, long? LastStep);
