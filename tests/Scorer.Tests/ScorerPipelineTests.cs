using System.Text;
using Confluent.Kafka;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Contracts.Documents;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ScorerPipelineTests(PostgresCluster postgres, ITestOutputHelper output)
{
    [Fact]
    public async Task Every_document_of_a_small_corpus_is_stored_once_with_its_offsets_and_an_outbox_row_per_batch()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 60);
        var scorer = h.Start();

        await h.WaitForScoresAsync(60);
        await scorer.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.StoredOffsetsAsync()).Should().BeEquivalentTo(h.EndOffsets());
        var outbox = await h.OutboxAsync();
        outbox.Should().HaveCountGreaterThan(1, "a 300-token budget splits 60 documents into several batches");
        outbox.SelectMany(b => b.Documents.Select(d => d.Id)).Should().BeEquivalentTo(ids, o => o.WithoutStrictOrdering(),
            "every document travels in exactly one scored batch");
        (await h.ScalarAsync("SELECT count(DISTINCT batch_id) FROM sample_scores")).Should().Be(outbox.Count);
        (await h.ScalarAsync("SELECT count(*) FROM sample_scores s LEFT JOIN scored_batch_outbox o USING (batch_id) WHERE o.batch_id IS NULL"))
            .Should().Be(0, "every score row's batch is in the outbox");
        (await h.ScalarAsync("SELECT count(*) FROM documents WHERE full_text IS NOT NULL")).Should().Be(60);

        foreach (var batch in outbox)
        {
            batch.ScorerModel.Should().Be("tiny-proxy");
            batch.GmmVersion.Should().Be(7);
            batch.Components.Should().Be(3);
            foreach (var d in batch.Documents)
            {
                d.Responsibilities.Sum().Should().BeApproximately(1f, 1e-4f);
                // <|endoftext|> first, so every token of the text is predicted once, in exactly one window.
                var windows = d.Windows.ToArrays();
                windows.Sum(w => w.Length - 1).Should().Be(d.TokenCount);
                windows.Should().OnlyContain(w => w.Length <= TinyProxy.ContextLength + 1);
                d.LossMean.Should().BeInRange(1, 10, "an untrained model over 300 ids is about ln 300 = 5.7 nats surprised");
            }
        }
        (await h.ScalarAsync("SELECT count(*) FROM sample_scores WHERE gmm_version = 7 AND cardinality(responsibilities) = 3")).Should().Be(60);
        scorer.Pipeline.Statistics.Documents.Should().Be(60);
        ((TestOutputLoggers)h.Loggers!).Lines.Should().Contain(l => l.Contains("documents/s") && l.Contains("tokens/s") && l.Contains("batch latency"),
            "progress is logged");
    }

    [Fact]
    public async Task Poison_records_go_to_the_dead_letter_topic_with_their_reasons_and_the_stream_goes_on()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var good = await h.ProduceAsync(0, 10);
        var poison = new (byte[]? Key, byte[]? Value, DeadLetterReason Reason)[]
        {
            (Encoding.UTF8.GetBytes("p1"), Encoding.UTF8.GetBytes("this is not json"), DeadLetterReason.NotJson),
            (Encoding.UTF8.GetBytes("p2"), Encoding.UTF8.GetBytes("{\"text\":\"no id here\"}"), DeadLetterReason.MissingId),
            (Encoding.UTF8.GetBytes("p3"), Encoding.UTF8.GetBytes("{\"id\":\"p3\",\"text\":\"   \"}"), DeadLetterReason.EmptyText),
            (Encoding.UTF8.GetBytes("p4"), [.. "{\"id\":\"p4\",\"text\":\"bad "u8, 0xC3, 0x28, .. "\"}"u8], DeadLetterReason.InvalidUtf8),
            (Encoding.UTF8.GetBytes("p5"), null, DeadLetterReason.NotJson),
            (Encoding.UTF8.GetBytes("p6"), Encoding.UTF8.GetBytes("{\"id\":\"other\",\"text\":\"key and id differ\"}"), DeadLetterReason.IdMismatch),
        };
        for (var i = 0; i < poison.Length; i++)
            h.Kafka.AppendRaw(Topics.Documents, i % ScorerHarness.Partitions, poison[i].Key, poison[i].Value);
        good.AddRange(await h.ProduceAsync(10, 10));
        var scorer = h.Start();

        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 26, what: "offsets past every record");
        await scorer.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(good);
        var letters = h.DeadLetters();
        letters.Select(l => (Key: Encoding.UTF8.GetString(l.Key!), l.Reason)).Should().BeEquivalentTo(
            poison.Select(p => (Key: Encoding.UTF8.GetString(p.Key!), p.Reason)));
        var invalid = letters.Single(l => l.Reason == DeadLetterReason.InvalidUtf8);
        invalid.Value.Should().Equal(poison[3].Value, "the original bytes are kept for replay");
        invalid.SourceTopic.Should().Be(Topics.Documents);
        invalid.RejectedBy.Should().Be("scorer-under-test");
        letters.Single(l => l.Key is [(byte)'p', (byte)'5']).Value.Should().BeNull("a tombstone has no value");
        var headers = h.Kafka.ReadTopic(Topics.DocumentsDeadLetter).Select(r => Encoding.UTF8.GetString(r.Message.Headers.GetLastBytes(Topics.Headers.DeadLetterReason)));
        headers.Should().BeEquivalentTo(poison.Select(p => p.Reason.ToWire()));
        scorer.Pipeline.Statistics.DeadLetters.Should().Be(6);
    }

    [Fact]
    public async Task A_restarted_pipeline_resumes_from_the_offsets_in_PostgreSQL_not_from_Kafka()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 30);
        var first = h.Start();
        await h.WaitForScoresAsync(30);
        await first.StopAsync();

        // Kafka's own committed offsets are only a mirror: rewind them, and the scorer must still not re-read.
        h.Kafka.SetCommittedOffsets(ScorerHarness.Group,
            Enumerable.Range(0, ScorerHarness.Partitions).Select(p => new TopicPartitionOffset(Topics.Documents, p, 0)));
        ids.AddRange(await h.ProduceAsync(30, 30));
        var second = h.Start();
        await h.WaitForScoresAsync(60);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 60, what: "all offsets stored");
        await second.StopAsync();

        second.Pipeline.Statistics.Documents.Should().Be(30, "the second run reads only what the first did not store");
        second.Pipeline.Statistics.AlreadyApplied.Should().Be(0);
        (await h.StoredIdsAsync()).Should().Equal(ids);
        var outboxIds = (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).ToList();
        outboxIds.Should().OnlyHaveUniqueItems().And.HaveCount(60);
    }

    [Fact]
    public async Task Before_the_first_GMM_fit_documents_are_stored_with_a_provisional_label_and_no_version()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        await h.ProduceAsync(0, 12);
        var labeller = new FixedDocumentLabeller(null);
        var scorer = h.Start(labeller: labeller);
        await h.WaitForScoresAsync(12);
        await scorer.StopAsync();

        (await h.ScalarAsync("SELECT count(*) FROM sample_scores WHERE gmm_version IS NULL AND cardinality(responsibilities) = 0 AND label_confidence = 0 AND label = 'easy'"))
            .Should().Be(12);
        var outbox = await h.OutboxAsync();
        outbox.Should().OnlyContain(b => b.GmmVersion == null && b.Components == 0);
        labeller.Observed.Should().Be(12, "the labeller sees every committed row, to fill its warm-up reservoir");
    }

    [Fact]
    public async Task Stopping_drains_the_batch_in_flight_within_its_bound()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var options = ScorerHarness.Options with { MaxWait = TimeSpan.FromMinutes(5), TokenBudget = 1_000_000, DrainTimeout = TimeSpan.FromSeconds(5) };
        var scorer = h.Start(options);
        var ids = await h.ProduceAsync(0, 15);
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(scorer.Pipeline.InFlightRecords == 15), what: "15 records in flight");
        (await h.ScalarAsync("SELECT count(*) FROM sample_scores")).Should().Be(0, "the batch waits for its budget or its time");

        var took = await scorer.StopAsync();

        took.Should().BeLessThan(options.DrainTimeout, "a stop is bounded by the drain time");
        (await h.StoredIdsAsync()).Should().Equal(ids, "the stop finished the batch in flight");
        (await h.StoredOffsetsAsync()).Should().BeEquivalentTo(h.EndOffsets());
        h.Kafka.GroupAssignment(ScorerHarness.Group).Should().BeEmpty("the scorer left the group on its way out");
    }

    [Fact]
    public async Task Revoked_partitions_leave_the_batch_and_their_new_owner_stores_them_once()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var slow = ScorerHarness.Options with { MaxWait = TimeSpan.FromSeconds(3), TokenBudget = 1_000_000 };
        var first = h.Start(slow);
        var ids = await h.ProduceAsync(0, 30);
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.InFlightRecords == 30), what: "30 records in flight");

        var second = h.Start(slow);
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.Statistics.AbandonedRecords > 0), what: "a revocation");
        await h.WaitForScoresAsync(30);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 30, what: "all offsets stored");
        await first.StopAsync();
        await second.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(30);
        second.Pipeline.Statistics.Documents.Should().BeGreaterThan(0);
        (first.Pipeline.Statistics.Documents + second.Pipeline.Statistics.Documents).Should().Be(30);
    }

    [Fact]
    public async Task A_dead_letter_topic_that_refuses_writes_holds_the_batch_until_the_dead_letter_is_acknowledged()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 6);
        h.Kafka.AppendRaw(Topics.Documents, 0, Encoding.UTF8.GetBytes("bad"), Encoding.UTF8.GetBytes("not json"));
        ids.AddRange(await h.ProduceAsync(6, 6));
        // More failures than the dead-letter publisher retries: the batch must wait, not skip the record.
        h.Kafka.FailNextProduces(6, ErrorCode.NotEnoughReplicas);
        var scorer = h.Start();

        await h.WaitForScoresAsync(12);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 13, what: "offsets past every record");
        await scorer.StopAsync();

        h.DeadLetters().Should().ContainSingle().Which.Reason.Should().Be(DeadLetterReason.NotJson);
        scorer.Pipeline.Statistics.Outages.Should().Be(1);
        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(12);
    }
}
