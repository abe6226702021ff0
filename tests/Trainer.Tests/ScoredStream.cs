using Confluent.Kafka;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.InProcessKafka;

namespace Reweighting.Trainer.Tests;

/// <summary>Scored batches of synthetic documents over a 64-token vocabulary, produced into an in-process Kafka cluster.</summary>
internal static class ScoredStream
{
    public const int Vocab = 64;
    public const int EndOfText = 63;

    /// <summary>Batch number <paramref name="index"/>: a stable id, <paramref name="documents"/> documents whose tokens
    /// follow a simple pattern (so loss falls), one in four "noisy" with random tokens and high loss statistics.</summary>
    public static ScoredBatch Batch(int index, int documents = 3, int tokens = 20, int? gmmVersion = null)
    {
        var rng = new Random(index * 7919 + 1);
        var docs = new List<ScoredDocument>();
        for (var d = 0; d < documents; d++)
        {
            var noisy = (index + d) % 4 == 3;
            var length = tokens + rng.Next(-5, 6);
            var start = rng.Next(0, 40);
            var ids = Enumerable.Range(0, length).Select(i => noisy ? rng.Next(0, 62) : (start + i) % 40).ToArray();
            // Two windows, as the scorer cuts a long document: the second repeats the first's last token.
            var cut = length / 2;
            var windows = WindowedTokens.FromWindows(ids[..(cut + 1)], ids[cut..]);
            var mean = noisy ? 5.0 + rng.NextDouble() : 2.0 + rng.NextDouble();
            var variance = noisy ? 3.0 + rng.NextDouble() : 0.5 + 0.5 * rng.NextDouble();
            docs.Add(new ScoredDocument($"doc-{index}-{d}", d % 2 == 0 ? "web" : "books", length, length * 4L, mean, variance,
                noisy ? SampleLabel.Noisy : SampleLabel.Easy, 0.9f, noisy ? [0.05f, 0.05f, 0.9f] : [0.9f, 0.05f, 0.05f], windows));
        }
        return new ScoredBatch(IdOf(index), "tiny-proxy", gmmVersion, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(index),
            3, docs);
    }

    public static Guid IdOf(int index) => new($"00000000-0000-0000-0000-{index:D12}");

    /// <summary>Produces batches (key = batch id) and waits for their delivery.</summary>
    public static void Produce(InProcessKafkaCluster cluster, IEnumerable<ScoredBatch> batches)
    {
        using var producer = cluster.CreateProducer<string?, byte[]>(new ProducerConfig { EnableIdempotence = true });
        foreach (var b in batches)
            producer.ProduceAsync(Topics.ScoredBatches, new Message<string?, byte[]> { Key = b.BatchId.ToString("D"), Value = ScoredBatchCodec.Encode(b) })
                .GetAwaiter().GetResult();
        producer.Flush(TimeSpan.FromSeconds(10));
    }

    public static InProcessKafkaCluster Cluster(int partitions = 1)
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic(Topics.ScoredBatches, partitions);
        return cluster;
    }

    public static IConsumer<string?, byte[]> Consumer(InProcessKafkaCluster cluster) =>
        cluster.CreateConsumer<string?, byte[]>(new ConsumerConfig
        {
            GroupId = "trainer", EnableAutoCommit = false, EnableAutoOffsetStore = false, AutoOffsetReset = AutoOffsetReset.Earliest,
        });

    public static IReadOnlyList<TopicPartition> Partitions(InProcessKafkaCluster cluster) =>
        Enumerable.Range(0, cluster.PartitionCount(Topics.ScoredBatches)).Select(p => new TopicPartition(Topics.ScoredBatches, p)).ToList();
}
