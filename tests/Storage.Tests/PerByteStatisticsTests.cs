using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

/// <summary>The scored bytes of V004: added with old rows intact and unknown, written by both write paths, and turned
/// into loss per byte and bytes per token by the views.</summary>
/// <remarks>Each test closes its database's pool when it ends: the shared server allows 50 connections, and the idle
/// pools of every earlier test's databases stay open until the run ends.</remarks>
[Collection(PostgresCollection.Name)]
public sealed class PerByteStatisticsTests(PostgresCluster cluster)
{
    private const string OldColumns =
        "SELECT document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities, label, label_confidence, gmm_version, " +
        "batch_id, scored_at FROM sample_scores";

    [Fact]
    public async Task Rows_stored_at_V003_survive_V004_intact_with_their_bytes_unknown()
    {
        await using var db = await cluster.CreateDatabaseAsync(migrated: false);
        await new MigrationRunner(db) { Migrations = Migration.Embedded.Where(m => m.Version <= 3).ToList() }.MigrateAsync();
        await TestData.ExecuteAsync(db, """
            INSERT INTO documents (id, domain, source, content_hash, length_chars, snippet)
            VALUES ('old', 'web', 'test', decode(repeat('ab', 32), 'hex'), 11, 'text of old'),
                   ('empty', NULL, 'test', decode(repeat('cd', 32), 'hex'), 0, '');
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities, label,
                                       label_confidence, gmm_version, batch_id, scored_at)
            VALUES ('old', 'proxy-test', 100, 3.5, 1.25, '{0.2,0.5,0.3}', 'noisy', 0.5, 2,
                    '00000000-0000-0000-0000-000000000001', '2025-01-01T12:00:00Z'),
                   ('empty', 'proxy-test', 0, 0, 0, '{}', 'easy', 0, NULL,
                    '00000000-0000-0000-0000-000000000001', '2025-01-01T12:00:00Z');
            """);
        var before = await TestData.DumpAsync(db, OldColumns);

        var applied = await new MigrationRunner(db).MigrateAsync();

        applied.Select(m => m.Version).Should().Equal(4, 5, 6, 7);
        (await TestData.DumpAsync(db, OldColumns)).Should().HaveCount(2).And.Equal(before);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores WHERE scored_bytes IS NULL")).Should().Be(2);
        (await TestData.CountAsync(db, "SELECT count(*) FROM latest_scores WHERE loss_per_byte IS NULL AND bytes_per_token IS NULL"))
            .Should().Be(2);
        var noisy = (await new LabelledDocumentQueries(db).ListAsync(SampleLabel.Noisy, null, 10)).Should().ContainSingle().Which;
        noisy.Should().Match<LabelledDocument>(d => d.DocumentId == "old" && d.LossMean == 3.5 && d.TokenCount == 100 && d.GmmVersion == 2);
        noisy.ScoredBytes.Should().BeNull();
        noisy.LossPerByte.Should().BeNull();
        (await TestData.DumpAsync(db, "SELECT domain, label, documents, avg_loss_per_byte FROM label_summary WHERE domain = '(all)'"))
            .Should().Equal("(\"(all)\",easy,1,)", "(\"(all)\",noisy,1,)");
    }

    [Theory]
    [InlineData(16)] // the re-score: the probe finds the stored key
    [InlineData(0)]  // the re-score: the direct COPY meets the stored key and rolls back to its savepoint
    public async Task Scored_bytes_round_trip_through_both_write_paths_and_the_views_divide_by_them(int storedKeyProbe)
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry) { StoredKeyProbe = storedKeyProbe };
        var first = Guid.NewGuid();
        var copied = await writer.WriteAsync(new ScoreBatch(first, [TestData.Document("known"), TestData.Document("unknown")],
            [TestData.Score("known", mean: 3.0, label: SampleLabel.Noisy, batch: first) with { ScoredBytes = 250 },
             TestData.Score("unknown", mean: 2.0, label: SampleLabel.Noisy, batch: first) with { ScoredBytes = null }], []));
        // Re-scored later: the stored keys send the rows through staging and upsert, which must carry the bytes too.
        var second = Guid.NewGuid();
        var rescored = TestData.Score("unknown", mean: 2.0, label: SampleLabel.Noisy, at: TestData.T0.AddHours(1), batch: second);
        var upserted = await writer.WriteAsync(new ScoreBatch(second, [], [rescored with { ScoredBytes = 800 }], []));

        copied.ScorePath.Should().Be(RowWritePath.Copied);
        upserted.ScorePath.Should().Be(RowWritePath.Upserted);
        (await TestData.DumpAsync(db, "SELECT document_id, n_tokens, scored_bytes, loss_per_byte, bytes_per_token FROM latest_scores"))
            .Should().Equal("(known,100,250,1.2,2.5)", "(unknown,100,800,0.25,8)");
        var rows = await new LabelledDocumentQueries(db).ListAsync(SampleLabel.Noisy, null, 10);
        rows.Select(r => (r.DocumentId, r.ScoredBytes, r.LossPerByte))
            .Should().BeEquivalentTo(new[] { ("known", (long?)250, (double?)1.2), ("unknown", (long?)800, (double?)0.25) });
    }

    [Fact]
    public async Task An_upsert_with_unknown_bytes_clears_them_rather_than_keeping_those_of_an_older_score()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var older = TestData.Score("d") with { ScoredBytes = 400 };
        await writer.WriteAsync(new ScoreBatch(Guid.NewGuid(), [TestData.Document("d")], [older], []));
        var newer = TestData.Score("d", mean: 5, at: TestData.T0.AddHours(1)) with { ScoredBytes = null };

        await writer.WriteAsync(new ScoreBatch(Guid.NewGuid(), [], [newer], []));

        // The bytes belong to the score that counted them; a newer score without them must not be divided by them.
        (await TestData.DumpAsync(db, "SELECT loss_mean, scored_bytes FROM sample_scores")).Should().Equal("(5,)");
    }

    [Theory]
    [InlineData(0L, 100)]
    [InlineData(-4L, 100)]
    [InlineData(12L, 0)]
    public async Task Bytes_that_are_not_positive_or_without_tokens_are_refused_before_anything_is_written(long bytes, int tokens)
    {
        await using var db = await cluster.CreateDatabaseAsync();

        var act = () => new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(new ScoreBatch(Guid.NewGuid(), [TestData.Document("d")],
            [TestData.Score("d") with { ScoredBytes = bytes, TokenCount = tokens }], []));

        (await act.Should().ThrowAsync<BatchWriteException>()).WithMessage("*covers*bytes*");
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
    }

    [Fact]
    public async Task The_table_refuses_bytes_that_are_not_positive_or_without_tokens_from_any_client()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        const string Insert = """
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, scored_bytes, loss_mean, loss_variance, responsibilities,
                                       label, label_confidence, batch_id, scored_at)
            VALUES ('d', 'm', {0}, {1}, 1, 1, '{{}}', 'easy', 0, gen_random_uuid(), now())
            """;

        foreach (var (tokens, bytes) in new[] { (100, 0L), (100, -1L), (0, 5L) })
        {
            var sql = string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, tokens, bytes);

            var act = () => TestData.ExecuteAsync(db, sql);

            (await act.Should().ThrowAsync<PostgresException>()).Which.ConstraintName.Should().Be("sample_scores_scored_bytes_check");
        }
    }
}
