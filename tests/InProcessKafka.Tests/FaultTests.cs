using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Xunit;

namespace Reweighting.InProcessKafka.Tests;

public class FaultTests
{
    [Fact]
    public async Task A_poison_record_raises_a_value_deserialization_error_with_its_raw_bytes_and_consumption_moves_past_it()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("scores");
        using var producer = cluster.CreateProducer<string, int>(KafkaTestKit.Producer());
        await producer.ProduceAsync("scores", new Message<string, int> { Key = "a", Value = 1 });
        cluster.AppendRaw("scores", 0, "bad"u8.ToArray(), [0xde, 0xad, 0xbe], new Headers { { "origin", "x"u8.ToArray() } });
        await producer.ProduceAsync("scores", new Message<string, int> { Key = "c", Value = 3 });
        using var consumer = cluster.CreateConsumer<string, int>(KafkaTestKit.Consumer("g"));
        consumer.Subscribe("scores");

        KafkaTestKit.Take(consumer, 1)[0].Message.Value.Should().Be(1);
        var poison = () => consumer.Consume(TimeSpan.FromSeconds(1));
        var error = poison.Should().Throw<ConsumeException>().Which;

        error.Error.Code.Should().Be(ErrorCode.Local_ValueDeserialization);
        error.InnerException.Should().NotBeNull();
        error.ConsumerRecord.TopicPartitionOffset.Should().Be(new TopicPartitionOffset("scores", 0, 1));
        error.ConsumerRecord.Message.Key.Should().Equal("bad"u8.ToArray());
        error.ConsumerRecord.Message.Value.Should().Equal(0xde, 0xad, 0xbe);
        error.ConsumerRecord.Message.Headers.GetLastBytes("origin").Should().Equal("x"u8.ToArray());
        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be(3, "the consumer's position is past the poison record");
        consumer.Commit().Should().Equal(new TopicPartitionOffset("scores", 0, 3));
    }

    [Fact]
    public async Task A_poison_record_can_be_dead_lettered_from_the_exception()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("scores");
        cluster.CreateTopic("scores.dlq");
        cluster.AppendRaw("scores", 0, null, "not an int"u8.ToArray());
        using var consumer = cluster.CreateConsumer<Ignore, int>(KafkaTestKit.Consumer("g"));
        using var deadLetters = cluster.CreateProducer<byte[], byte[]>(KafkaTestKit.Producer());
        consumer.Assign(new TopicPartition("scores", 0));

        try
        {
            consumer.Consume(TimeSpan.FromSeconds(1));
        }
        catch (ConsumeException e) when (e.Error.Code == ErrorCode.Local_ValueDeserialization)
        {
            var record = e.ConsumerRecord.Message;
            record.Headers.Add("dlq-reason", Encoding.UTF8.GetBytes(e.Error.Reason));
            await deadLetters.ProduceAsync("scores.dlq", record);
        }

        var dead = cluster.ReadTopic("scores.dlq").Should().ContainSingle().Which.Message;
        dead.Value.Should().Equal("not an int"u8.ToArray());
        Encoding.UTF8.GetString(dead.Headers.GetLastBytes("dlq-reason")).Should().Contain("deserialization");
    }

    [Fact]
    public async Task A_failing_outage_raises_errors_and_recovery_neither_loses_nor_repeats_committed_progress()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        for (int i = 0; i < 4; i++) producer.Produce("docs", KafkaTestKit.Message("k", $"v{i}"));
        producer.Flush(TimeSpan.FromSeconds(5));
        var config = KafkaTestKit.Consumer("g");
        using var consumer = cluster.CreateConsumer<string, string>(config);
        consumer.Subscribe("docs");
        KafkaTestKit.Take(consumer, 2);
        consumer.Commit();

        using (cluster.StartOutage(ErrorCode.Local_AllBrokersDown))
        {
            cluster.IsAvailable.Should().BeFalse();
            var consume = () => consumer.Consume(TimeSpan.FromMilliseconds(500));
            consume.Should().Throw<ConsumeException>().Which.Error.Code.Should().Be(ErrorCode.Local_AllBrokersDown);
            var produce = async () => await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "lost"));
            var failure = (await produce.Should().ThrowAsync<ProduceException<string, string>>()).Which;
            failure.Error.Code.Should().Be(ErrorCode.Local_AllBrokersDown);
            failure.DeliveryResult.Status.Should().Be(PersistenceStatus.NotPersisted);
            var commit = () => consumer.Commit([new TopicPartitionOffset("docs", 0, 3)]);
            commit.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.Local_AllBrokersDown);
            var committed = () => consumer.Committed(TimeSpan.FromMilliseconds(100));
            committed.Should().Throw<KafkaException>();
        }

        cluster.IsAvailable.Should().BeTrue();
        cluster.CommittedOffset("g", new TopicPartition("docs", 0)).Value.Should().Be(2, "the failed commit changed nothing");
        KafkaTestKit.Take(consumer, 2).Select(r => r.Message.Value).Should().Equal("v2", "v3");
        consumer.Commit().Should().Equal(new TopicPartitionOffset("docs", 0, 4));
        consumer.Close();
        cluster.Read(new TopicPartition("docs", 0)).Should().HaveCount(4, "the produce during the outage was not written");

        using var restarted = cluster.CreateConsumer<string, string>(config);
        restarted.Subscribe("docs");
        await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "v4"));
        KafkaTestKit.Take(restarted, 1)[0].Message.Value.Should().Be("v4");
    }

    [Fact]
    public void An_outage_with_a_duration_ends_by_itself_on_the_clusters_clock()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { Time = clock });

        cluster.StartOutage(ErrorCode.Local_Transport, duration: TimeSpan.FromSeconds(10));
        cluster.IsAvailable.Should().BeFalse();
        clock.Advance(TimeSpan.FromSeconds(11));

        cluster.IsAvailable.Should().BeTrue();
    }

    [Fact]
    public async Task A_stalling_outage_holds_produced_messages_and_delivers_them_in_order_on_recovery()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        var errors = new List<Error>();
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer(),
            configure: b => b.SetErrorHandler((_, e) => { lock (errors) errors.Add(e); }));
        var consumerErrors = new List<Error>();
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"),
            configure: b => b.SetErrorHandler((_, e) => consumerErrors.Add(e)));
        consumer.Assign(new TopicPartition("docs", 0));

        cluster.StartOutage(ErrorCode.Local_AllBrokersDown, OutageBehaviour.Stall);
        var pending = Enumerable.Range(0, 3).Select(i => producer.ProduceAsync("docs", KafkaTestKit.Message("k", $"v{i}"))).ToList();
        consumer.Consume(TimeSpan.FromMilliseconds(100)).Should().BeNull("a stalled consumer waits instead of throwing");
        var all = Task.WhenAll(pending);
        (await Task.WhenAny(all, Task.Delay(100))).Should().NotBeSameAs(all, "messages wait for the brokers");
        consumerErrors.Should().ContainSingle().Which.Code.Should().Be(ErrorCode.Local_AllBrokersDown);
        cluster.EndOutage();

        (await all.WaitAsync(TimeSpan.FromSeconds(5))).Select(r => r.Offset.Value).Should().Equal(0, 1, 2);
        KafkaTestKit.Take(consumer, 3).Select(r => r.Message.Value).Should().Equal("v0", "v1", "v2");
        lock (errors) errors.Should().Contain(e => e.Code == ErrorCode.Local_AllBrokersDown);
    }

    [Fact]
    public async Task A_message_stalled_past_message_timeout_fails_with_Local_MsgTimedOut()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { Time = clock });
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(new ProducerConfig { MessageTimeoutMs = 1000 });
        cluster.StartOutage(behaviour: OutageBehaviour.Stall);

        var produced = producer.ProduceAsync("docs", KafkaTestKit.Message("k", "v"));
        clock.Advance(TimeSpan.FromSeconds(2));
        Func<Task> produce = () => produced;

        var failure = (await produce.Should().ThrowAsync<ProduceException<string, string>>()).Which;
        failure.Error.Code.Should().Be(ErrorCode.Local_MsgTimedOut);
        cluster.EndOutage();
        cluster.Read(new TopicPartition("docs", 0)).Should().BeEmpty();
    }

    [Fact]
    public void An_outage_longer_than_the_session_timeout_costs_members_their_partitions()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { Time = clock });
        cluster.CreateTopic("docs");
        var config = KafkaTestKit.Consumer("g");
        config.SessionTimeoutMs = 10_000;
        var lost = new List<TopicPartitionOffset>();
        using var consumer = cluster.CreateConsumer<string, string>(config,
            configure: b => b.SetPartitionsLostHandler((_, partitions) => lost.AddRange(partitions)));
        consumer.Subscribe("docs");
        KafkaTestKit.AwaitAssignment(consumer);

        cluster.StartOutage(behaviour: OutageBehaviour.Stall);
        clock.Advance(TimeSpan.FromSeconds(30));
        cluster.EndOutage();
        KafkaTestKit.PollUntil(() => lost.Count > 0 && consumer.Assignment.Count == 1, consumer);

        lost.Select(p => p.TopicPartition).Should().Equal(new TopicPartition("docs", 0));
    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    public async Task A_lost_acknowledgement_duplicates_only_without_idempotence(bool idempotent, int copies)
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer(idempotent));
        cluster.DropNextProduceAcks();

        var result = await producer.ProduceAsync("docs", KafkaTestKit.Message("batch-7", "payload"));

        result.Status.Should().Be(PersistenceStatus.Persisted);
        cluster.Read(new TopicPartition("docs", 0)).Should().HaveCount(copies);
        result.Offset.Value.Should().Be(copies - 1);
    }

    [Fact]
    public async Task A_lost_acknowledgement_without_retries_is_reported_as_possibly_persisted()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(new ProducerConfig { MessageSendMaxRetries = 0 });
        cluster.DropNextProduceAcks();

        var produce = async () => await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "v"));

        var failure = (await produce.Should().ThrowAsync<ProduceException<string, string>>()).Which;
        failure.Error.Code.Should().Be(ErrorCode.Local_MsgTimedOut);
        failure.DeliveryResult.Status.Should().Be(PersistenceStatus.PossiblyPersisted);
        cluster.Read(new TopicPartition("docs", 0)).Should().HaveCount(1);
    }

    [Fact]
    public async Task Injected_produce_and_commit_failures_hit_only_the_next_requests()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());
        cluster.FailNextProduces(1, ErrorCode.NotEnoughReplicas);

        var first = async () => await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "a"));
        (await first.Should().ThrowAsync<ProduceException<string, string>>()).Which.Error.Code.Should().Be(ErrorCode.NotEnoughReplicas);
        (await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "b"))).Offset.Value.Should().Be(0);

        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Assign(new TopicPartition("docs", 0));
        KafkaTestKit.Take(consumer, 1);
        cluster.FailNextCommits(1);
        var commit = () => consumer.Commit();
        commit.Should().Throw<KafkaException>().Which.Error.Code.Should().Be(ErrorCode.RebalanceInProgress);
        consumer.Commit().Should().Equal(new TopicPartitionOffset("docs", 0, 1));
    }

    [Fact]
    public void A_message_over_message_max_bytes_is_refused_at_the_call()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, byte[]>(new ProducerConfig { MessageMaxBytes = 1000 });

        var produce = () => producer.Produce("docs", new Message<string, byte[]> { Key = "k", Value = new byte[2000] });

        produce.Should().Throw<ProduceException<string, byte[]>>().Which.Error.Code.Should().Be(ErrorCode.MsgSizeTooLarge);
    }

    [Fact]
    public async Task A_serializer_failure_raises_a_value_serialization_error()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer(), valueSerializer: new FailingSerializer());

        var produce = async () => await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "v"));

        (await produce.Should().ThrowAsync<ProduceException<string, string>>()).Which.Error.Code.Should().Be(ErrorCode.Local_ValueSerialization);
    }

    [Fact]
    public async Task An_async_serializer_is_awaited_by_ProduceAsync_and_refused_by_Produce()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer(),
            configure: b => b.SetValueSerializer(new UpperCaseAsyncSerializer()));

        await producer.ProduceAsync("docs", KafkaTestKit.Message("k", "quiet"));
        var produce = () => producer.Produce("docs", KafkaTestKit.Message("k", "v"));

        Encoding.UTF8.GetString(cluster.Read(new TopicPartition("docs", 0))[0].Message.Value).Should().Be("QUIET");
        produce.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public async Task Producing_to_an_unknown_topic_fails_when_the_cluster_does_not_auto_create()
    {
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { AutoCreateTopics = false });
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());

        var produce = async () => await producer.ProduceAsync("nowhere", KafkaTestKit.Message("k", "v"));

        (await produce.Should().ThrowAsync<ProduceException<string, string>>()).Which.Error.Code.Should().Be(ErrorCode.Local_UnknownTopic);
    }

    [Fact]
    public void Idempotence_requires_acks_all_as_in_librdkafka()
    {
        var cluster = new InProcessKafkaCluster();

        var build = () => cluster.CreateProducer<string, string>(new ProducerConfig { EnableIdempotence = true, Acks = Acks.Leader });

        build.Should().Throw<InvalidOperationException>().WithMessage("*acks*");
    }

    [Fact]
    public void Transactions_are_not_emulated()
    {
        var cluster = new InProcessKafkaCluster();
        using var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer());

        var begin = () => producer.InitTransactions(TimeSpan.FromSeconds(1));

        begin.Should().Throw<NotSupportedException>();
    }

    [Fact]
    public void A_consumer_needs_a_group_id_like_the_real_one()
    {
        var cluster = new InProcessKafkaCluster();

        var build = () => cluster.CreateConsumer<string, string>(new ConsumerConfig());

        build.Should().Throw<ArgumentException>().WithMessage("*group.id*");
    }

    private sealed class FailingSerializer : ISerializer<string>
    {
        public byte[] Serialize(string data, SerializationContext context) => throw new FormatException("cannot encode");
    }

    private sealed class UpperCaseAsyncSerializer : IAsyncSerializer<string>
    {
        public async Task<byte[]> SerializeAsync(string data, SerializationContext context)
        {
            await Task.Yield();
            return Encoding.UTF8.GetBytes(data.ToUpperInvariant());
        }
    }
}
