using FluentAssertions;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Scorer.Tests;

/// <summary>Crashes, stops and PostgreSQL outages: whatever happens, every document ends up stored exactly once.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ScorerResilienceTests(PostgresCluster postgres, ITestOutputHelper output)
{
    private sealed class SimulatedCrash(string where) : Exception($"simulated crash at '{where}'");

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 1)]
    [InlineData(3, 1)]
    [InlineData(4, 1)]
    [InlineData(1, 2)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 2)]
    public async Task Crashing_at_random_points_and_restarting_stores_every_document_exactly_once(int seed, int maxBatchesInFlight)
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var random = new Random(seed);
        var ids = await h.ProduceAsync(0, 30, seed);
        // No drain: a stop cancels whatever is in progress, a write included, like a kill.
        var options = ScorerHarness.Options with { DrainTimeout = TimeSpan.Zero, TokenBudget = 150, MaxBatchesInFlight = maxBatchesInFlight };
        var crashes = 0;
        for (var run = 0; run < 8; run++)
        {
            if (run == 2) ids.AddRange(await h.ProduceAsync(30, 30, seed));
            if (random.Next(2) == 0)
            {
                // Throw at the n-th pass through a random point: after consuming, after scoring, or after COMMIT
                // but before the pipeline hears of it.
                var point = new[] { "consumed", "scored", "stored" }[random.Next(3)];
                var countdown = random.Next(1, point == "consumed" ? 40 : 4);
                var scorer = h.Start(options, fault: where =>
                {
                    if (where == point && --countdown == 0) throw new SimulatedCrash(where);
                });
                var crash = Task.WhenAny(scorer.Run, ScorerHarness.WaitUntilAsync(async () => await h.ScalarAsync("SELECT count(*) FROM sample_scores") == ids.Count, 20));
                await crash;
                if (scorer.Run.IsCompleted)
                {
                    (await scorer.CrashedAsync()).Should().BeOfType<SimulatedCrash>();
                    crashes++;
                }
                else
                {
                    try
                    {
                        await scorer.StopAsync();
                    }
                    catch (SimulatedCrash)
                    {
                        // The armed fault can still fire while the stop finishes the batches in flight: a crash all the same.
                        crashes++;
                    }
                }
            }
            else
            {
                var scorer = h.Start(options);
                await Task.Delay(random.Next(0, 400));
                await scorer.StopAsync();
            }
        }
        var last = h.Start(ScorerHarness.Options with { MaxBatchesInFlight = maxBatchesInFlight });
        await h.WaitForScoresAsync(60);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 60, what: "all offsets stored");
        await last.StopAsync();

        crashes.Should().BeGreaterThan(0, "the seed should crash the pipeline at least once");
        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.StoredOffsetsAsync()).Should().BeEquivalentTo(h.EndOffsets());
        var outbox = await h.OutboxAsync();
        outbox.SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems("no document travels to the trainer twice")
            .And.HaveCount(60);
        (await h.ScalarAsync("SELECT count(*) FROM sample_scores s LEFT JOIN scored_batch_outbox o USING (batch_id) WHERE o.batch_id IS NULL"))
            .Should().Be(0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_PostgreSQL_outage_of_several_seconds_pauses_the_partitions_and_loses_nothing(int maxBatchesInFlight)
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var scorer = h.Start(ScorerHarness.Options with { MaxBatchesInFlight = maxBatchesInFlight });
        var ids = await h.ProduceAsync(0, 20);
        await h.WaitForScoresAsync(20);

        await postgres.Server.StopAsync();
        try
        {
            ids.AddRange(await h.ProduceAsync(20, 20));
            await ScorerHarness.WaitUntilAsync(() => Task.FromResult(scorer.Pipeline.Statistics.Outages == 1), what: "the outage noticed");
            var held = scorer.Pipeline.InFlightRecords;
            held.Should().BeGreaterThan(0, "the batches that could not be stored are kept");
            ids.AddRange(await h.ProduceAsync(40, 10));
            await Task.Delay(TimeSpan.FromSeconds(3));
            scorer.Pipeline.InFlightRecords.Should().Be(held, "the partitions are paused: nothing more is consumed");
            scorer.Run.IsCompleted.Should().BeFalse("an outage is waited out, not a reason to fail");
        }
        finally
        {
            await postgres.Server.StartAsync();
        }

        await h.WaitForScoresAsync(50, seconds: 30);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 50, what: "all offsets stored");
        await scorer.StopAsync();

        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(50);
        scorer.Pipeline.Statistics.Outages.Should().Be(1);
        scorer.Pipeline.Statistics.AbandonedRecords.Should().Be(0);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_stop_while_PostgreSQL_is_down_ends_within_the_drain_time_and_a_restart_stores_the_rest(int maxBatchesInFlight)
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var options = ScorerHarness.Options with { DrainTimeout = TimeSpan.FromSeconds(1), MaxBatchesInFlight = maxBatchesInFlight };
        var first = h.Start(options);
        var ids = await h.ProduceAsync(0, 10);
        await h.WaitForScoresAsync(10);

        TimeSpan took;
        await postgres.Server.StopAsync();
        try
        {
            ids.AddRange(await h.ProduceAsync(10, 10));
            await ScorerHarness.WaitUntilAsync(() => Task.FromResult(first.Pipeline.Statistics.Outages == 1), what: "the outage noticed");
            took = await first.StopAsync();
        }
        finally
        {
            await postgres.Server.StartAsync();
        }

        took.Should().BeLessThan(options.DrainTimeout + TimeSpan.FromSeconds(2));
        first.Pipeline.Statistics.AbandonedRecords.Should().BeGreaterThan(0);
        var second = h.Start();
        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 20, what: "all offsets stored");
        await second.StopAsync();
        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(20);
    }

    [Fact]
    public async Task Partitions_assigned_while_PostgreSQL_is_down_wait_paused_and_start_from_the_stored_offsets_once_it_is_back()
    {
        await using var h = await ScorerHarness.CreateAsync(postgres, output);
        var ids = await h.ProduceAsync(0, 10);
        var first = h.Start();
        await h.WaitForScoresAsync(10);
        await first.StopAsync();

        RunningScorer second;
        await postgres.Server.StopAsync();
        try
        {
            second = h.Start();
            ids.AddRange(await h.ProduceAsync(10, 10));
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            second.Pipeline.InFlightRecords.Should().Be(0, "nothing is read before PostgreSQL says where to start");
            h.Kafka.GroupAssignment(ScorerHarness.Group).Values.Sum(p => p.Count).Should().Be(ScorerHarness.Partitions,
                "the partitions are assigned, only paused");
        }
        finally
        {
            await postgres.Server.StartAsync();
        }

        await h.WaitForScoresAsync(20);
        await ScorerHarness.WaitUntilAsync(async () => (await h.StoredOffsetsAsync()).Values.Sum() == 20, what: "all offsets stored");
        await second.StopAsync();
        second.Pipeline.Statistics.Documents.Should().Be(10, "it started at the stored offsets, not at the beginning");
        (await h.StoredIdsAsync()).Should().Equal(ids);
        (await h.OutboxAsync()).SelectMany(b => b.Documents.Select(d => d.Id)).Should().OnlyHaveUniqueItems().And.HaveCount(20);
    }
}
