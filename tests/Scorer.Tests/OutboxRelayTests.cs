using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Contracts.Batches;
using Reweighting.Scorer.Outbox;
using Reweighting.InProcessKafka;
using Reweighting.Testing.Postgres;
using Xunit;
using static Reweighting.Scorer.Tests.OutboxTestData;

namespace Reweighting.Scorer.Tests;

/// <summary>The outbox relay's contract: every row reaches <c>scored-batches</c> at least once, under its batch id as the
/// key, and in the absence of failures exactly once and in <c>created_at</c> order; a row is marked published only after
/// the broker acknowledged it. A resend (after a crash between acknowledgement and marking) carries the same key and
/// value, so a consumer that deduplicates on the batch id sees every batch once.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OutboxRelayTests(PostgresCluster postgres)
{
    [Fact]
    public async Task Every_row_is_published_once_in_order_with_its_key_headers_and_payload_and_marked()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 20);
        await using var relay = Relay(db, kafka, FastOptions with { InstanceName = "scorer-a" });

        (await relay.DrainAsync()).Should().Be(20);
        (await relay.DrainAsync()).Should().Be(0, "published rows are not sent again");

        var records = kafka.ReadTopic(Topics.ScoredBatches);
        PublishedIds(kafka).Should().Equal(ids);
        for (var i = 0; i < ids.Count; i++)
        {
            var message = records[i].Message;
            message.Key.Should().Equal(ScoredBatchCodec.EncodeKey(ids[i]));
            message.Value.Should().Equal(Payload(ids[i], i));
            Header(message, Topics.Headers.ContentType).Should().Be(Topics.ContentTypes.ScoredBatch);
            Header(message, Topics.Headers.SchemaVersion).Should().Be(ScoredBatchCodec.SchemaVersion);
            Header(message, Topics.Headers.Producer).Should().Be("scorer-a");
        }
        (await UnpublishedAsync(db)).Should().Be(0);
        relay.Published.Should().Be(20);
    }

    [Fact]
    public async Task The_producer_is_idempotent_acknowledged_by_all_replicas_and_compressed()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var configs = new List<ProducerConfig>();
        var ids = await AddRowsAsync(db, 3);
        await using var relay = Relay(db, kafka, FastOptions, configs);
        kafka.DropNextProduceAcks(2);

        await relay.DrainAsync();

        configs.Should().ContainSingle();
        configs[0].EnableIdempotence.Should().BeTrue();
        configs[0].Acks.Should().Be(Acks.All);
        configs[0].CompressionType.Should().Be(CompressionType.Zstd);
        PublishedIds(kafka).Should().Equal(ids, "an idempotent producer's retries after lost acknowledgements leave one copy");
        var lz4 = () => new OutboxRelayOptions { Compression = CompressionType.Gzip }.Validate();
        lz4.Should().Throw<ArgumentException>();
    }

    [Fact]
    public async Task A_broker_outage_delays_publishing_and_loses_nothing()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        await using var relay = Relay(db, kafka);
        using var stop = new CancellationTokenSource();
        var outage = kafka.StartOutage();
        var loop = relay.RunAsync(stop.Token);

        var ids = await AddRowsAsync(db, 30);
        relay.Notify();
        await Task.Delay(300);
        PublishedIds(kafka).Should().BeEmpty();
        (await UnpublishedAsync(db)).Should().Be(30, "nothing the broker did not acknowledge is marked");

        outage.Dispose();
        await WaitUntilAsync(async () => await UnpublishedAsync(db) == 0);
        stop.Cancel();
        await loop;

        PublishedIds(kafka).Should().Equal(ids);
    }

    [Fact]
    public async Task A_stalled_broker_times_out_the_pass_and_the_rows_go_out_after_it_recovers()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 5);
        await using var relay = Relay(db, kafka, FastOptions with { DeliveryTimeout = TimeSpan.FromMilliseconds(200) });
        using (kafka.StartOutage(behaviour: OutageBehaviour.Stall))
        {
            var pass = () => relay.PublishPendingAsync();
            await pass.Should().ThrowAsync<OutboxPublishException>("no acknowledgement came within the delivery timeout");
            (await UnpublishedAsync(db)).Should().Be(5);
        }

        (await relay.DrainAsync()).Should().Be(5);
        PublishedIds(kafka).Should().Equal(ids);
    }

    [Fact]
    public async Task A_produce_that_fails_alone_is_sent_again_and_nothing_is_sent_twice()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 5);
        await using var relay = Relay(db, kafka);
        kafka.FailNextProduces(1);

        var first = () => relay.PublishPendingAsync();
        await first.Should().ThrowAsync<OutboxPublishException>();
        (await UnpublishedAsync(db)).Should().Be(1, "the acknowledged rows are marked even when one failed");
        (await relay.DrainAsync()).Should().Be(1);

        PublishedIds(kafka).Should().BeEquivalentTo(ids).And.OnlyHaveUniqueItems();
        PublishedIds(kafka).Should().Equal(ids.Skip(1).Append(ids[0]), "the failed row goes out after the rest of its pass");
    }

    [Fact]
    public async Task A_crash_between_produce_and_marking_resends_the_same_batch_under_the_same_key()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 4);
        await using (var crashing = Relay(db, kafka))
        {
            crashing.BeforeMarking = (_, _) => throw new InvalidOperationException("process killed");
            var pass = () => crashing.PublishPendingAsync();
            await pass.Should().ThrowAsync<InvalidOperationException>();
        }
        PublishedIds(kafka).Should().Equal(ids, "the broker had them");
        (await UnpublishedAsync(db)).Should().Be(4, "the marks died with the transaction");

        await using var restarted = Relay(db, kafka);
        (await restarted.DrainAsync()).Should().Be(4);

        // At least once: each batch twice, byte for byte, under the same key; a consumer deduplicating on the batch id
        // (the key, or the header's id) sees each once.
        var records = kafka.ReadTopic(Topics.ScoredBatches);
        PublishedIds(kafka).Should().Equal(ids.Concat(ids));
        for (var i = 0; i < ids.Count; i++)
        {
            records[i + ids.Count].Message.Value.Should().Equal(records[i].Message.Value);
            ScoredBatchCodec.ReadHeader(records[i + ids.Count].Message.Value).BatchId.Should().Be(ids[i]);
        }
        PublishedIds(kafka).Distinct().Should().Equal(ids);
        (await UnpublishedAsync(db)).Should().Be(0);
    }

    [Fact]
    public async Task Two_relays_side_by_side_never_publish_a_row_twice()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 160);
        var options = FastOptions with { BatchSize = 4 };
        await using var a = Relay(db, kafka, options);
        await using var b = Relay(db, kafka, options);
        // Holding the claim a little longer makes the two passes overlap.
        a.BeforeMarking = b.BeforeMarking = (_, ct) => Task.Delay(5, ct);
        using var stop = new CancellationTokenSource();

        var loops = new[] { a.RunAsync(stop.Token), b.RunAsync(stop.Token) };
        await WaitUntilAsync(async () => await UnpublishedAsync(db) == 0);
        stop.Cancel();
        await Task.WhenAll(loops);

        PublishedIds(kafka).Should().HaveCount(160).And.OnlyHaveUniqueItems().And.BeEquivalentTo(ids);
        (a.Published + b.Published).Should().Be(160);
        a.Published.Should().BePositive();
        b.Published.Should().BePositive();
    }

    [Fact]
    public async Task A_notified_relay_publishes_without_waiting_for_its_poll()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        await using var relay = Relay(db, kafka, FastOptions with { PollInterval = TimeSpan.FromHours(1) });
        using var stop = new CancellationTokenSource();
        var loop = relay.RunAsync(stop.Token);
        await WaitUntilAsync(() => Task.FromResult(true));
        await Task.Delay(100); // the first pass found nothing; the relay now sleeps for an hour

        var ids = await AddRowsAsync(db, 2);
        relay.Notify();
        await WaitUntilAsync(async () => await UnpublishedAsync(db) == 0, seconds: 5);
        stop.Cancel();
        await loop;

        PublishedIds(kafka).Should().Equal(ids);
    }

    [Fact]
    public async Task An_unreadable_payload_stays_in_the_outbox_and_does_not_hold_up_the_rest()
    {
        var db = await postgres.CreateDatabaseAsync();
        var kafka = Cluster();
        var ids = await AddRowsAsync(db, 3);
        await using (var corrupt = db.CreateCommand("UPDATE scored_batch_outbox SET payload = '\\x00'::bytea WHERE batch_id = $1"))
        {
            corrupt.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids[1] });
            await corrupt.ExecuteNonQueryAsync();
        }
        await using var relay = Relay(db, kafka);

        await relay.DrainAsync();

        PublishedIds(kafka).Should().Equal(ids[0], ids[2]);
        (await UnpublishedAsync(db)).Should().Be(1);
    }

    private static string? Header(Message<byte[], byte[]> message, string key) =>
        message.Headers.TryGetLastBytes(key, out var value) ? Encoding.UTF8.GetString(value) : null;
}
