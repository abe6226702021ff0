using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;

namespace Reweighting.Scorer.Labelling;

/// <summary>Gives score rows stored before any GMM existed (<c>gmm_version</c> NULL, the provisional verdict) a real
/// label from their stored statistics. Only provisional rows change: a row some version labelled keeps that version,
/// so each row still names the version that labelled it.</summary>
public sealed class ProvisionalScores(NpgsqlDataSource dataSource)
{
    /// <summary>Rows per transaction.</summary>
    public int PageSize { get; init; } = 5_000;

    /// <summary>Relabels every provisional row of <paramref name="scorerModel"/> (a scan of its rows); returns how many.</summary>
    public async Task<long> RelabelAllAsync(string scorerModel, int gmmVersion, Func<double, double, LabelAssignment> assign, CancellationToken ct = default)
    {
        long total = 0;
        var after = "";
        while (true)
        {
            var (rows, last) = await RelabelPageAsync(scorerModel, gmmVersion, assign, after, null, ct);
            total += rows;
            if (last is null) return total;
            after = last;
        }
    }

    /// <summary>Relabels the provisional rows among <paramref name="documentIds"/> (rows stored provisionally after a
    /// version already existed); returns how many.</summary>
    public async Task<long> RelabelAsync(string scorerModel, int gmmVersion, Func<double, double, LabelAssignment> assign,
        IReadOnlyCollection<string> documentIds, CancellationToken ct = default)
    {
        long total = 0;
        foreach (var chunk in documentIds.Chunk(PageSize))
            total += (await RelabelPageAsync(scorerModel, gmmVersion, assign, "", chunk, ct)).Rows;
        return total;
    }

    /// <summary>One transaction: the next page of provisional rows (after <paramref name="after"/>, or among
    /// <paramref name="ids"/>), locked, relabelled. Returns the rows changed and the last id read (null when none).</summary>
    private async Task<(long Rows, string? Last)> RelabelPageAsync(string scorerModel, int gmmVersion,
        Func<double, double, LabelAssignment> assign, string after, string[]? ids, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var rows = new List<(string Id, double Mean, double Variance)>();
        await using (var select = new NpgsqlCommand(ids is null
            ? "SELECT document_id, loss_mean, loss_variance FROM sample_scores WHERE scorer_model = $1 AND gmm_version IS NULL AND document_id > $2 ORDER BY document_id LIMIT $3 FOR UPDATE"
            : "SELECT document_id, loss_mean, loss_variance FROM sample_scores WHERE scorer_model = $1 AND gmm_version IS NULL AND document_id = ANY($2) FOR UPDATE", conn, tx))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
            if (ids is null)
            {
                select.Parameters.Add(new NpgsqlParameter { Value = after });
                select.Parameters.Add(new NpgsqlParameter { Value = PageSize });
            }
            else select.Parameters.Add(new NpgsqlParameter { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) rows.Add((reader.GetString(0), reader.GetDouble(1), reader.GetDouble(2)));
        }
        if (rows.Count == 0)
        {
            await tx.CommitAsync(ct);
            return (0, null);
        }

        // Responsibilities travel flattened (row i owns entries i*K .. i*K+K-1) and are sliced back per row.
        var verdicts = rows.Select(r => Finite(r.Mean, r.Variance) ? assign(r.Mean, r.Variance) : null).ToArray();
        var k = verdicts.FirstOrDefault(v => v is not null)?.Responsibilities.Length ?? 1;
        var flat = new double[rows.Count * k];
        var labels = new string[rows.Count];
        var confidences = new double[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            // Statistics no mixture can place keep the provisional label, with a uniform posterior and the version.
            var v = verdicts[i] ?? new LabelAssignment(Reweighting.Scorer.ProvisionalVerdict.Label, 0, Enumerable.Repeat(1.0 / k, k).ToArray());
            v.Responsibilities.CopyTo(flat, i * k);
            labels[i] = v.Label.ToWire();
            confidences[i] = Math.Clamp(v.Confidence, 0.0, 1.0);
        }
        await using (var update = new NpgsqlCommand("""
            UPDATE sample_scores s
               SET label = u.label::sample_label, label_confidence = u.confidence,
                   responsibilities = $5[(u.i - 1) * $6 + 1 : u.i * $6], gmm_version = $1
              FROM unnest($2::text[], $3::text[], $4::double precision[]) WITH ORDINALITY AS u(document_id, label, confidence, i)
             WHERE s.document_id = u.document_id AND s.scorer_model = $7 AND s.gmm_version IS NULL
            """, conn, tx))
        {
            update.Parameters.Add(new NpgsqlParameter { Value = gmmVersion });
            update.Parameters.Add(new NpgsqlParameter { Value = rows.Select(r => r.Id).ToArray() });
            update.Parameters.Add(new NpgsqlParameter { Value = labels });
            update.Parameters.Add(new NpgsqlParameter { Value = confidences });
            update.Parameters.Add(new NpgsqlParameter { Value = flat });
            update.Parameters.Add(new NpgsqlParameter { Value = k });
            update.Parameters.Add(new NpgsqlParameter { Value = scorerModel });
            var changed = await update.ExecuteNonQueryAsync(ct);
            await tx.CommitAsync(ct);
            return (changed, rows[^1].Id);
        }
    }

    private static bool Finite(double mean, double variance) => double.IsFinite(mean) && double.IsFinite(variance) && variance >= 0;
}
