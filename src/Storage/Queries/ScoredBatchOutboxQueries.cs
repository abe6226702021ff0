using Npgsql;
using NpgsqlTypes;

namespace Reweighting.Storage.Queries;

/// <summary>The relay's side of the transactional outbox (<c>scored_batch_outbox</c>), inside the caller's
/// transaction: claimed rows stay locked until it ends, and are marked published in it.</summary>
public static class ScoredBatchOutboxQueries
{
    /// <summary>Claims up to <paramref name="limit"/> of the oldest unpublished rows (<c>FOR UPDATE SKIP LOCKED</c>: rows
    /// another relay holds are passed over), leaving out <paramref name="skip"/>; in <c>created_at</c> order.</summary>
    public static async Task<List<(Guid BatchId, byte[] Payload)>> ClaimAsync(NpgsqlConnection conn, NpgsqlTransaction tx, int limit, Guid[] skip,
        CancellationToken ct = default)
    {
        // The partial index on created_at WHERE published_at IS NULL serves this scan.
        await using var claim = new NpgsqlCommand("""
            SELECT batch_id, payload FROM scored_batch_outbox
            WHERE published_at IS NULL AND NOT (batch_id = ANY($2))
            ORDER BY created_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
            """, conn, tx);
        claim.Parameters.Add(new NpgsqlParameter { Value = limit });
        claim.Parameters.Add(new NpgsqlParameter { Value = skip, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        var rows = new List<(Guid, byte[])>(limit);
        await using var reader = await claim.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add((reader.GetGuid(0), reader.GetFieldValue<byte[]>(1)));
        return rows;
    }

    /// <summary>Marks the rows <paramref name="batchIds"/> published now (those not marked already); returns how many.</summary>
    public static async Task<int> MarkPublishedAsync(NpgsqlConnection conn, NpgsqlTransaction tx, Guid[] batchIds, CancellationToken ct = default)
    {
        await using var mark = new NpgsqlCommand(
            "UPDATE scored_batch_outbox SET published_at = now() WHERE batch_id = ANY($1) AND published_at IS NULL", conn, tx);
        mark.Parameters.Add(new NpgsqlParameter { Value = batchIds, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        return await mark.ExecuteNonQueryAsync(ct);
    }
}
