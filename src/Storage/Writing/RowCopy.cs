using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>Binary COPY of documents and score rows into a table with their columns: the real table (fresh rows) or a
/// staging table (rows to upsert).</summary>
internal static class RowCopy
{
    public const string DocumentColumns = "id, domain, source, content_hash, length_chars, snippet, full_text";

    public const string ScoreColumns =
        "document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities, label, label_confidence, " +
        "gmm_version, batch_id, scored_at, compression_ratio, order_gain";

    /// <summary>Copies the documents into <paramref name="table"/>; returns the rows the server stored.</summary>
    public static async Task<int> DocumentsAsync(NpgsqlConnection conn, string table, IReadOnlyList<Document> documents, CancellationToken ct)
    {
        await using var importer = await conn.BeginBinaryImportAsync($"COPY {table} ({DocumentColumns}) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var d in documents)
        {
            ct.ThrowIfCancellationRequested();
            importer.StartRow();
            importer.Write(d.Id, NpgsqlDbType.Text);
            WriteNullable(importer, d.Domain);
            WriteNullable(importer, d.Source);
            importer.Write(d.ContentHash, NpgsqlDbType.Bytea);
            importer.Write(d.Length, NpgsqlDbType.Integer);
            importer.Write(d.Snippet, NpgsqlDbType.Text);
            WriteNullable(importer, d.Text);
        }
        // Without Complete the server rolls the COPY back.
        return checked((int)await importer.CompleteAsync(ct));
    }

    /// <summary>Copies the score rows into <paramref name="table"/>; returns the rows the server stored.</summary>
    /// <remarks>The label goes as text: in binary COPY an enum's wire form is its label, so the same bytes suit the
    /// real table's <c>sample_label</c> column and a staging table's text column.</remarks>
    public static async Task<int> ScoresAsync(NpgsqlConnection conn, string table, IReadOnlyList<SampleScore> scores, CancellationToken ct)
    {
        await using var importer = await conn.BeginBinaryImportAsync($"COPY {table} ({ScoreColumns}) FROM STDIN (FORMAT BINARY)", ct);
        // Synchronous field writes: they only fill Npgsql's buffer and flush when it is full, and skipping an async
        // state machine per field is worth a large share of the client's time on a hundred thousand rows.
        foreach (var s in scores)
        {
            ct.ThrowIfCancellationRequested();
            importer.StartRow();
            importer.Write(s.DocumentId, NpgsqlDbType.Text);
            importer.Write(s.ScorerModel, NpgsqlDbType.Text);
            importer.Write(s.TokenCount, NpgsqlDbType.Integer);
            if (s.ScoredBytes is { } bytes) importer.Write(bytes, NpgsqlDbType.Bigint);
            else importer.WriteNull();
            importer.Write(s.LossMean, NpgsqlDbType.Double);
            importer.Write(s.LossVariance, NpgsqlDbType.Double);
            importer.Write(s.Responsibilities, NpgsqlDbType.Array | NpgsqlDbType.Double);
            importer.Write(s.Label.ToWire(), NpgsqlDbType.Text);
            importer.Write(s.LabelConfidence, NpgsqlDbType.Double);
            if (s.GmmVersion is { } v) importer.Write(v, NpgsqlDbType.Integer);
            else importer.WriteNull();
            importer.Write(s.BatchId, NpgsqlDbType.Uuid);
            importer.Write(s.ScoredAt.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            if (s.CompressionRatio is { } ratio) importer.Write(ratio, NpgsqlDbType.Double);
            else importer.WriteNull();
            if (s.OrderGain is { } gain) importer.Write(gain, NpgsqlDbType.Double);
            else importer.WriteNull();
        }
        return checked((int)await importer.CompleteAsync(ct));
    }

    private static void WriteNullable(NpgsqlBinaryImporter importer, string? value)
    {
        if (value is null) importer.WriteNull();
        else importer.Write(value, NpgsqlDbType.Text);
    }
}
