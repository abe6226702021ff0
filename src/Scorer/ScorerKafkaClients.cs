using Confluent.Kafka;

namespace Reweighting.Scorer;

/// <summary>Makes the scorer's Kafka clients: Confluent's in production, the in-process broker's in the demo and the tests.</summary>
public interface IScorerKafkaClients
{
    /// <summary>A builder of the <c>documents</c> consumer; the pipeline adds its rebalance handlers and builds it.</summary>
    ConsumerBuilder<byte[]?, byte[]?> ConsumerBuilder(ConsumerConfig config);

    /// <summary>The dead-letter producer.</summary>
    IProducer<byte[]?, byte[]> DeadLetterProducer(ProducerConfig config);

    /// <summary>The outbox relay's producer of <c>scored-batches</c> (made again after a fatal producer error).</summary>
    IProducer<byte[], byte[]> ScoredBatchProducer(ProducerConfig config);
}

/// <summary>Confluent.Kafka's clients (librdkafka).</summary>
public sealed class ConfluentScorerKafkaClients : IScorerKafkaClients
{
    /// <inheritdoc />
    public ConsumerBuilder<byte[]?, byte[]?> ConsumerBuilder(ConsumerConfig config) => new(config);

    /// <inheritdoc />
    public IProducer<byte[]?, byte[]> DeadLetterProducer(ProducerConfig config) => new ProducerBuilder<byte[]?, byte[]>(config).Build();

    /// <inheritdoc />
    public IProducer<byte[], byte[]> ScoredBatchProducer(ProducerConfig config) => new ProducerBuilder<byte[], byte[]>(config).Build();
}

/// <summary>The librdkafka settings the scorer runs with.</summary>
public static class ScorerKafkaConfig
{
    /// <summary>Consumer: the group, cooperative-sticky assignment, offsets stored by the pipeline only after
    /// PostgreSQL committed them (and committed to Kafka for lag monitoring), then the user's extra settings.</summary>
    public static ConsumerConfig Consumer(ScorerOptions options)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = options.GroupId,
            ClientId = options.InstanceId,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
        };
        foreach (var (key, value) in options.Consumer) config.Set(key, value);
        // Not overridable: an offset stored before the batch is in PostgreSQL would misreport lag.
        config.EnableAutoOffsetStore = false;
        return config;
    }

    /// <summary>Connection of the outbox relay's producer (bootstrap servers, client id, the user's extra producer
    /// settings); the relay lays idempotence, acks and compression over it.</summary>
    public static ProducerConfig ScoredBatchConnection(ScorerOptions options)
    {
        var config = new ProducerConfig { BootstrapServers = options.BootstrapServers, ClientId = options.InstanceId + "-outbox" };
        foreach (var (key, value) in options.Producer) config.Set(key, value);
        return config;
    }

    /// <summary>Dead-letter producer: idempotent, acknowledged by all replicas, then the user's extra settings.</summary>
    public static ProducerConfig DeadLetterProducer(ScorerOptions options)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = options.BootstrapServers,
            ClientId = options.InstanceId + "-dlq",
            EnableIdempotence = true,
            Acks = Acks.All,
        };
        foreach (var (key, value) in options.Producer) config.Set(key, value);
        return config;
    }
}
