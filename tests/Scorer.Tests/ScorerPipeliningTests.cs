using FluentAssertions;
using Reweighting.Scorer.Pipeline;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

/// <summary>Scoring overlaps reading and storing: the next batch is read and tokenised while the proxy scores the
/// current one, up to <see cref="ScorerOptions.MaxBatchesInFlight"/> batches, and batches are still stored exactly once,
/// in order. The proxy is held by blocking the pipeline's "scoring" seam, which runs on the scoring thread.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ScorerPipeliningTests(PostgresCluster postgres, ITestOutputHelper output)
{
    private sealed class ProxyFailure() : Exception("the proxy failed");

    /// <summary>Holds the proxy on its first batch until released; counts the records consumed meanwhile.</summary>
    private sealed class HeldProxy : IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private int _consumed, _batchesScoring;

        public int Consumed => Volatile.Read(ref _consumed);
        public bool Holding => Volatile.Read(ref _batchesScoring) > 0 && !_release.IsSet;

        public void Fault(string where)
        {
            if (where == "consumed") Interlocked.Increment(ref _consumed);
            // Bounded, so a failed test cannot hang the run.
            if (where == "scoring" && Interlocked.Increment(ref _batchesScoring) == 1) _release.Wait(TimeSpan.FromSeconds(60));
        }

        public void Release() => _release.Set();

        public void Dispose()
        {
            _release.Set();
            _release.Dispose();
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task The_next_batches_are_read_while_the_proxy_scores_the_first_up_to_the_in_flight_bound(int maxBatchesInFlight)
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 20);
        // Batches close at 5 records only, so the bound alone decides how far the loop reads ahead.
        var options = ScorerHarness.Options with
        {
            MaxBatchesInFlight = maxBatchesInFlight, MaxBatchRecords = 5, TokenBudget = 1_000_000, MaxWait = TimeSpan.FromMinutes(5),
        };
        using var proxy = new HeldProxy();
        var scorer = h.Start(options, fault: proxy.Fault);
        try
        {
            var readAhead = 5 * maxBatchesInFlight;
            await ScorerHarness.WaitUntilAsync(() => Task.FromResult(proxy.Holding && proxy.Consumed >= readAhead), what: $"{readAhead} records read");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            proxy.Consumed.Should().Be(readAhead, "the loop reads ahead while the proxy scores, and stops at the bound");
            scorer.Pipeline.InFlightRecords.Should().Be(readAhead);
            (await h.ScalarAsync("SELECT count(*) FROM sample_scores")).Should().Be(0, "the first batch is still being scored");
        }
        finally
        {
            proxy.Release();
        }

        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 20, what: "all offsets stored");
        await scorer.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        var outbox = await h.OutboxAsync();
        outbox.Should().HaveCount(4);
        outbox.SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(20);
        scorer.Pipeline.Statistics.Batches.Should().Be(4);
        scorer.Pipeline.InFlightRecords.Should().Be(0);
    }

    [Fact]
    public async Task A_caught_up_consumer_hands_its_batch_to_an_idle_proxy_without_waiting_for_the_budget_or_the_time()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        // Neither the budget nor the wait would ever close this batch within the test.
        var options = ScorerHarness.Options with { CloseWhenCaughtUp = true, TokenBudget = 1_000_000, MaxWait = TimeSpan.FromMinutes(5) };
        var scorer = h.Start(options);
        var ids = await h.ProduceAsync(0, 12);

        await h.WaitForScoresAsync(12);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 12, what: "all offsets stored");
        await scorer.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        var fill = scorer.Pipeline.Statistics.Fill;
        fill.ByCaughtUp.Should().BeGreaterThan(0).And.Be(fill.Batches, "every batch closed because the stream had no more records");
        fill.ByMaxWait.Should().Be(0);
        fill.Batches.Should().Be(scorer.Pipeline.Statistics.Batches);
    }

    [Fact]
    public async Task Documents_packed_together_in_micro_batches_get_the_statistics_of_scoring_each_alone()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        await h.ProduceAsync(0, 30);
        // Several documents per micro-batch and many windows per forward pass: windows of different documents share passes.
        var options = ScorerHarness.Options with { TokenBudget = 2_000, MaxWait = TimeSpan.FromSeconds(1) };
        var scorer = h.Start(options);
        await h.WaitForScoresAsync(30);
        await scorer.StopAsync();
        scorer.Pipeline.ProxyBatches.Batches.Should().BeLessThan(scorer.Pipeline.ProxyBatches.Rows / 2, "passes hold several windows");

        // The `lm score` path on one document at a time: one window per forward pass, nothing shared.
        using var alone = TinyProxy.Load(windowBatchSize: 1);
        await using var cmd = h.Database.CreateCommand(
            "SELECT s.n_tokens, s.scored_bytes, s.loss_mean, s.loss_variance, d.full_text, s.compression_ratio, s.order_gain " +
            "FROM sample_scores s JOIN documents d ON d.id = s.document_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var compared = 0;
        var withOrderGain = 0;
        while (await reader.ReadAsync())
        {
            var expected = alone.Score([alone.Tokenise(reader.GetString(4))]).Single().Statistics;
            reader.GetInt32(0).Should().Be((int)expected.Count);
            reader.GetInt64(1).Should().Be(expected.Bytes);
            reader.GetDouble(2).Should().BeApproximately(expected.Mean, 1e-4);
            reader.GetDouble(3).Should().BeApproximately(expected.Variance, 1e-3);
            reader.GetDouble(5).Should().Be(Reweighting.Statistics.TextCompression.Ratio(reader.GetString(4)), "the text's own ratio");
            var gain = Reweighting.Statistics.WordOrder.Gain(reader.GetString(4));
            (reader.IsDBNull(6) ? double.NaN : reader.GetDouble(6)).Should().Be(gain, "the text's own order gain (NULL without words)");
            if (double.IsFinite(gain)) withOrderGain++;
            compared++;
        }
        compared.Should().Be(30);
        withOrderGain.Should().BeGreaterThan(0, "the corpus has texts of several words");
    }

    [Fact]
    public async Task The_pipeline_accounts_for_its_time_per_stage_and_for_how_its_batches_closed()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 20);
        var options = ScorerHarness.Options with { MaxBatchRecords = 5, TokenBudget = 1_000_000, MaxWait = TimeSpan.FromMinutes(5) };
        var scorer = h.Start(options);

        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 20, what: "all offsets stored");
        await scorer.StopAsync();

        var statistics = scorer.Pipeline.Statistics;
        var stages = statistics.Stages;
        stages.Proxy.Should().BePositive("the proxy scored four batches");
        stages.Read.Should().BePositive("twenty records were parsed and tokenised");
        stages.Store.Should().BePositive("four transactions committed");
        stages.Encode.Should().BePositive();
        stages.Pack.Should().BePositive("four batches were packed at hand-over");
        statistics.FirstRecordTimestamp.Should().NotBeNull();
        statistics.Fill.Should().Be(new ScorerBatchFill(0, 4, 0, 0, 0, statistics.Tokens + 20),
            "four batches closed at five records each; a document's ids are its scored tokens and the end-of-text prefix");
        scorer.Pipeline.ProxyBatches.Rows.Should().BePositive();
        (await h.StoredIdsAsync()).Should().Equal(ids);
    }

    [Fact]
    public async Task Documents_of_partitions_revoked_while_their_batch_is_scored_are_left_to_the_new_owner()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        // The first scorer's second batch never closes by itself: it waits for the stop.
        var held = ScorerHarness.Options with { MaxBatchesInFlight = 2, MaxBatchRecords = 10, TokenBudget = 1_000_000, MaxWait = TimeSpan.FromMinutes(5) };
        using var proxy = new HeldProxy();
        var first = h.Start(held, fault: proxy.Fault);
        var ids = await h.ProduceAsync(0, 10);
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(proxy.Holding), what: "the first batch being scored");
        ids.AddRange(await h.ProduceAsync(10, 5));
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.InFlightRecords == 15), what: "15 records in flight");

        var second = h.Start();
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.Statistics.AbandonedRecords > 0), what: "a revocation");
        proxy.Release();
        await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.Statistics.Batches == 1), what: "the scored batch stored");
        first.Pipeline.Statistics.Documents.Should().BeInRange(1, 9, "the batch kept scoring and stored only its documents still owned");

        await first.StopAsync();
        await h.WaitForScoresAsync(15);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 15, what: "all offsets stored");
        await second.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(15);
        (first.Pipeline.Statistics.Documents + second.Pipeline.Statistics.Documents).Should().Be(15);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_proxy_failure_fails_the_pipeline_without_storing_its_batch_or_later_ones_and_a_restart_stores_everything_once(int maxBatchesInFlight)
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 20);
        var options = ScorerHarness.Options with { MaxBatchesInFlight = maxBatchesInFlight, MaxBatchRecords = 5, TokenBudget = 1_000_000 };
        var batches = 0;
        // The second batch fails; with two in flight the third is read and scored meanwhile, and must not be stored.
        var failing = h.Start(options, fault: where =>
        {
            if (where == "scoring" && Interlocked.Increment(ref batches) == 2) throw new ProxyFailure();
        });

        (await failing.CrashedAsync()).Should().BeOfType<ProxyFailure>();
        (await h.StoredOffsetsAsync()).Values.Sum().Should().Be(5, "only the batch before the failed one is stored");
        (await h.ScalarAsync("SELECT count(*) FROM sample_scores")).Should().Be(5);

        var restarted = h.Start(options);
        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 20, what: "all offsets stored");
        await restarted.StopAsync();
        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(20);
    }

    [Fact]
    public void The_in_flight_bound_must_be_at_least_one()
    {
        (ScorerHarness.Options with { MaxBatchesInFlight = 0 }).Problem().Should().Be("Scorer:MaxBatchesInFlight must be at least 1, not 0");
        (ScorerHarness.Options with { MaxBatchesInFlight = 1 }).Problem().Should().BeNull();
        new ScorerOptions().MaxBatchesInFlight.Should().Be(2, "one batch is read while the other is scored");
    }
}
