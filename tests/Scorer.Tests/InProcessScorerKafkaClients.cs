using Confluent.Kafka;
using Reweighting.InProcessKafka;

namespace Reweighting.Scorer.Tests;

/// <summary>The scorer's clients on the in-process broker: the tests' own, as the service does not know the broker.</summary>
internal sealed class InProcessScorerKafkaClients(InProcessKafkaCluster cluster) : IScorerKafkaClients
{
    public ConsumerBuilder<byte[]?, byte[]?> ConsumerBuilder(ConsumerConfig config) => cluster.ConsumerBuilder<byte[]?, byte[]?>(config);

    public IProducer<byte[]?, byte[]> DeadLetterProducer(ProducerConfig config) => cluster.ProducerBuilder<byte[]?, byte[]>(config).Build();

    public IProducer<byte[], byte[]> ScoredBatchProducer(ProducerConfig config) => cluster.ProducerBuilder<byte[], byte[]>(config).Build();
}
