using Npgsql;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>One document with its latest score, as the per-label views show it; the per-byte fields are null where the
/// scored bytes are unknown (rows stored before they were counted).</summary>
public sealed record LabelledDocument(
    string DocumentId, string? Domain, string? Source, string Snippet, double LossMean, double LossVariance,
    double LabelConfidence, int TokenCount, string ScorerModel, int? GmmVersion, DateTimeOffset ScoredAt,
    long? ScoredBytes, double? LossPerByte);

/// <summary>One row of <c>label_summary</c>: how many documents of a domain carry a label.</summary>
public sealed record LabelSummaryRow(string Domain, SampleLabel Label, long Documents, decimal Share, double AvgLossMean, double AvgConfidence);

/// <summary>Read-side queries over the people-facing views. Every user-supplied value is a bind parameter.</summary>
public sealed class LabelledDocumentQueries(NpgsqlDataSource dataSource)
{
    /// <summary>Documents whose latest label is <paramref name="label"/>, most confident first.</summary>
    public async Task<IReadOnlyList<LabelledDocument>> ListAsync(SampleLabel label, string? domain, int limit, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        // The view name comes from the enum, never from the caller's text.
        var view = label switch
        {
            SampleLabel.Easy => "easy_documents",
            SampleLabel.Hard => "hard_documents",
            SampleLabel.Noisy => "noisy_documents",
            _ => throw new ArgumentOutOfRangeException(nameof(label)),
        };
        await using var cmd = dataSource.CreateCommand($"""
            SELECT {DocumentColumns}
            FROM {view}
            WHERE ($1::text IS NULL OR domain = $1::text)
            ORDER BY label_confidence DESC, document_id
            LIMIT $2
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)domain ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        return await ReadDocumentsAsync(cmd, ct);
    }

    /// <summary>The <paramref name="limit"/> documents labelled noisy most confidently, the larger loss variance first
    /// among equal confidences.</summary>
    public async Task<IReadOnlyList<LabelledDocument>> MostConfidentNoisyAsync(int limit, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var cmd = dataSource.CreateCommand($"""
            SELECT {DocumentColumns}
            FROM noisy_documents
            ORDER BY label_confidence DESC, loss_variance DESC
            LIMIT $1
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = limit });
        return await ReadDocumentsAsync(cmd, ct);
    }

    /// <summary>How many documents have a latest score (<c>latest_scores</c>).</summary>
    public async Task<long> CountAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM latest_scores");
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(ct));
    }

    /// <summary>Every document's latest label (<c>latest_scores</c>), in no particular order.</summary>
    public async Task<IReadOnlyList<(string DocumentId, SampleLabel Label)>> LatestLabelsAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("SELECT document_id, label::text FROM latest_scores");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<(string, SampleLabel)>();
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), SampleLabels.Parse(reader.GetString(1))));
        return rows;
    }

    private const string DocumentColumns = """
        document_id, domain, source, snippet, loss_mean, loss_variance, label_confidence, n_tokens,
               scorer_model, gmm_version, scored_at, scored_bytes, loss_per_byte
        """;

    private static async Task<IReadOnlyList<LabelledDocument>> ReadDocumentsAsync(NpgsqlCommand cmd, CancellationToken ct)
    {
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<LabelledDocument>();
        while (await reader.ReadAsync(ct))
        {
            rows.Add(new LabelledDocument(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.GetDouble(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetInt32(7),
                reader.GetString(8), reader.IsDBNull(9) ? null : reader.GetInt32(9),
                reader.GetFieldValue<DateTimeOffset>(10),
                reader.IsDBNull(11) ? null : reader.GetInt64(11),
                reader.IsDBNull(12) ? null : reader.GetDouble(12)));
        }
        return rows;
    }

    /// <summary>The <c>label_summary</c> view: counts and shares per domain and label, '(all)' rows included.</summary>
    public async Task<IReadOnlyList<LabelSummaryRow>> SummaryAsync(CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT domain, label::text, documents, share, avg_loss_mean, avg_confidence
            FROM label_summary
            ORDER BY domain = '(all)' DESC, domain, label
            """);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var rows = new List<LabelSummaryRow>();
        while (await reader.ReadAsync(ct))
            rows.Add(new LabelSummaryRow(reader.GetString(0), SampleLabels.Parse(reader.GetString(1)), reader.GetInt64(2),
                reader.GetDecimal(3), reader.GetDouble(4), reader.GetDouble(5)));
        return rows;
    }
}
