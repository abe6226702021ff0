using Confluent.Kafka;
using FluentAssertions;
using Xunit;

namespace Reweighting.InProcessKafka.Tests;

public class OffsetTests
{
    private static InProcessKafkaCluster ClusterWith(int messages, string topic = "docs", InProcessKafkaOptions? options = null)
    {
        var cluster = new InProcessKafkaCluster(options);
        cluster.CreateTopic(topic);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        for (int i = 0; i < messages; i++) producer.Produce(topic, KafkaTestKit.Message("k", $"v{i}"));
        producer.Flush(TimeSpan.FromSeconds(5));
        return cluster;
    }

    [Fact]
    public void A_new_consumer_in_the_group_resumes_from_the_committed_offset()
    {
        var cluster = ClusterWith(6);
        using (var first = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g")))
        {
            first.Subscribe("docs");
            KafkaTestKit.Take(first, 3);
            first.Commit().Should().Equal(new TopicPartitionOffset("docs", 0, 3));
            first.Close();
        }
        cluster.CommittedOffset("g", new TopicPartition("docs", 0)).Value.Should().Be(3);

        using var second = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        second.Subscribe("docs");

        KafkaTestKit.Take(second, 3).Select(r => r.Message.Value).Should().Equal("v3", "v4", "v5");
        second.Committed(TimeSpan.FromSeconds(1)).Should().Equal(new TopicPartitionOffset("docs", 0, 3));
    }

    [Fact]
    public void Close_commits_the_stored_offsets_when_auto_commit_is_on()
    {
        var cluster = ClusterWith(5);
        var config = KafkaTestKit.Consumer("g", autoCommit: true);
        config.AutoCommitIntervalMs = 60_000;
        using var consumer = cluster.CreateConsumer<string, string>(config);
        consumer.Subscribe("docs");
        KafkaTestKit.Take(consumer, 2);
        cluster.CommittedOffset("g", new TopicPartition("docs", 0)).Should().Be(Offset.Unset, "the interval has not passed");

        consumer.Close();

        cluster.CommittedOffset("g", new TopicPartition("docs", 0)).Value.Should().Be(2);
    }

    [Fact]
    public void Auto_commit_writes_the_stored_offsets_once_the_interval_has_passed()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = ClusterWith(5, options: new InProcessKafkaOptions { Time = clock });
        var config = KafkaTestKit.Consumer("g", autoCommit: true);
        config.AutoCommitIntervalMs = 1000;
        using var consumer = cluster.CreateConsumer<string, string>(config);
        consumer.Assign(new TopicPartition("docs", 0));
        KafkaTestKit.Take(consumer, 2);

        clock.Advance(TimeSpan.FromSeconds(2));
        consumer.Consume(TimeSpan.FromMilliseconds(10));

        cluster.CommittedOffset("g", new TopicPartition("docs", 0)).Value.Should().BeGreaterThanOrEqualTo(2);
    }

    [Fact]
    public void With_manual_offset_store_only_stored_offsets_are_committed()
    {
        var cluster = ClusterWith(5);
        var config = KafkaTestKit.Consumer("g");
        config.EnableAutoOffsetStore = false;
        using var consumer = cluster.CreateConsumer<string, string>(config);
        consumer.Assign(new TopicPartition("docs", 0));
        var taken = KafkaTestKit.Take(consumer, 3);

        consumer.StoreOffset(taken[0]);
        consumer.Commit().Should().Equal(new TopicPartitionOffset("docs", 0, 1));

        var again = () => consumer.Commit();
        again.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.Local_NoOffset, "nothing new was stored");
    }

    [Fact]
    public void StoreOffset_is_refused_while_enable_auto_offset_store_is_on()
    {
        var cluster = ClusterWith(1);
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));
        var result = KafkaTestKit.Take(consumer, 1)[0];

        var store = () => consumer.StoreOffset(result);

        store.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.Local_InvalidArg);
    }

    [Fact]
    public void StoreOffset_for_a_partition_that_is_not_assigned_fails()
    {
        var cluster = ClusterWith(1);
        var config = KafkaTestKit.Consumer("g");
        config.EnableAutoOffsetStore = false;
        using var consumer = cluster.CreateConsumer<string, string>(config);

        var store = () => consumer.StoreOffset(new TopicPartitionOffset("docs", 0, 1));

        store.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.Local_State);
    }

    [Theory]
    [InlineData(AutoOffsetReset.Earliest, new[] { "v0", "v1", "late" })]
    [InlineData(AutoOffsetReset.Latest, new[] { "late" })]
    public async Task Without_a_committed_offset_auto_offset_reset_picks_the_start(AutoOffsetReset reset, string[] expected)
    {
        var cluster = ClusterWith(2);
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g", reset));
        consumer.Subscribe("docs");
        var values = new List<string>();
        void Drain()
        {
            ConsumeResult<string, string>? result;
            while ((result = consumer.Consume(TimeSpan.FromMilliseconds(100))) is not null) values.Add(result.Message.Value);
        }

        Drain(); // joins, is assigned, resolves the start position
        consumer.Assignment.Should().Equal(new TopicPartition("docs", 0));
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "late"));
        Drain();

        values.Should().Equal(expected);
    }

    [Fact]
    public void Auto_offset_reset_error_raises_a_consume_error_until_the_application_seeks()
    {
        var cluster = ClusterWith(2);
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g", AutoOffsetReset.Error));
        var tp = new TopicPartition("docs", 0);
        consumer.Assign(tp);

        var consume = () => consumer.Consume(TimeSpan.FromSeconds(1));
        consume.Should().Throw<ConsumeException>().Which.Error.Code.Should().Be(ErrorCode.Local_AutoOffsetReset);
        consumer.Consume(TimeSpan.FromMilliseconds(30)).Should().BeNull();

        consumer.Seek(new TopicPartitionOffset(tp, 1));
        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v1");
    }

    [Fact]
    public void A_committed_offset_that_retention_deleted_resets_to_the_earliest_record()
    {
        var cluster = ClusterWith(6);
        var tp = new TopicPartition("docs", 0);
        cluster.SetCommittedOffsets("g", [new TopicPartitionOffset(tp, 1)]);
        cluster.DeleteRecords(tp, 4);
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(tp);

        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v4");
        cluster.Watermarks(tp).Low.Value.Should().Be(4);
    }

    [Fact]
    public void Assign_with_an_explicit_offset_starts_there()
    {
        var cluster = ClusterWith(5);
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));

        consumer.Assign(new TopicPartitionOffset("docs", 0, 3));

        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v3");
    }

    [Fact]
    public void The_offsets_committed_handler_hears_of_commits_on_the_next_poll()
    {
        var cluster = ClusterWith(3);
        var heard = new List<CommittedOffsets>();
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"),
            configure: b => b.SetOffsetsCommittedHandler((_, offsets) => heard.Add(offsets)));
        consumer.Assign(new TopicPartition("docs", 0));
        KafkaTestKit.Take(consumer, 2);

        consumer.Commit();
        heard.Should().BeEmpty("callbacks are served inside Consume");
        consumer.Consume(TimeSpan.FromMilliseconds(10));

        heard.Should().ContainSingle().Which.Offsets.Should().ContainSingle().Which.Offset.Value.Should().Be(2);
    }

    [Fact]
    public void Offsets_for_times_finds_the_first_record_at_or_after_a_timestamp()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        var t0 = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 3; i++) cluster.AppendRaw("docs", 0, null, [(byte)i], timestamp: t0.AddMinutes(i));
        using var consumer = cluster.CreateConsumer<Ignore, byte[]>(KafkaTestKit.Consumer("g"));

        var offsets = consumer.OffsetsForTimes([new TopicPartitionTimestamp("docs", 0, new Timestamp(t0.AddSeconds(30)))], TimeSpan.FromSeconds(1));

        offsets.Should().Equal(new TopicPartitionOffset("docs", 0, 1));
    }
}
