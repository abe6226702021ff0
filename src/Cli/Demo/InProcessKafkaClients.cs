using Confluent.Kafka;
using Reweighting.InProcessKafka;
using Reweighting.Scorer;
using Reweighting.Trainer;
using Reweighting.Trainer.Hosting;

namespace Reweighting.Cli.Demo;

// The services know only their Kafka client factories; the demo, which composes them in one process, is the one
// place that plugs them into the in-process broker.

/// <summary>The scorer's clients on the in-process broker.</summary>
internal sealed class InProcessScorerKafkaClients(InProcessKafkaCluster cluster) : IScorerKafkaClients
{
    public ConsumerBuilder<byte[]?, byte[]?> ConsumerBuilder(ConsumerConfig config) => cluster.ConsumerBuilder<byte[]?, byte[]?>(config);

    public IProducer<byte[]?, byte[]> DeadLetterProducer(ProducerConfig config) => cluster.ProducerBuilder<byte[]?, byte[]>(config).Build();

    public IProducer<byte[], byte[]> ScoredBatchProducer(ProducerConfig config) => cluster.ProducerBuilder<byte[], byte[]>(config).Build();
}

/// <summary>The trainer's consumer and dead-letter producer on the in-process broker.</summary>
internal sealed class InProcessTrainerConsumers(InProcessKafkaCluster cluster) : ITrainerConsumerFactory
{
    public IConsumer<string?, byte[]> Create(TrainerOptions options) => cluster.CreateConsumer<string?, byte[]>(new ConsumerConfig
    {
        GroupId = options.ConsumerGroup, EnableAutoCommit = false, EnableAutoOffsetStore = false,
    });

    public IProducer<string?, byte[]> CreateDeadLetterProducer(TrainerOptions options) => cluster.CreateProducer<string?, byte[]>(new ProducerConfig());

    public IReadOnlyList<TopicPartition> Partitions(string topic) =>
        Enumerable.Range(0, cluster.PartitionCount(topic)).Select(p => new TopicPartition(topic, p)).ToList();
}
