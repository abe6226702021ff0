using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Xunit;

namespace Reweighting.InProcessKafka.Tests;

public class PartitionerTests
{
    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        KeyPartitioner.Crc32("123456789"u8).Should().Be(0xCBF43926);
    }

    [Theory]
    [InlineData("21", -973932308)]
    [InlineData("foobar", -790332482)]
    public void Murmur2_matches_the_Java_clients_hash(string key, int expected)
    {
        KeyPartitioner.Murmur2(Encoding.UTF8.GetBytes(key)).Should().Be(expected);
    }

    [Fact]
    public async Task Records_with_the_same_key_land_in_the_same_partition()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("t", 8);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());

        var partitions = new HashSet<int>();
        for (int i = 0; i < 20; i++)
            partitions.Add((await producer.ProduceAsync("t", KafkaTestKit.Message("same-key", $"v{i}"))).Partition.Value);
        var expected = (int)(KeyPartitioner.Crc32("same-key"u8) % 8);

        partitions.Should().Equal(expected);
    }

    [Fact]
    public async Task The_murmur2_partitioner_places_keys_like_the_Java_client()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("t", 6);
        using var producer = cluster.CreateProducer<string, string>(new ProducerConfig { Partitioner = Partitioner.Murmur2 });

        var result = await producer.ProduceAsync("t", KafkaTestKit.Message("foobar", "v"));

        result.Partition.Value.Should().Be((-790332482 & 0x7fffffff) % 6);
    }
}
