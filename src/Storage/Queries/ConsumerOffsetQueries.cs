using Npgsql;
using Reweighting.Contracts;

namespace Reweighting.Storage.Queries;

/// <summary>Reads stored consumer offsets: where a restarted consumer resumes.</summary>
public sealed class ConsumerOffsetQueries(NpgsqlDataSource dataSource)
{
    /// <summary>The stored next offset of every partition of a topic for a consumer group.</summary>
    public async Task<IReadOnlyList<ConsumerOffset>> GetAsync(string consumerGroup, string topic, CancellationToken ct = default)
    {
        await using var cmd = dataSource.CreateCommand("""
            SELECT partition, next_offset FROM consumer_offsets
            WHERE consumer_group = $1 AND topic = $2 ORDER BY partition
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = consumerGroup });
        cmd.Parameters.Add(new NpgsqlParameter { Value = topic });
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var offsets = new List<ConsumerOffset>();
        while (await reader.ReadAsync(ct))
            offsets.Add(new ConsumerOffset(consumerGroup, topic, reader.GetInt32(0), reader.GetInt64(1)));
        return offsets;
    }
}
