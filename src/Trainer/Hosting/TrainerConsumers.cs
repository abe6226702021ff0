using Confluent.Kafka;

namespace Reweighting.Trainer.Hosting;

/// <summary>Where the worker gets its Kafka consumer and the topic's partitions (a real broker, or a test's cluster).</summary>
public interface ITrainerConsumerFactory
{
    /// <summary>A consumer for the trainer's group; the trainer assigns it partitions itself.</summary>
    IConsumer<string?, byte[]> Create(TrainerOptions options);

    /// <summary>The partitions of <paramref name="topic"/>.</summary>
    IReadOnlyList<TopicPartition> Partitions(string topic);
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
