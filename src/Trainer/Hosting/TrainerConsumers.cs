using Confluent.Kafka;

namespace Reweighting.Trainer.Hosting;

/// <summary>Where the worker gets its Kafka clients: the consumer, the topic's partitions and the dead-letter producer (a
/// real broker, or a test's cluster).</summary>
public interface ITrainerConsumerFactory
{
    /// <summary>A consumer for the trainer's group; the trainer assigns it partitions itself.</summary>
    IConsumer<string?, byte[]> Create(TrainerOptions options);

    /// <summary>The partitions of <paramref name="topic"/>.</summary>
    IReadOnlyList<TopicPartition> Partitions(string topic);

    /// <summary>A producer for <see cref="TrainerOptions.DeadLetterTopic"/>, where batches the trainer cannot train on go
    /// with their reason.</summary>
    IProducer<string?, byte[]> CreateDeadLetterProducer(TrainerOptions options);
}

/// <summary>Consumers of a real Kafka cluster configured by librdkafka settings (configuration section "Kafka", e.g.
/// Kafka:BootstrapServers); partitions from the broker's metadata.</summary>
public sealed class KafkaTrainerConsumerFactory(IReadOnlyDictionary<string, string> settings) : ITrainerConsumerFactory
{
    public IConsumer<string?, byte[]> Create(TrainerOptions options)
    {
        var config = new ConsumerConfig(settings.ToDictionary(kv => kv.Key, kv => kv.Value))
        {
            GroupId = options.ConsumerGroup,
            // Offsets live in the checkpoint; the group's commits only show lag.
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            EnablePartitionEof = false,
        };
        return new ConsumerBuilder<string?, byte[]>(config).Build();
    }

    public IProducer<string?, byte[]> CreateDeadLetterProducer(TrainerOptions options) =>
        new ProducerBuilder<string?, byte[]>(new ProducerConfig(settings.ToDictionary(kv => kv.Key, kv => kv.Value))
        {
            EnableIdempotence = true,
            // A dead letter carries the rejected batch in base64 (4/3 of a scored batch of up to 16 MiB, see
            // infra/kafka/create-topics.sh); a larger one is sent without the batch's bytes.
            MessageMaxBytes = DeadLetterMessageMaxBytes,
        }).Build();

    /// <summary>The largest dead letter the producer sends (the dead-letter topic's max.message.bytes).</summary>
    public const int DeadLetterMessageMaxBytes = 24 * 1024 * 1024;

    public IReadOnlyList<TopicPartition> Partitions(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig(settings.ToDictionary(kv => kv.Key, kv => kv.Value))).Build();
        var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(30));
        var found = metadata.Topics.SingleOrDefault(t => t.Topic == topic);
        if (found is null || found.Error.IsError || found.Partitions.Count == 0)
            throw new InvalidOperationException($"topic {topic} was not found on the Kafka cluster ({found?.Error.Reason ?? "no metadata"}); create it first (infra/kafka/create-topics.sh)");
        return found.Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).OrderBy(p => p.Partition.Value).ToList();
    }
}
