using Confluent.Kafka;
using Npgsql;
using NpgsqlTypes;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Scorer.Outbox;
using Reweighting.InProcessKafka;

namespace Reweighting.Scorer.Tests;

/// <summary>Outbox rows with real scored-batch payloads, relays wired to the in-process broker, and what the topic holds.</summary>
internal static class OutboxTestData
{
    public static readonly OutboxRelayOptions FastOptions = new()
    {
        BatchSize = 8,
        PollInterval = TimeSpan.FromMilliseconds(50),
        RetryBaseDelay = TimeSpan.FromMilliseconds(10),
        MaxRetryDelay = TimeSpan.FromMilliseconds(100),
        DeliveryTimeout = TimeSpan.FromSeconds(5),
    };

    public static InProcessKafkaCluster Cluster()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic(Topics.ScoredBatches, partitions: 1);
        return cluster;
    }

    public static OutboxRelay Relay(NpgsqlDataSource db, InProcessKafkaCluster cluster, OutboxRelayOptions? options = null,
        List<ProducerConfig>? configs = null) =>
        new(db, config =>
        {
            configs?.Add(config);
            return cluster.CreateProducer<byte[], byte[]>(config);
        }, options ?? FastOptions);

    /// <summary>Writes <paramref name="count"/> outbox rows, each 1 ms younger than the one before; returns their ids in order.</summary>
    public static async Task<List<Guid>> AddRowsAsync(NpgsqlDataSource db, int count, DateTimeOffset? start = null)
    {
        var at = start ?? new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var ids = new List<Guid>(count);
        for (var i = 0; i < count; i++)
        {
            var id = Guid.NewGuid();
            ids.Add(id);
            await using var cmd = db.CreateCommand("INSERT INTO scored_batch_outbox (batch_id, payload, created_at) VALUES ($1, $2, $3)");
            cmd.Parameters.Add(new NpgsqlParameter { Value = id });
            cmd.Parameters.Add(new NpgsqlParameter { Value = Payload(id, i), NpgsqlDbType = NpgsqlDbType.Bytea });
            cmd.Parameters.Add(new NpgsqlParameter { Value = at.AddMilliseconds(i) });
            await cmd.ExecuteNonQueryAsync();
        }
        return ids;
    }

    public static byte[] Payload(Guid id, int i) => ScoredBatchCodec.Encode(new ScoredBatch(id, "proxy-test", 1,
        new DateTimeOffset(2025, 6, 1, 0, 0, 0, TimeSpan.Zero), 3,
        [new ScoredDocument($"doc-{i}", "web", 3, 11, 2.5, 0.25, SampleLabel.Easy, 0.9f, [0.9f, 0.05f, 0.05f], WindowedTokens.FromWindows([1, 2, 3, i]))]));

    /// <summary>Batch ids of the records on the topic, in log order, read from the keys.</summary>
    public static List<Guid> PublishedIds(InProcessKafkaCluster cluster) =>
        cluster.ReadTopic(Topics.ScoredBatches).Select(r => Guid.Parse(System.Text.Encoding.UTF8.GetString(r.Message.Key))).ToList();

    public static async Task<long> UnpublishedAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT count(*) FROM scored_batch_outbox WHERE published_at IS NULL");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the condition did not hold within {seconds} s");
            await Task.Delay(20);
        }
    }
}
