using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>Outcome of a relabelling run.</summary>
/// <param name="GmmVersion">The GMM version the labels now come from.</param>
/// <param name="ScorerModel">Whose scores were relabelled.</param>
/// <param name="RowsRelabelled">Score rows rewritten.</param>
/// <param name="Transitions">How many rows moved from one label to another (unchanged labels are not listed).</param>
public sealed record RelabelResult(int GmmVersion, string ScorerModel, long RowsRelabelled, IReadOnlyDictionary<(SampleLabel From, SampleLabel To), long> Transitions)
{
    public long LabelsChanged => Transitions.Values.Sum();
}

/// <summary>Recomputes the label, responsibilities and confidence of stored scores with another stored GMM version.
/// Statistics, token counts, batch ids and timestamps are left exactly as they were.</summary>
/// <remarks>Works in pages of one transaction each, keyed by document id. A page is a pure function of stored
/// statistics, so an interrupted run is finished by running it again.</remarks>
public sealed class ScoreRelabeller(NpgsqlDataSource dataSource, WriteRetryOptions? retry = null, ILogger<ScoreRelabeller>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;
    private readonly ResiliencePipeline _pipeline = (retry ?? new WriteRetryOptions()).BuildPipeline((ILogger?)logger ?? NullLogger.Instance);

    /// <summary>Rows per transaction.</summary>
    public int PageSize { get; init; } = 20_000;

    /// <summary>Relabels every score of <paramref name="scorerModel"/>; <paramref name="assign"/> maps (loss mean, loss variance) to a verdict.</summary>
    public async Task<RelabelResult> RelabelAsync(int gmmVersion, string scorerModel, Func<StoredStatistics, LabelAssignment?> assign,
        IProgress<long>? progress = null, CancellationToken ct = default)
    {
        var transitions = new Dictionary<(SampleLabel, SampleLabel), long>();
        long total = 0;
        string after = "";
        while (true)
        {
            var page = await _pipeline.ExecuteAsync(async token => await RelabelPageAsync(gmmVersion, scorerModel, after, assign, token), ct);
            if (page.Rows == 0) break;
            total += page.Rows;
            foreach (var (key, n) in page.Transitions) transitions[key] = transitions.GetValueOrDefault(key) + n;
            after = page.LastDocumentId;
            progress?.Report(total);
        }
        _logger.LogInformation("Relabelled {Rows} scores of {ScorerModel} with GMM version {Version}; {Changed} labels changed",
            total, scorerModel, gmmVersion, transitions.Values.Sum());
        return new RelabelResult(gmmVersion, scorerModel, total, transitions);
    }

    private async Task<Page> RelabelPageAsync(int gmmVersion, string scorerModel, string after,
        Func<StoredStatistics, LabelAssignment?> assign, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);

        var rows = new List<(string Id, StoredStatistics Statistics, SampleLabel Old)>(PageSize);
        await using (var select = new NpgsqlCommand($"""
            SELECT document_id, {Queries.StatisticsReader.Columns}, label::text FROM sample_scores
            WHERE scorer_model = $1 AND document_id > $2
            ORDER BY document_id LIMIT $3
            FOR UPDATE
            """, conn, tx))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
            select.Parameters.Add(new NpgsqlParameter { Value = after });
            select.Parameters.Add(new NpgsqlParameter { Value = PageSize });
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                rows.Add((reader.GetString(0), Queries.StatisticsReader.Read(reader, 1), SampleLabels.Parse(reader.GetString(7))));
        }
        if (rows.Count == 0) return new Page(0, after, new Dictionary<(SampleLabel, SampleLabel), long>());

        await using (var create = new NpgsqlCommand("""
            CREATE TEMP TABLE relabel_staging (
                document_id text, responsibilities double precision[], label text, label_confidence double precision
            ) ON COMMIT DROP
            """, conn, tx))
            await create.ExecuteNonQueryAsync(ct);

        var transitions = new Dictionary<(SampleLabel, SampleLabel), long>();
        await using (var importer = await conn.BeginBinaryImportAsync(
            "COPY relabel_staging (document_id, responsibilities, label, label_confidence) FROM STDIN (FORMAT BINARY)", ct))
        {
            // A row the mixture cannot place (non-finite statistics, or no bytes under a per-byte mixture) keeps its label,
            // with a uniform posterior, confidence 0 and the version.
            var verdicts = LabelAssignment.OrUniform(rows.Select(r => assign(r.Statistics)).ToArray(), i => rows[i].Old);
            foreach (var (row, verdict) in rows.Zip(verdicts))
            {
                if (verdict.Label != row.Old)
                    transitions[(row.Old, verdict.Label)] = transitions.GetValueOrDefault((row.Old, verdict.Label)) + 1;
                await importer.StartRowAsync(ct);
                await importer.WriteAsync(row.Id, NpgsqlDbType.Text, ct);
                await importer.WriteAsync(verdict.Responsibilities, NpgsqlDbType.Array | NpgsqlDbType.Double, ct);
                await importer.WriteAsync(verdict.Label.ToWire(), NpgsqlDbType.Text, ct);
                await importer.WriteAsync(Math.Clamp(verdict.Confidence, 0.0, 1.0), NpgsqlDbType.Double, ct);
            }
            await importer.CompleteAsync(ct);
        }

        await using (var update = new NpgsqlCommand("""
            UPDATE sample_scores s
               SET label = r.label::sample_label, label_confidence = r.label_confidence,
                   responsibilities = r.responsibilities, gmm_version = $1
              FROM relabel_staging r
             WHERE s.document_id = r.document_id AND s.scorer_model = $2
            """, conn, tx))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = gmmVersion });
            update.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
            await update.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return new Page(rows.Count, rows[^1].Id, transitions);
    }

    private sealed record Page(int Rows, string LastDocumentId, Dictionary<(SampleLabel, SampleLabel), long> Transitions);
}
