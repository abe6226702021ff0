using Confluent.Kafka;
using FluentAssertions;
using Xunit;

namespace Reweighting.InProcessKafka.Tests;

public class GroupTests
{
    /// <summary>Records what a consumer's rebalance handlers saw, in order.</summary>
    private sealed class Rebalances
    {
        public List<string> Events { get; } = [];

        public List<TopicPartition> LastAssigned { get; private set; } = [];

        public List<TopicPartition> LastRevoked { get; private set; } = [];

        public void Wire(ConsumerBuilder<string, string> builder) => builder
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                LastAssigned = partitions.ToList();
                Events.Add($"assigned {Describe(partitions)}");
            })
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                LastRevoked = partitions.Select(p => p.TopicPartition).ToList();
                Events.Add($"revoked {Describe(LastRevoked)}");
            })
            .SetPartitionsLostHandler((_, partitions) => Events.Add($"lost {Describe(partitions.Select(p => p.TopicPartition))}"));

        private static string Describe(IEnumerable<TopicPartition> partitions) =>
            "[" + string.Join(",", partitions.Select(p => p.Partition.Value)) + "]";
    }

    private static (IConsumer<string, string> Consumer, Rebalances Seen) Member(InProcessKafkaCluster cluster, ConsumerConfig config)
    {
        var seen = new Rebalances();
        var consumer = cluster.CreateConsumer<string, string>(config, configure: seen.Wire);
        return (consumer, seen);
    }

    private static List<TopicPartition> Partitions(string topic, params int[] ids) => ids.Select(p => new TopicPartition(topic, p)).ToList();

    [Theory]
    [InlineData(PartitionAssignmentStrategy.Range)]
    [InlineData(PartitionAssignmentStrategy.RoundRobin)]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky)]
    public void Two_members_split_the_partitions_and_the_survivor_takes_over_when_one_closes(PartitionAssignmentStrategy strategy)
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 4);
        var config = KafkaTestKit.Consumer("g", strategy: strategy);
        var (first, firstSeen) = Member(cluster, config);
        var (second, secondSeen) = Member(cluster, config);
        using var a = first;
        using var b = second;

        first.Subscribe("docs");
        KafkaTestKit.PollUntil(() => first.Assignment.Count == 4, first);
        second.Subscribe("docs");
        KafkaTestKit.PollUntil(() => first.Assignment.Count == 2 && second.Assignment.Count == 2, first, second);

        first.Assignment.Concat(second.Assignment).Should().BeEquivalentTo(Partitions("docs", 0, 1, 2, 3));
        cluster.GroupAssignment("g").Should().HaveCount(2);
        var firstHalf = first.Assignment.ToList();
        var secondHalf = second.Assignment.ToList();

        first.Close();
        KafkaTestKit.PollUntil(() => second.Assignment.Count == 4, second);

        firstSeen.LastRevoked.Should().BeEquivalentTo(firstHalf, "Close revokes the closing member's partitions on its own thread");
        if (strategy == PartitionAssignmentStrategy.CooperativeSticky)
        {
            secondSeen.LastAssigned.Should().BeEquivalentTo(firstHalf, "cooperative rebalancing hands over only what moves");
            secondSeen.Events.Should().NotContain(e => e.StartsWith("revoked"));
        }
        else
        {
            secondSeen.LastRevoked.Should().BeEquivalentTo(secondHalf, "eager rebalancing revokes everything first");
            secondSeen.LastAssigned.Should().BeEquivalentTo(Partitions("docs", 0, 1, 2, 3));
        }
    }

    [Fact]
    public void Range_assignment_follows_Kafkas_range_assignor()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 5);
        var config = KafkaTestKit.Consumer("g");
        using var first = cluster.CreateConsumer<string, string>(config);
        using var second = cluster.CreateConsumer<string, string>(config);
        first.Subscribe("docs");
        second.Subscribe("docs");

        KafkaTestKit.PollUntil(() => first.Assignment.Count + second.Assignment.Count == 5, first, second);

        first.Assignment.Should().Equal(Partitions("docs", 0, 1, 2), "the first member in member-id order gets the extra partition");
        second.Assignment.Should().Equal(Partitions("docs", 3, 4));
    }

    [Fact]
    public void An_eager_group_hands_out_nothing_until_every_member_has_revoked()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 2);
        var config = KafkaTestKit.Consumer("g");
        var (first, firstSeen) = Member(cluster, config);
        using var a = first;
        using var second = cluster.CreateConsumer<string, string>(config);
        first.Subscribe("docs");
        KafkaTestKit.AwaitAssignment(first);

        second.Subscribe("docs");
        second.Consume(TimeSpan.FromMilliseconds(50));
        second.Assignment.Should().BeEmpty("the first member has not revoked yet");

        first.Consume(TimeSpan.FromMilliseconds(10));
        firstSeen.Events.Should().Equal("assigned [0,1]", "revoked [0,1]", "assigned [0]");
        second.Consume(TimeSpan.FromMilliseconds(10));
        second.Assignment.Should().Equal(Partitions("docs", 1));
    }

    [Fact]
    public void Committing_in_the_revoked_handler_hands_partitions_over_without_duplicates()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 4);
        using (var producer = cluster.CreateProducer<string, string>(KafkaTestKit.Producer()))
        {
            for (int i = 0; i < 40; i++) producer.Produce(new TopicPartition("docs", i % 4), KafkaTestKit.Message("k", $"v{i}"));
            producer.Flush(TimeSpan.FromSeconds(5));
        }
        var config = KafkaTestKit.Consumer("g");
        config.EnableAutoOffsetStore = false;
        var seen = new List<string>();
        IConsumer<string, string> Build() => cluster.CreateConsumer<string, string>(config, configure: b =>
            b.SetPartitionsRevokedHandler((c, partitions) =>
            {
                // Commit exactly what was processed before giving the partitions up.
                var done = partitions.Where(p => p.Offset.Value >= 0).ToList();
                if (done.Count > 0) c.Commit(done);
            }));
        using var first = Build();
        using var second = Build();
        void Process(IConsumer<string, string> c, ConsumeResult<string, string>? r)
        {
            if (r is null) return;
            seen.Add(r.Message.Value);
            c.StoreOffset(r);
        }

        first.Subscribe("docs");
        for (int i = 0; i < 15; i++) Process(first, first.Consume(TimeSpan.FromSeconds(1)));
        second.Subscribe("docs");
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (seen.Count < 40 && DateTime.UtcNow < deadline)
        {
            Process(first, first.Consume(TimeSpan.FromMilliseconds(10)));
            Process(second, second.Consume(TimeSpan.FromMilliseconds(10)));
        }

        seen.Should().HaveCount(40).And.OnlyHaveUniqueItems();
        second.Assignment.Should().NotBeEmpty();
    }

    [Fact]
    public void The_assigned_handler_may_choose_where_each_partition_starts()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        for (int i = 0; i < 5; i++) cluster.AppendRaw("docs", 0, null, System.Text.Encoding.UTF8.GetBytes($"v{i}"));
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g", AutoOffsetReset.Latest), configure: b =>
            b.SetPartitionsAssignedHandler((_, partitions) => partitions.Select(p => new TopicPartitionOffset(p, 3))));
        consumer.Subscribe("docs");

        consumer.Consume(TimeSpan.FromSeconds(1))!.Message.Value.Should().Be("v3");
    }

    [Fact]
    public void Calling_Assign_inside_the_assigned_handler_fails_like_the_real_client()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"), configure: b =>
            b.SetPartitionsAssignedHandler((c, partitions) => c.Assign(partitions)));
        consumer.Subscribe("docs");

        var consume = () => consumer.Consume(TimeSpan.FromSeconds(1));

        consume.Should().Throw<InvalidOperationException>().WithMessage("*must not be called in the partitions assigned handler*");
        consumer.Assignment.Should().BeEmpty();
    }

    [Fact]
    public void A_cooperative_group_rejects_revoked_handlers_that_return_an_assignment()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        var config = KafkaTestKit.Consumer("g", strategy: PartitionAssignmentStrategy.CooperativeSticky);
        using var consumer = cluster.CreateConsumer<string, string>(config, configure: b =>
            b.SetPartitionsRevokedHandler((_, partitions) => partitions));
        consumer.Subscribe("docs");

        var consume = () => consumer.Consume(TimeSpan.FromSeconds(1));

        consume.Should().Throw<InvalidOperationException>().WithMessage("*COOPERATIVE*");
    }

    [Fact]
    public void A_member_whose_protocol_differs_from_the_groups_is_refused()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs");
        using var eager = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        using var cooperative = cluster.CreateConsumer<string, string>(
            KafkaTestKit.Consumer("g", strategy: PartitionAssignmentStrategy.CooperativeSticky));
        eager.Subscribe("docs");
        KafkaTestKit.AwaitAssignment(eager);

        cooperative.Subscribe("docs");
        var consume = () => cooperative.Consume(TimeSpan.FromSeconds(1));

        consume.Should().Throw<ConsumeException>().Which.Error.Code.Should().Be(ErrorCode.InconsistentGroupProtocol);
    }

    [Fact]
    public void Subscribing_to_a_missing_topic_reports_it_and_the_topic_is_assigned_once_created()
    {
        var cluster = new InProcessKafkaCluster();
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Subscribe("later");

        var consume = () => consumer.Consume(TimeSpan.FromSeconds(1));
        consume.Should().Throw<ConsumeException>().Which.Error.Code.Should().Be(ErrorCode.UnknownTopicOrPart);

        cluster.CreateTopic("later", 2);
        KafkaTestKit.PollUntil(() => consumer.Assignment.Count == 2, consumer);
    }

    [Fact]
    public void A_regex_subscription_picks_up_matching_topics()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("scored-a");
        cluster.CreateTopic("other");
        using var consumer = cluster.CreateConsumer<string, string>(KafkaTestKit.Consumer("g"));
        consumer.Subscribe("^scored-.*");
        KafkaTestKit.AwaitAssignment(consumer);

        cluster.CreateTopic("scored-b");
        KafkaTestKit.PollUntil(() => consumer.Assignment.Count == 2, consumer);

        consumer.Assignment.Select(t => t.Topic).Should().BeEquivalentTo("scored-a", "scored-b");
    }

    [Fact]
    public void Unsubscribe_revokes_on_the_next_poll_and_the_group_moves_on()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 2);
        var config = KafkaTestKit.Consumer("g");
        var (first, firstSeen) = Member(cluster, config);
        using var a = first;
        using var second = cluster.CreateConsumer<string, string>(config);
        first.Subscribe("docs");
        second.Subscribe("docs");
        KafkaTestKit.PollUntil(() => first.Assignment.Count == 1 && second.Assignment.Count == 1, first, second);

        first.Unsubscribe();
        first.Consume(TimeSpan.FromMilliseconds(10));
        KafkaTestKit.PollUntil(() => second.Assignment.Count == 2, second);

        firstSeen.Events.Last().Should().StartWith("revoked");
        first.Assignment.Should().BeEmpty();
        first.MemberId.Should().BeEmpty();
    }

    [Fact]
    public void A_member_that_stops_polling_is_evicted_reports_its_partitions_lost_and_rejoins()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { Time = clock });
        cluster.CreateTopic("docs", 2);
        var config = KafkaTestKit.Consumer("g");
        config.MaxPollIntervalMs = 10_000;
        var (slow, slowSeen) = Member(cluster, config);
        using var a = slow;
        using var healthy = cluster.CreateConsumer<string, string>(config);
        slow.Subscribe("docs");
        healthy.Subscribe("docs");
        KafkaTestKit.PollUntil(() => slow.Assignment.Count == 1 && healthy.Assignment.Count == 1, slow, healthy);

        clock.Advance(TimeSpan.FromSeconds(11));
        healthy.Consume(TimeSpan.FromMilliseconds(10));
        KafkaTestKit.PollUntil(() => healthy.Assignment.Count == 2, healthy);
        var consume = () => slow.Consume(TimeSpan.FromMilliseconds(10));

        consume.Should().Throw<ConsumeException>().Which.Error.Code.Should().Be(ErrorCode.Local_MaxPollExceeded);
        slowSeen.Events.Should().Contain(e => e.StartsWith("lost"));
        KafkaTestKit.PollUntil(() => slow.Assignment.Count == 1 && healthy.Assignment.Count == 1, slow, healthy);
    }

    [Fact]
    public void A_consumer_disposed_without_Close_keeps_its_partitions_until_its_session_times_out()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cluster = new InProcessKafkaCluster(new InProcessKafkaOptions { Time = clock });
        cluster.CreateTopic("docs", 2);
        var config = KafkaTestKit.Consumer("g");
        config.SessionTimeoutMs = 6_000;
        var crashed = cluster.CreateConsumer<string, string>(config);
        using var survivor = cluster.CreateConsumer<string, string>(config);
        crashed.Subscribe("docs");
        survivor.Subscribe("docs");
        KafkaTestKit.PollUntil(() => crashed.Assignment.Count == 1 && survivor.Assignment.Count == 1, crashed, survivor);

        crashed.Dispose();
        survivor.Consume(TimeSpan.FromMilliseconds(20));
        survivor.Assignment.Should().HaveCount(1, "the group has not noticed yet");
        clock.Advance(TimeSpan.FromSeconds(7));

        KafkaTestKit.PollUntil(() => survivor.Assignment.Count == 2, survivor);
    }

    [Fact]
    public async Task Closing_a_member_lets_a_blocked_member_on_another_thread_take_over()
    {
        var cluster = new InProcessKafkaCluster();
        cluster.CreateTopic("docs", 2);
        var config = KafkaTestKit.Consumer("g", strategy: PartitionAssignmentStrategy.CooperativeSticky);
        using var leaving = cluster.CreateConsumer<string, string>(config);
        using var staying = cluster.CreateConsumer<string, string>(config);
        leaving.Subscribe("docs");
        staying.Subscribe("docs");
        KafkaTestKit.PollUntil(() => leaving.Assignment.Count == 1 && staying.Assignment.Count == 1, leaving, staying);
        var moved = leaving.Assignment.Single();
        cluster.AppendRaw("docs", moved.Partition.Value, null, "for the survivor"u8.ToArray());

        var waiting = Task.Run(() => staying.Consume(TimeSpan.FromSeconds(10)));
        Thread.Sleep(50);
        leaving.Close();

        var result = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        result!.TopicPartition.Should().Be(moved);
    }
}
