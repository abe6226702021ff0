using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>Score rows stored before any GMM existed (<c>gmm_version</c> NULL, the provisional verdict), read and
/// relabelled inside the caller's transaction: the rows read stay locked until it ends, and only rows still
/// provisional are changed, so a row some version labelled keeps that version.</summary>
public static class ProvisionalScoreQueries
{
    /// <summary>Locks and reads the next <paramref name="limit"/> provisional rows of <paramref name="scorerModel"/>
    /// after document id <paramref name="after"/>, in id order.</summary>
    public static Task<List<(string Id, StoredStatistics Statistics)>> LockPageAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string scorerModel,
        string after, int limit, CancellationToken ct = default) =>
        LockAsync(conn, tx, $"""
            SELECT document_id, {StatisticsReader.Columns} FROM sample_scores
            WHERE scorer_model = $1 AND gmm_version IS NULL AND document_id > $2 ORDER BY document_id LIMIT $3 FOR UPDATE
            """, ct, scorerModel, after, limit);

    /// <summary>Locks and reads the provisional rows of <paramref name="scorerModel"/> among <paramref name="documentIds"/>.</summary>
    public static Task<List<(string Id, StoredStatistics Statistics)>> LockAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string scorerModel,
        string[] documentIds, CancellationToken ct = default) =>
        LockAsync(conn, tx, $"""
            SELECT document_id, {StatisticsReader.Columns} FROM sample_scores
            WHERE scorer_model = $1 AND gmm_version IS NULL AND document_id = ANY($2) FOR UPDATE
            """, ct, scorerModel, new NpgsqlParameter { Value = documentIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });

    /// <summary>Gives each still-provisional row of <paramref name="scorerModel"/> its verdict under GMM version
    /// <paramref name="gmmVersion"/> (label, confidence clamped to [0, 1], responsibilities); every verdict has the same
    /// number of components. Returns the rows changed.</summary>
    public static async Task<int> LabelAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string scorerModel, int gmmVersion,
        IReadOnlyList<(string Id, LabelAssignment Verdict)> rows, CancellationToken ct = default)
    {
        if (rows.Count == 0) return 0;
        // Responsibilities travel flattened (row i owns entries i*K .. i*K+K-1) and are sliced back per row.
        var k = rows[0].Verdict.Responsibilities.Length;
        var flat = new double[rows.Count * k];
        var labels = new string[rows.Count];
        var confidences = new double[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            var v = rows[i].Verdict;
            if (v.Responsibilities.Length != k)
                throw new ArgumentException($"verdict of {rows[i].Id} has {v.Responsibilities.Length} responsibilities, the first has {k}", nameof(rows));
            v.Responsibilities.CopyTo(flat, i * k);
            labels[i] = v.Label.ToWire();
            confidences[i] = Math.Clamp(v.Confidence, 0.0, 1.0);
        }
        await using var update = new NpgsqlCommand("""
            UPDATE sample_scores s
               SET label = u.label::sample_label, label_confidence = u.confidence,
                   responsibilities = $5[(u.i - 1) * $6 + 1 : u.i * $6], gmm_version = $1
              FROM unnest($2::text[], $3::text[], $4::double precision[]) WITH ORDINALITY AS u(document_id, label, confidence, i)
             WHERE s.document_id = u.document_id AND s.scorer_model = $7 AND s.gmm_version IS NULL
            """, conn, tx);
        update.Parameters.Add(new NpgsqlParameter { Value = gmmVersion });
        update.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Id).ToArray() });
        update.Parameters.Add(new NpgsqlParameter { Value = labels });
        update.Parameters.Add(new NpgsqlParameter { Value = confidences });
        update.Parameters.Add(new NpgsqlParameter { Value = flat });
        update.Parameters.Add(new NpgsqlParameter { Value = k });
        update.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
        return await update.ExecuteNonQueryAsync(ct);
    }

    private static async Task<List<(string Id, StoredStatistics Statistics)>> LockAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql,
        CancellationToken ct, params object[] values)
    {
        await using var select = new NpgsqlCommand(sql, conn, tx);
        foreach (var value in values) select.Parameters.Add(value as NpgsqlParameter ?? new NpgsqlParameter { Value = value });
        var rows = new List<(string, StoredStatistics)>();
        await using var reader = await select.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), StatisticsReader.Read(reader, 1)));
        return rows;
    }
}
