using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Xunit;

namespace Reweighting.InProcessKafka.Tests;

public class ProduceConsumeTests
{
    [Fact]
    public async Task ProduceAsync_reports_the_partition_and_offset_the_record_was_written_at()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 3);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());

        var first = await producer.ProduceAsync(new TopicPartition("docs", 2), KafkaTestKit.Message("k", "a"));
        var second = await producer.ProduceAsync(new TopicPartition("docs", 2), KafkaTestKit.Message("k", "b"));

        first.TopicPartitionOffset.Should().Be(new TopicPartitionOffset("docs", 2, 0));
        second.Offset.Value.Should().Be(1);
        second.Status.Should().Be(PersistenceStatus.Persisted);
        second.Message.Timestamp.Type.Should().Be(TimestampType.CreateTime);
        cluster.Read(new TopicPartition("docs", 2)).Select(r => Encoding.UTF8.GetString(r.Message.Value)).Should().Equal("a", "b");
    }

    [Fact]
    public void Each_partition_is_consumed_in_the_order_it_was_produced()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 4);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        var keys = Enumerable.Range(0, 10).Select(k => $"doc-{k}").ToList();
        foreach (int seq in Enumerable.Range(0, 20))
            foreach (var key in keys)
                producer.Produce("docs", KafkaTestKit.Message(key, $"{key}:{seq}"));
        producer.Flush(TimeSpan.FromSeconds(5)).Should().Be(0);

        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Subscribe("docs");
        var results = KafkaTestKit.Take(consumer, 200);

        foreach (var partition in results.GroupBy(r => r.Partition))
            partition.Select(r => r.Offset.Value).Should().BeInAscendingOrder().And.OnlyHaveUniqueItems();
        foreach (var key in keys)
            results.Where(r => r.Message.Key == key).Select(r => int.Parse(r.Message.Value.Split(':')[1]))
                .Should().Equal(Enumerable.Range(0, 20), $"records of {key} share a partition");
    }

    [Fact]
    public void Delivery_handlers_run_on_the_producers_thread_and_Flush_waits_for_them()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 2);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        var reports = new List<DeliveryReport<string, string>>();
        int callerThread = Environment.CurrentManagedThreadId;
        var handlerThreads = new HashSet<int>();

        for (int i = 0; i < 5; i++)
            producer.Produce("docs", KafkaTestKit.Message("k", $"v{i}"), r =>
            {
                lock (reports)
                {
                    reports.Add(r);
                    handlerThreads.Add(Environment.CurrentManagedThreadId);
                }
            });
        producer.Flush(TimeSpan.FromSeconds(5)).Should().Be(0);

        reports.Select(r => r.Offset.Value).Should().Equal(0, 1, 2, 3, 4);
        reports.Should().OnlyContain(r => r.Error.Code == ErrorCode.NoError && r.Status == PersistenceStatus.Persisted);
        handlerThreads.Should().NotContain(callerThread);
    }

    [Fact]
    public async Task Headers_timestamps_and_null_keys_round_trip()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<Null, string>(KafkaTestKit.Producer());
        var sent = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        await producer.ProduceAsync("docs", new Message<Null, string>
        {
            Value = "v",
            Headers = new Headers { { "schema", "1"u8.ToArray() } },
            Timestamp = new Timestamp(sent),
        });

        using var consumer = cluster.CreateConsumer<Ignore, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));
        var result = consumer.Consume(TimeSpan.FromSeconds(5))!;

        result.Message.Value.Should().Be("v");
        result.Message.Headers.GetLastBytes("schema").Should().Equal("1"u8.ToArray());
        result.Message.Timestamp.UnixTimestampMs.Should().Be(sent.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task Consume_blocks_until_another_thread_produces()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));
        consumer.Consume(TimeSpan.FromMilliseconds(50)).Should().BeNull("nothing has been produced yet");

        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        var producing = Task.Run(async () =>
        {
            await Task.Delay(150);
            await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "late"));
        });
        var clock = Stopwatch.StartNew();
        var result = consumer.Consume(TimeSpan.FromSeconds(10));
        clock.Stop();

        result!.Message.Value.Should().Be("late");
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(100)).And.BeLessThan(TimeSpan.FromSeconds(5));
        await producing;
    }

    [Fact]
    public void Consume_with_a_cancellation_token_throws_when_cancelled()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var consume = () => consumer.Consume(cancel.Token);

        consume.Should().Throw<OperationCanceledException>();
    }

    [Fact]
    public async Task Partition_EOF_is_reported_once_per_arrival_at_the_end_when_enabled()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "a"));
        var config = KafkaTestKit.Consumer("g");
        config.EnablePartitionEof = true;
        using var consumer = cluster.CreateConsumer<string, string>(config);
        consumer.Assign(new TopicPartition("docs", 0));

        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("a");
        var eof = consumer.Consume(TimeSpan.FromSeconds(1))!;
        eof.IsPartitionEOF.Should().BeTrue();
        eof.Message.Should().BeNull();
        eof.TopicPartitionOffset.Should().Be(new TopicPartitionOffset("docs", 0, 1));
        consumer.Consume(TimeSpan.FromMilliseconds(50)).Should().BeNull("EOF is reported once, not on every poll");

        await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "b"));
        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("b");
        consumer.Consume(TimeSpan.FromSeconds(1))!.IsPartitionEOF.Should().BeTrue();
    }

    [Fact]
    public void Without_EnablePartitionEof_the_end_of_a_partition_is_silent()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));

        consumer.Consume(TimeSpan.FromMilliseconds(50)).Should().BeNull();
    }

    [Fact]
    public void Seek_rewinds_and_skips_and_Position_follows()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        for (int i = 0; i < 5; i++) producer.Produce("docs", KafkaTestKit.Message("k", $"v{i}"));
        producer.Flush(TimeSpan.FromSeconds(5));
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        var tp = new TopicPartition("docs", 0);
        consumer.Assign(tp);
        consumer.Position(tp).Should().Be(Offset.Unset, "nothing has been consumed yet");

        KafkaTestKit.Take(consumer, 3).Select(r => r.Message.Value).Should().Equal("v0", "v1", "v2");
        consumer.Position(tp).Value.Should().Be(3);
        consumer.Seek(new TopicPartitionOffset(tp, 1));
        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v1");
        consumer.Seek(new TopicPartitionOffset(tp, Offset.End));
        consumer.Consume(TimeSpan.FromMilliseconds(50)).Should().BeNull();
        consumer.Seek(new TopicPartitionOffset(tp, Offset.Beginning));
        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v0");
    }

    [Fact]
    public void Seeking_a_partition_that_is_not_assigned_fails_like_librdkafka()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));

        var seek = () => consumer.Seek(new TopicPartitionOffset("docs", 0, 0));

        seek.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.Local_UnknownPartition);
    }

    [Fact]
    public void A_paused_partition_yields_nothing_until_resumed_while_others_flow()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 2);
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        for (int i = 0; i < 3; i++)
        {
            producer.Produce(new TopicPartition("docs", 0), KafkaTestKit.Message("k", $"p0-{i}"));
            producer.Produce(new TopicPartition("docs", 1), KafkaTestKit.Message("k", $"p1-{i}"));
        }
        producer.Flush(TimeSpan.FromSeconds(5));
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign([new TopicPartition("docs", 0), new TopicPartition("docs", 1)]);

        consumer.Pause([new TopicPartition("docs", 0)]);
        KafkaTestKit.Take(consumer, 3).Should().OnlyContain(r => r.Partition == 1);
        consumer.Consume(TimeSpan.FromMilliseconds(50)).Should().BeNull("partition 0 is paused");
        consumer.Resume([new TopicPartition("docs", 0)]);

        KafkaTestKit.Take(consumer, 3).Select(r => r.Message.Value).Should().Equal("p0-0", "p0-1", "p0-2");
    }

    [Fact]
    public void Consume_returns_nothing_for_a_TimeSpan_timeout_of_zero_when_idle()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));

        consumer.Consume(TimeSpan.Zero).Should().BeNull();
    }
}
