using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>Stores scored batches exactly once: documents and score rows go by binary COPY straight into their tables
/// when their keys are new, or into temporary staging tables and are upserted from there when some are stored
/// already, in the same transaction that advances the consumer offsets.</summary>
/// <remarks>A batch whose offsets are already stored is recognised and skipped, so a scorer that crashed after
/// committing but before acknowledging Kafka does not apply it twice. Without offsets, a rewrite converges on the
/// same rows because every table upserts on its natural key.</remarks>
public sealed class ScoreBatchWriter
{
    private const string FreshRowsSavepoint = "fresh_rows";

    private readonly NpgsqlDataSource _dataSource;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;

    public ScoreBatchWriter(NpgsqlDataSource dataSource, WriteRetryOptions? retry = null, ILogger<ScoreBatchWriter>? logger = null)
    {
        _dataSource = dataSource;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _pipeline = (retry ?? new WriteRetryOptions()).BuildPipeline(_logger);
    }

    /// <summary>Keys of a batch probed for being stored before the direct COPY is tried (0: always try it).</summary>
    internal int StoredKeyProbe { get; init; } = 16;

    /// <summary>Test seam: runs after all rows are copied or upserted, just before COMMIT, with the attempt number.</summary>
    internal Func<NpgsqlConnection, int, CancellationToken, Task>? BeforeCommit { get; set; }

    /// <summary>Writes the batch, retrying transient failures; throws <see cref="BatchWriteException"/> when it cannot.</summary>
    public async Task<ScoreBatchResult> WriteAsync(ScoreBatch batch, CancellationToken ct = default)
    {
        PreparedBatch prepared;
        try
        {
            prepared = PreparedBatch.From(batch);
        }
        catch (ArgumentException ex)
        {
            throw new BatchWriteException(batch.BatchId, ex.Message, ex);
        }

        var attempts = 0;
        var watch = Stopwatch.StartNew();
        try
        {
            var result = await _pipeline.ExecuteAsync(async token =>
            {
                attempts++;
                return await WriteOnceAsync(prepared, attempts, token);
            }, ct);
            _logger.LogDebug("Batch {BatchId}: {Scores} scores ({ScorePath}), {Documents} documents ({DocumentPath}) in {Milliseconds} ms ({Attempts} attempts, already applied: {AlreadyApplied})",
                batch.BatchId, result.ScoreRows, result.ScorePath, result.DocumentRows, result.DocumentPath, watch.ElapsedMilliseconds, attempts, result.AlreadyApplied);
            return result;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var reason = TransientFailures.IsTransient(ex)
                ? $"transient failures persisted after {attempts} attempts ({ex.Message})"
                : ex.Message;
            _logger.LogError(ex, "Batch {BatchId} was not stored after {Attempts} attempts", batch.BatchId, attempts);
            throw new BatchWriteException(batch.BatchId, reason, ex);
        }
    }

    private async Task<ScoreBatchResult> WriteOnceAsync(PreparedBatch batch, int attempt, CancellationToken ct)
    {
        await using var conn = await _dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        if (batch.Offsets.Count > 0 && await OffsetsAlreadyStoredAsync(conn, tx, batch, ct))
        {
            await tx.RollbackAsync(ct);
            return new ScoreBatchResult(batch.BatchId, AlreadyApplied: true, 0, 0, attempt);
        }

        var (documentRows, documentPath) = batch.Documents.Count == 0 ? (0, RowWritePath.None) : await StoreDocumentsAsync(conn, tx, batch.Documents, ct);
        var (scoreRows, scorePath) = batch.Scores.Count == 0 ? (0, RowWritePath.None) : await StoreScoresAsync(conn, tx, batch.Scores, ct);
        if (batch.Offsets.Count > 0) await AdvanceOffsetsAsync(conn, tx, batch, ct);
        if (batch.OutboxPayload is not null) await AddToOutboxAsync(conn, tx, batch, ct);

        if (BeforeCommit is not null) await BeforeCommit(conn, attempt, ct);
        await tx.CommitAsync(ct);
        return new ScoreBatchResult(batch.BatchId, AlreadyApplied: false, documentRows, scoreRows, attempt)
        {
            DocumentPath = documentPath,
            ScorePath = scorePath,
        };
    }

    /// <summary>Locks the batch's offset rows and reports whether every one is already at or past the batch.</summary>
    private static async Task<bool> OffsetsAlreadyStoredAsync(NpgsqlConnection conn, NpgsqlTransaction tx, PreparedBatch batch, CancellationToken ct)
    {
        // Creating missing rows first gives FOR UPDATE something to lock, so two writers of one partition serialise.
        await using (var create = new NpgsqlCommand("""
            INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset)
            SELECT g, t, p, 0 FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[]) AS o(g, t, p, n)
            ON CONFLICT DO NOTHING
            """, conn, tx))
        {
            AddOffsetParameters(create, batch);
            await create.ExecuteNonQueryAsync(ct);
        }
        // Only this batch's partitions are locked, in key order, so writers of other partitions never wait on it.
        await using var cmd = new NpgsqlCommand("""
            WITH locked AS (
                SELECT c.next_offset, o.n
                FROM consumer_offsets c
                JOIN unnest($1::text[], $2::text[], $3::int[], $4::bigint[]) AS o(g, t, p, n)
                  ON c.consumer_group = o.g AND c.topic = o.t AND c.partition = o.p
                ORDER BY c.consumer_group, c.topic, c.partition
                FOR UPDATE OF c
            )
            SELECT count(*) FILTER (WHERE next_offset < n) FROM locked
            """, conn, tx);
        AddOffsetParameters(cmd, batch);
        var behind = (long)(await cmd.ExecuteScalarAsync(ct))!;
        return behind == 0;
    }

    private static async Task AdvanceOffsetsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, PreparedBatch batch, CancellationToken ct)
    {
        // GREATEST: offsets never move backwards, even if an older batch of a partition is replayed alongside a newer one.
        await using var cmd = new NpgsqlCommand("""
            INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset, batch_id, updated_at)
            SELECT g, t, p, n, $5, now() FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[]) AS o(g, t, p, n)
            ON CONFLICT (consumer_group, topic, partition) DO UPDATE
               SET next_offset = GREATEST(consumer_offsets.next_offset, EXCLUDED.next_offset),
                   batch_id = EXCLUDED.batch_id,
                   updated_at = now()
            """, conn, tx);
        AddOffsetParameters(cmd, batch);
        cmd.Parameters.Add(new NpgsqlParameter { Value = batch.BatchId, NpgsqlDbType = NpgsqlDbType.Uuid });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private static void AddOffsetParameters(NpgsqlCommand cmd, PreparedBatch batch)
    {
        cmd.Parameters.Add(new NpgsqlParameter { Value = batch.Offsets.Select(o => o.ConsumerGroup).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = batch.Offsets.Select(o => o.Topic).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = batch.Offsets.Select(o => o.Partition).ToArray() });
        cmd.Parameters.Add(new NpgsqlParameter { Value = batch.Offsets.Select(o => o.NextOffset).ToArray() });
    }

    /// <summary>Stores the batch's documents: straight COPY when every one is new, otherwise staging and upsert.</summary>
    private async Task<(int Rows, RowWritePath Path)> StoreDocumentsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<Document> documents, CancellationToken ct)
    {
        var probe = Probe(documents);
        var stored = probe.Count > 0 && await AnyStoredAsync(conn, tx, "SELECT EXISTS (SELECT 1 FROM documents WHERE id = ANY($1))", ct,
            probe.Select(d => d.Id).ToArray());
        if (!stored && await TryCopyFreshAsync(tx, () => RowCopy.DocumentsAsync(conn, "documents", documents, ct), ct) is { } copied)
            return (copied, RowWritePath.Copied);

        await ExecuteAsync(conn, tx, """
            CREATE TEMP TABLE document_staging (
                id text, domain text, source text, content_hash bytea, length_chars integer, snippet text, full_text text
            ) ON COMMIT DROP
            """, ct);
        await RowCopy.DocumentsAsync(conn, "document_staging", documents, ct);
        // Unchanged documents are not rewritten: a replayed batch then costs no dead tuples.
        var upserted = await ExecuteAsync(conn, tx, $"""
            INSERT INTO documents AS d ({RowCopy.DocumentColumns})
            SELECT {RowCopy.DocumentColumns} FROM document_staging
            ON CONFLICT (id) DO UPDATE
               SET domain = EXCLUDED.domain, source = EXCLUDED.source, content_hash = EXCLUDED.content_hash,
                   length_chars = EXCLUDED.length_chars, snippet = EXCLUDED.snippet,
                   full_text = COALESCE(EXCLUDED.full_text, d.full_text), updated_at = now()
             WHERE (d.domain, d.source, d.content_hash, d.length_chars, d.snippet)
                   IS DISTINCT FROM (EXCLUDED.domain, EXCLUDED.source, EXCLUDED.content_hash, EXCLUDED.length_chars, EXCLUDED.snippet)
                OR (EXCLUDED.full_text IS NOT NULL AND d.full_text IS DISTINCT FROM EXCLUDED.full_text)
            """, ct);
        return (upserted, RowWritePath.Upserted);
    }

    /// <summary>Stores the batch's score rows: straight COPY when every key is new, otherwise staging and upsert.</summary>
    private async Task<(int Rows, RowWritePath Path)> StoreScoresAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<SampleScore> scores, CancellationToken ct)
    {
        var probe = Probe(scores);
        var stored = probe.Count > 0 && await AnyStoredAsync(conn, tx, """
            SELECT EXISTS (SELECT 1 FROM sample_scores s JOIN unnest($1::text[], $2::text[]) AS k(d, m)
                                                        ON s.document_id = k.d AND s.scorer_model = k.m)
            """, ct, probe.Select(s => s.DocumentId).ToArray(), probe.Select(s => s.ScorerModel).ToArray());
        if (!stored && await TryCopyFreshAsync(tx, () => RowCopy.ScoresAsync(conn, "sample_scores", scores, ct), ct) is { } copied)
            return (copied, RowWritePath.Copied);

        await ExecuteAsync(conn, tx, """
            CREATE TEMP TABLE score_staging (
                document_id text, scorer_model text, n_tokens integer, scored_bytes bigint, loss_mean double precision,
                loss_variance double precision, responsibilities double precision[], label text,
                label_confidence double precision, gmm_version integer, batch_id uuid, scored_at timestamptz,
                compression_ratio double precision, order_gain double precision
            ) ON COMMIT DROP
            """, ct);
        await RowCopy.ScoresAsync(conn, "score_staging", scores, ct);
        // A score older than the stored one never overwrites it, so a late replay cannot roll a label back.
        var upserted = await ExecuteAsync(conn, tx, """
            INSERT INTO sample_scores AS s (document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities,
                                            label, label_confidence, gmm_version, batch_id, scored_at, compression_ratio,
                                            order_gain)
            SELECT document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities,
                   label::sample_label, label_confidence, gmm_version, batch_id, scored_at, compression_ratio, order_gain
            FROM score_staging
            ON CONFLICT (document_id, scorer_model) DO UPDATE
               SET n_tokens = EXCLUDED.n_tokens, scored_bytes = EXCLUDED.scored_bytes,
                   loss_mean = EXCLUDED.loss_mean, loss_variance = EXCLUDED.loss_variance,
                   responsibilities = EXCLUDED.responsibilities, label = EXCLUDED.label,
                   label_confidence = EXCLUDED.label_confidence, gmm_version = EXCLUDED.gmm_version,
                   batch_id = EXCLUDED.batch_id, scored_at = EXCLUDED.scored_at,
                   compression_ratio = EXCLUDED.compression_ratio, order_gain = EXCLUDED.order_gain
             WHERE s.scored_at <= EXCLUDED.scored_at
            """, ct);
        return (upserted, RowWritePath.Upserted);
    }

    /// <summary>Evenly spaced rows of the batch whose keys are looked up before the direct COPY is tried.</summary>
    /// <remarks>A direct COPY that meets a stored key has cost the client a full serialisation of the batch before the
    /// server's error comes back, about a third more time for a batch of re-scored keys. A handful of index lookups in
    /// one round trip catch such batches (re-scoring, replays) up front. The probe only saves time; the savepoint keeps
    /// the path correct whatever it misses (a stored key it did not sample, or one committed after it looked).</remarks>
    private IReadOnlyList<T> Probe<T>(IReadOnlyList<T> rows)
    {
        if (StoredKeyProbe <= 0) return [];
        var step = Math.Max(1, rows.Count / StoredKeyProbe);
        var sample = new List<T>(StoredKeyProbe + 1);
        for (var i = 0; i < rows.Count && sample.Count < StoredKeyProbe; i += step) sample.Add(rows[i]);
        if (rows.Count > 1) sample.Add(rows[rows.Count - 1]);
        return sample;
    }

    /// <summary>The fast path: COPY the rows straight into their table under a savepoint. Returns null, with the
    /// savepoint rolled back and the transaction intact, when a row's key is already stored.</summary>
    /// <remarks>Fresh keys (each document scored once per scorer model) are the common case, and a plain COPY stores
    /// them at close to COPY's own speed; an upsert costs a speculative insertion per row and a second write of every
    /// row through the staging table. A stored key means the upsert rules (older never overwrites newer, unchanged
    /// documents untouched) must decide, so the batch takes the staging path. Keys are unique within the batch
    /// (<see cref="PreparedBatch"/>), so a unique violation here always means "stored before".</remarks>
    private static async Task<int?> TryCopyFreshAsync(NpgsqlTransaction tx, Func<Task<int>> copy, CancellationToken ct)
    {
        await tx.SaveAsync(FreshRowsSavepoint, ct);
        try
        {
            var rows = await copy();
            await tx.ReleaseAsync(FreshRowsSavepoint, ct);
            return rows;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            await tx.RollbackAsync(FreshRowsSavepoint, ct);
            return null;
        }
    }

    private static async Task AddToOutboxAsync(NpgsqlConnection conn, NpgsqlTransaction tx, PreparedBatch batch, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(
            "INSERT INTO scored_batch_outbox (batch_id, payload) VALUES ($1, $2) ON CONFLICT (batch_id) DO NOTHING", conn, tx)
        {
            Parameters =
            {
                new() { Value = batch.BatchId, NpgsqlDbType = NpgsqlDbType.Uuid },
                new() { Value = batch.OutboxPayload!, NpgsqlDbType = NpgsqlDbType.Bytea },
            },
        };
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Runs an EXISTS query whose parameters are text arrays of probed keys.</summary>
    private static async Task<bool> AnyStoredAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct, params string[][] keys)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var k in keys) cmd.Parameters.Add(new NpgsqlParameter { Value = k, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        return (bool)(await cmd.ExecuteScalarAsync(ct))!;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
