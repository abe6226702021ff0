using Reweighting.Testing.Postgres;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

/// <summary>The compression ratio of V006: added with old rows intact and unknown, written by both write paths, shown by
/// the views, and read back with the statistics a relabelling judges.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CompressionRatioTests(PostgresCluster cluster)
{
    private const string V005Columns =
        "SELECT document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities, label, " +
        "label_confidence, gmm_version, batch_id, scored_at FROM sample_scores";

    [Fact]
    public async Task Rows_stored_at_V005_survive_V006_intact_with_their_ratio_unknown()
    {
        await using var db = await cluster.CreateDatabaseAsync(migrated: false);
        await new MigrationRunner(db) { Migrations = Migration.Embedded.Where(m => m.Version <= 5).ToList() }.MigrateAsync();
        await TestData.ExecuteAsync(db, """
            INSERT INTO documents (id, domain, source, content_hash, length_chars, snippet)
            VALUES ('old', 'web', 'test', decode(repeat('ab', 32), 'hex'), 11, 'text of old');
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities,
                                       label, label_confidence, gmm_version, batch_id, scored_at)
            VALUES ('old', 'proxy-test', 100, 400, 3.5, 1.25, '{0.2,0.8}', 'noisy', 0.5, 2,
                    '00000000-0000-0000-0000-000000000001', '2025-01-01T12:00:00Z');
            """);
        var before = await TestData.DumpAsync(db, V005Columns);

        var applied = await new MigrationRunner(db).MigrateAsync();

        applied.Select(m => m.Version).Should().Equal(6, 7);
        (await TestData.DumpAsync(db, V005Columns)).Should().Equal(before);
        (await TestData.CountAsync(db, "SELECT count(*) FROM noisy_documents WHERE compression_ratio IS NULL")).Should().Be(1);
        var (sample, _) = await new SampleStatisticsQueries(db).RandomSampleAsync("proxy-test", 10, 1);
        sample.Should().Equal(new StoredStatistics(100, 3.5, 1.25, 400, null));
    }

    [Theory]
    [InlineData(16)] // the re-score: the probe finds the stored key and upserts through staging
    [InlineData(0)]  // the re-score: the direct COPY meets the stored key and rolls back to its savepoint
    public async Task The_ratio_round_trips_through_both_write_paths_into_the_views(int storedKeyProbe)
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry) { StoredKeyProbe = storedKeyProbe };
        var first = Guid.NewGuid();
        var copied = await writer.WriteAsync(new ScoreBatch(first, [TestData.Document("a"), TestData.Document("b")],
            [TestData.Score("a", label: SampleLabel.Noisy, batch: first) with { ScoredBytes = 250, CompressionRatio = 0.125 },
             TestData.Score("b", label: SampleLabel.Noisy, batch: first) with { ScoredBytes = 250 }], []));
        var second = Guid.NewGuid();
        var rescored = TestData.Score("b", label: SampleLabel.Noisy, at: TestData.T0.AddHours(1), batch: second)
            with { ScoredBytes = 300, CompressionRatio = 0.5 };
        var upserted = await writer.WriteAsync(new ScoreBatch(second, [], [rescored], []));

        copied.ScorePath.Should().Be(RowWritePath.Copied);
        upserted.ScorePath.Should().Be(RowWritePath.Upserted);
        (await TestData.DumpAsync(db, "SELECT document_id, compression_ratio FROM noisy_documents ORDER BY document_id"))
            .Should().Equal("(a,0.125)", "(b,0.5)");
        var (sample, _) = await new SampleStatisticsQueries(db).RandomSampleAsync(TestData.Score("a").ScorerModel, 10, 1);
        sample.Select(r => r.CompressionRatio).Should().Equal(0.125, 0.5);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    public async Task A_ratio_that_is_not_positive_and_finite_is_refused_before_anything_is_written(double ratio)
    {
        await using var db = await cluster.CreateDatabaseAsync();

        var act = () => new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(new ScoreBatch(Guid.NewGuid(), [TestData.Document("d")],
            [TestData.Score("d") with { CompressionRatio = ratio }], []));

        (await act.Should().ThrowAsync<BatchWriteException>()).WithMessage("*compression ratio*");
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
    }
}
