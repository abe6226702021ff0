using Confluent.Kafka;
using Reweighting.InProcessKafka;
using Reweighting.Trainer.Hosting;

namespace Reweighting.Trainer.Tests;

/// <summary>The trainer's consumer on the in-process broker, reading the <see cref="ScoredStream"/> topic, and its
/// dead-letter producer.</summary>
internal sealed class InProcessTrainerConsumers(InProcessKafkaCluster cluster) : ITrainerConsumerFactory
{
    public IConsumer<string?, byte[]> Create(TrainerOptions options) => ScoredStream.Consumer(cluster);

    public IReadOnlyList<TopicPartition> Partitions(string topic) => ScoredStream.Partitions(cluster);

    public IProducer<string?, byte[]> CreateDeadLetterProducer(TrainerOptions options) => cluster.CreateProducer<string?, byte[]>(new ProducerConfig());
}
