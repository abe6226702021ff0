using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;

namespace Reweighting.Scorer.Labelling;

/// <summary>Gives score rows stored before any GMM existed (<c>gmm_version</c> NULL, the provisional verdict) a real
/// label from their stored statistics. Only provisional rows change: a row some version labelled keeps that version,
/// so each row still names the version that labelled it.</summary>
public sealed class ProvisionalScores(NpgsqlDataSource dataSource)
{
    /// <summary>Rows per transaction.</summary>
    public int PageSize { get; init; } = 5_000;

    /// <summary>Relabels every provisional row of <paramref name="scorerModel"/> (a scan of its rows); returns how many.</summary>
    public async Task<long> RelabelAllAsync(string scorerModel, int gmmVersion, Func<StoredStatistics, LabelAssignment?> assign, CancellationToken ct = default)
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
    public async Task<long> RelabelAsync(string scorerModel, int gmmVersion, Func<StoredStatistics, LabelAssignment?> assign,
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
        Func<StoredStatistics, LabelAssignment?> assign, string after, string[]? ids, CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var rows = ids is null
            ? await ProvisionalScoreQueries.LockPageAsync(conn, tx, scorerModel, after, PageSize, ct)
            : await ProvisionalScoreQueries.LockAsync(conn, tx, scorerModel, ids, ct);
        if (rows.Count == 0)
        {
            await tx.CommitAsync(ct);
            return (0, null);
        }

        // Statistics no mixture can place keep the provisional label, with a uniform posterior and the version.
        var verdicts = LabelAssignment.OrUniform(rows.Select(r => assign(r.Statistics)).ToArray(), _ => ProvisionalVerdict.Label);
        var labelled = rows.Select((r, i) => (r.Id, verdicts[i])).ToList();
        var changed = await ProvisionalScoreQueries.LabelAsync(conn, tx, scorerModel, gmmVersion, labelled, ct);
        await tx.CommitAsync(ct);
        return (changed, rows[^1].Id);
    }
}
