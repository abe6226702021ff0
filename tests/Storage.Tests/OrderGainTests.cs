using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

/// <summary>The order gain of V007: added with old rows intact and unknown, written by both write paths (a measured 0 and
/// a negative gain included), shown by the views, and read back with the statistics a relabelling judges.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OrderGainTests(PostgresCluster cluster)
{
    private const string V006Columns =
        "SELECT document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities, label, " +
        "label_confidence, gmm_version, batch_id, scored_at, compression_ratio FROM sample_scores";

    [Fact]
    public async Task Rows_stored_at_V006_survive_V007_intact_with_their_order_gain_unknown()
    {
        await using var db = await cluster.CreateDatabaseAsync(migrated: false);
        await new MigrationRunner(db) { Migrations = Migration.Embedded.Where(m => m.Version <= 6).ToList() }.MigrateAsync();
        await TestData.ExecuteAsync(db, """
            INSERT INTO documents (id, domain, source, content_hash, length_chars, snippet)
            VALUES ('old', 'web', 'test', decode(repeat('ab', 32), 'hex'), 11, 'text of old');
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities,
                                       label, label_confidence, gmm_version, batch_id, scored_at, compression_ratio)
            VALUES ('old', 'proxy-test', 100, 400, 3.5, 1.25, '{0.2,0.8}', 'noisy', 0.5, 2,
                    '00000000-0000-0000-0000-000000000001', '2025-01-01T12:00:00Z', 0.4);
            """);
        var before = await TestData.DumpAsync(db, V006Columns);

        var applied = await new MigrationRunner(db).MigrateAsync();

        applied.Select(m => m.Version).Should().Equal(7);
        (await TestData.DumpAsync(db, V006Columns)).Should().Equal(before);
        (await TestData.CountAsync(db, "SELECT count(*) FROM noisy_documents WHERE order_gain IS NULL AND compression_ratio = 0.4"))
            .Should().Be(1);
        var (sample, _) = await new SampleStatisticsQueries(db).RandomSampleAsync("proxy-test", 10, 1);
        sample.Should().Equal(new StoredStatistics(100, 3.5, 1.25, 400, 0.4, null));
    }

    [Theory]
    [InlineData(16)] // the re-score: the probe finds the stored key and upserts through staging
    [InlineData(0)]  // the re-score: the direct COPY meets the stored key and rolls back to its savepoint
    public async Task The_order_gain_round_trips_through_both_write_paths_into_every_label_view(int storedKeyProbe)
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry) { StoredKeyProbe = storedKeyProbe };
        var first = Guid.NewGuid();
        string[] ids = ["a", "b", "c", "d"];
        var copied = await writer.WriteAsync(new ScoreBatch(first, ids.Select(id => TestData.Document(id)).ToList(),
        [
            TestData.Score("a", label: SampleLabel.Noisy, batch: first) with { CompressionRatio = 0.4, OrderGain = 0.0 },
            TestData.Score("b", label: SampleLabel.Noisy, batch: first) with { CompressionRatio = 0.4 },
            TestData.Score("c", label: SampleLabel.Hard, batch: first) with { CompressionRatio = 0.4, OrderGain = -0.002 },
            TestData.Score("d", label: SampleLabel.Easy, batch: first) with { CompressionRatio = 0.4, OrderGain = 0.03 },
        ], []));
        var second = Guid.NewGuid();
        var rescored = TestData.Score("b", label: SampleLabel.Noisy, at: TestData.T0.AddHours(1), batch: second)
            with { CompressionRatio = 0.5, OrderGain = 0.125 };
        var upserted = await writer.WriteAsync(new ScoreBatch(second, [], [rescored], []));

        copied.ScorePath.Should().Be(RowWritePath.Copied);
        upserted.ScorePath.Should().Be(RowWritePath.Upserted);
        (await TestData.DumpAsync(db, "SELECT document_id, order_gain FROM noisy_documents ORDER BY document_id"))
            .Should().Equal("(a,0)", "(b,0.125)");
        (await TestData.DumpAsync(db, "SELECT document_id, order_gain FROM hard_documents")).Should().Equal("(c,-0.002)");
        (await TestData.DumpAsync(db, "SELECT document_id, order_gain FROM easy_documents")).Should().Equal("(d,0.03)");
        (await TestData.CountAsync(db, "SELECT count(*) FROM latest_scores WHERE order_gain IS NOT NULL")).Should().Be(4);
        var (sample, _) = await new SampleStatisticsQueries(db).RandomSampleAsync(TestData.Score("a").ScorerModel, 10, 1);
        sample.Select(r => r.OrderGain).Should().Equal(0.0, 0.125, -0.002, 0.03);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public async Task An_order_gain_that_is_not_finite_is_refused_before_anything_is_written(double gain)
    {
        await using var db = await cluster.CreateDatabaseAsync();

        var act = () => new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(new ScoreBatch(Guid.NewGuid(), [TestData.Document("d")],
            [TestData.Score("d") with { OrderGain = gain }], []));

        (await act.Should().ThrowAsync<BatchWriteException>()).WithMessage("*order gain*");
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
    }

    [Theory]
    [InlineData("'NaN'")]
    [InlineData("'Infinity'")]
    [InlineData("'-Infinity'")]
    public async Task The_table_itself_refuses_an_order_gain_that_is_not_finite(string gain)
    {
        await using var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(new ScoreBatch(Guid.NewGuid(), [TestData.Document("d")],
            [TestData.Score("d")], []));

        var act = () => TestData.ExecuteAsync(db, $"UPDATE sample_scores SET order_gain = {gain}::double precision");

        (await act.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("sample_scores_order_gain_check");
    }
}
