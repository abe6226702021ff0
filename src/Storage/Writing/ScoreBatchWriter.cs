using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>Stores scored batches exactly once: documents and score rows go through binary COPY into temporary
/// staging tables and are upserted from there, in the same transaction that advances the consumer offsets.</summary>
/// <remarks>A batch whose offsets are already stored is recognised and skipped, so a scorer that crashed after
/// committing but before acknowledging Kafka does not apply it twice. Without offsets, a rewrite converges on the
/// same rows because every table upserts on its natural key.</remarks>
public sealed class ScoreBatchWriter
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;

    public ScoreBatchWriter(NpgsqlDataSource dataSource, WriteRetryOptions? retry = null, ILogger<ScoreBatchWriter>? logger = null)
    {
        _dataSource = dataSource;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _pipeline = (retry ?? new WriteRetryOptions()).BuildPipeline(_logger);
    }

    /// <summary>Test seam: runs after all rows are staged and upserted, just before COMMIT, with the attempt number.</summary>
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
            _logger.LogDebug("Batch {BatchId}: {Scores} scores, {Documents} documents in {Milliseconds} ms ({Attempts} attempts, already applied: {AlreadyApplied})",
                batch.BatchId, result.ScoreRows, result.DocumentRows, watch.ElapsedMilliseconds, attempts, result.AlreadyApplied);
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

        var documentRows = batch.Documents.Count == 0 ? 0 : await UpsertDocumentsAsync(conn, tx, batch.Documents, ct);
        var scoreRows = batch.Scores.Count == 0 ? 0 : await UpsertScoresAsync(conn, tx, batch.Scores, ct);
        if (batch.Offsets.Count > 0) await AdvanceOffsetsAsync(conn, tx, batch, ct);
        if (batch.OutboxPayload is not null) await AddToOutboxAsync(conn, tx, batch, ct);

        if (BeforeCommit is not null) await BeforeCommit(conn, attempt, ct);
        await tx.CommitAsync(ct);
        return new ScoreBatchResult(batch.BatchId, AlreadyApplied: false, documentRows, scoreRows, attempt);
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

    private static async Task<int> UpsertDocumentsAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<Document> documents, CancellationToken ct)
    {
        await ExecuteAsync(conn, tx, """
            CREATE TEMP TABLE document_staging (
                id text, domain text, source text, content_hash bytea, length_chars integer, snippet text, full_text text
            ) ON COMMIT DROP
            """, ct);
        await using (var importer = await conn.BeginBinaryImportAsync(
            "COPY document_staging (id, domain, source, content_hash, length_chars, snippet, full_text) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var d in documents)
            {
                await importer.StartRowAsync(ct);
                await importer.WriteAsync(d.Id, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(importer, d.Domain, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(importer, d.Source, NpgsqlDbType.Text, ct);
                await importer.WriteAsync(d.ContentHash, NpgsqlDbType.Bytea, ct);
                await importer.WriteAsync(d.Length, NpgsqlDbType.Integer, ct);
                await importer.WriteAsync(d.Snippet, NpgsqlDbType.Text, ct);
                await WriteNullableAsync(importer, d.Text, NpgsqlDbType.Text, ct);
            }
            // Without Complete the server rolls the COPY back.
            await importer.CompleteAsync(ct);
        }
        // Unchanged documents are not rewritten: a replayed batch then costs no dead tuples.
        return await ExecuteAsync(conn, tx, """
            INSERT INTO documents AS d (id, domain, source, content_hash, length_chars, snippet, full_text)
            SELECT id, domain, source, content_hash, length_chars, snippet, full_text FROM document_staging
            ON CONFLICT (id) DO UPDATE
               SET domain = EXCLUDED.domain, source = EXCLUDED.source, content_hash = EXCLUDED.content_hash,
                   length_chars = EXCLUDED.length_chars, snippet = EXCLUDED.snippet,
                   full_text = COALESCE(EXCLUDED.full_text, d.full_text), updated_at = now()
             WHERE (d.domain, d.source, d.content_hash, d.length_chars, d.snippet)
                   IS DISTINCT FROM (EXCLUDED.domain, EXCLUDED.source, EXCLUDED.content_hash, EXCLUDED.length_chars, EXCLUDED.snippet)
                OR (EXCLUDED.full_text IS NOT NULL AND d.full_text IS DISTINCT FROM EXCLUDED.full_text)
            """, ct);
    }

    private static async Task<int> UpsertScoresAsync(NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<SampleScore> scores, CancellationToken ct)
    {
        await ExecuteAsync(conn, tx, """
            CREATE TEMP TABLE score_staging (
                document_id text, scorer_model text, n_tokens integer, loss_mean double precision,
                loss_variance double precision, responsibilities double precision[], label text,
                label_confidence double precision, gmm_version integer, batch_id uuid, scored_at timestamptz
            ) ON COMMIT DROP
            """, ct);
        await using (var importer = await conn.BeginBinaryImportAsync(
            "COPY score_staging (document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities, label, " +
            "label_confidence, gmm_version, batch_id, scored_at) FROM STDIN (FORMAT BINARY)", ct))
        {
            // Synchronous field writes: they only fill Npgsql's buffer and flush when it is full, and skipping an async
            // state machine per field is worth a large share of the client's time on a hundred thousand rows.
            foreach (var s in scores)
            {
                ct.ThrowIfCancellationRequested();
                importer.StartRow();
                importer.Write(s.DocumentId, NpgsqlDbType.Text);
                importer.Write(s.ScorerModel, NpgsqlDbType.Text);
                importer.Write(s.TokenCount, NpgsqlDbType.Integer);
                importer.Write(s.LossMean, NpgsqlDbType.Double);
                importer.Write(s.LossVariance, NpgsqlDbType.Double);
                importer.Write(s.Responsibilities, NpgsqlDbType.Array | NpgsqlDbType.Double);
                importer.Write(s.Label.ToWire(), NpgsqlDbType.Text);
                importer.Write(s.LabelConfidence, NpgsqlDbType.Double);
                if (s.GmmVersion is { } v) importer.Write(v, NpgsqlDbType.Integer);
                else importer.WriteNull();
                importer.Write(s.BatchId, NpgsqlDbType.Uuid);
                importer.Write(s.ScoredAt.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            }
            // Without Complete the server rolls the COPY back.
            await importer.CompleteAsync(ct);
        }
        // A score older than the stored one never overwrites it, so a late replay cannot roll a label back.
        return await ExecuteAsync(conn, tx, """
            INSERT INTO sample_scores AS s (document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities,
                                            label, label_confidence, gmm_version, batch_id, scored_at)
            SELECT document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities,
                   label::sample_label, label_confidence, gmm_version, batch_id, scored_at
            FROM score_staging
            ON CONFLICT (document_id, scorer_model) DO UPDATE
               SET n_tokens = EXCLUDED.n_tokens, loss_mean = EXCLUDED.loss_mean, loss_variance = EXCLUDED.loss_variance,
                   responsibilities = EXCLUDED.responsibilities, label = EXCLUDED.label,
                   label_confidence = EXCLUDED.label_confidence, gmm_version = EXCLUDED.gmm_version,
                   batch_id = EXCLUDED.batch_id, scored_at = EXCLUDED.scored_at
             WHERE s.scored_at <= EXCLUDED.scored_at
            """, ct);
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

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, NpgsqlDbType type, CancellationToken ct)
    {
        if (value is null) await importer.WriteNullAsync(ct);
        else await importer.WriteAsync(value, type, ct);
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        return await cmd.ExecuteNonQueryAsync(ct);
    }
}
