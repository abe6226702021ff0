using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

/// <summary>The writer's fast path (binary COPY straight into the tables when every key is new) against its reference,
/// the staging + upsert path it falls back to when a key is stored already.</summary>
[Collection(PostgresCollection.Name)]
public sealed class DirectCopyPathTests(PostgresCluster cluster)
{
    private const string AllScores = "SELECT * FROM sample_scores";
    private const string AllDocuments = "SELECT id, domain, source, content_hash, length_chars, snippet, full_text FROM documents";
    [Fact]
    public async Task A_batch_of_new_keys_is_copied_straight_in_and_stores_what_the_upsert_path_stores()
    {
        var copiedDb = await cluster.CreateDatabaseAsync();
        var upsertedDb = await cluster.CreateDatabaseAsync();
        var batch = TestData.Batch("doc", 300, partition: 4, nextOffset: 300) with { OutboxPayload = [7] };
        // In the reference database one document and one score are stored already (older, another domain), so the
        // same batch has to take the upsert path there, and overwrites both.
        await new ScoreBatchWriter(upsertedDb, TestData.FastRetry).WriteAsync(new ScoreBatch(Guid.NewGuid(),
            [TestData.Document("doc-17", domain: "code")], [TestData.Score("doc-17", mean: 99, at: TestData.T0.AddDays(-1))], []));

        var copied = await new ScoreBatchWriter(copiedDb, TestData.FastRetry).WriteAsync(batch);
        var upserted = await new ScoreBatchWriter(upsertedDb, TestData.FastRetry).WriteAsync(batch);

        (copied.ScorePath, copied.DocumentPath).Should().Be((RowWritePath.Copied, RowWritePath.Copied));
        (upserted.ScorePath, upserted.DocumentPath).Should().Be((RowWritePath.Upserted, RowWritePath.Upserted));
        (copied.ScoreRows, copied.DocumentRows).Should().Be((300, 300));
        var scores = await TestData.DumpAsync(copiedDb, AllScores);
        scores.Should().HaveCount(300).And.Equal(await TestData.DumpAsync(upsertedDb, AllScores));
        (await TestData.DumpAsync(copiedDb, AllDocuments)).Should().HaveCount(300).And.Equal(await TestData.DumpAsync(upsertedDb, AllDocuments));
        (await TestData.DumpAsync(copiedDb, "SELECT label::text FROM sample_scores WHERE document_id = 'doc-2'")).Should().Equal("(noisy)");
        (await new ConsumerOffsetQueries(copiedDb).GetAsync("scorer", "documents"))
            .Should().Equal(new ConsumerOffset("scorer", "documents", 4, 300));
        (await TestData.CountAsync(copiedDb, $"SELECT count(*) FROM scored_batch_outbox WHERE batch_id = '{batch.BatchId}'")).Should().Be(1);
    }

    [Theory]
    [InlineData(16)] // the probe of sampled keys sends the batch straight to the upsert
    [InlineData(0)]  // no probe: the direct COPY meets a stored key and rolls back to its savepoint
    public async Task A_batch_meeting_stored_keys_falls_back_to_the_upsert_where_older_never_overwrites_newer(int storedKeyProbe)
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry) { StoredKeyProbe = storedKeyProbe };
        var first = Guid.NewGuid();
        await writer.WriteAsync(new ScoreBatch(first,
            Enumerable.Range(0, 10).Select(i => TestData.Document($"d{i}")).ToList(),
            Enumerable.Range(0, 10).Select(i => TestData.Score($"d{i}", mean: 1, at: TestData.T0.AddHours(1), batch: first)).ToList(),
            [new ConsumerOffset("scorer", "documents", 0, 10)]));
        // d5..d9 again but older (must stay as stored), d0 again but newer (must win), d10..d14 new.
        var second = Guid.NewGuid();
        var rescored = Enumerable.Range(5, 5).Select(i => TestData.Score($"d{i}", mean: 7, at: TestData.T0, batch: second))
            .Append(TestData.Score("d0", mean: 3, at: TestData.T0.AddHours(2), batch: second))
            .Concat(Enumerable.Range(10, 5).Select(i => TestData.Score($"d{i}", mean: 5, at: TestData.T0, batch: second)))
            .ToList();
        var batch = new ScoreBatch(second, Enumerable.Range(10, 5).Select(i => TestData.Document($"d{i}")).ToList(), rescored,
            [new ConsumerOffset("scorer", "documents", 0, 25)]);

        var result = await writer.WriteAsync(batch);
        var scores = await TestData.DumpAsync(db, AllScores);
        var again = await writer.WriteAsync(batch with { Offsets = [] });

        result.ScorePath.Should().Be(RowWritePath.Upserted);
        result.DocumentPath.Should().Be(RowWritePath.Copied, "the batch's documents are all new");
        result.ScoreRows.Should().Be(6, "five new rows and the newer d0; the older d5..d9 are skipped");
        (await TestData.DumpAsync(db, """
            SELECT string_agg(document_id || '=' || loss_mean, ' ' ORDER BY substr(document_id, 2)::int) FROM sample_scores
            """)).Should().Equal("(\"d0=3 d1=1 d2=1 d3=1 d4=1 d5=1 d6=1 d7=1 d8=1 d9=1 d10=5 d11=5 d12=5 d13=5 d14=5\")");
        again.ScorePath.Should().Be(RowWritePath.Upserted);
        again.DocumentPath.Should().Be(RowWritePath.Upserted);
        again.DocumentRows.Should().Be(0, "unchanged documents are not rewritten");
        (await TestData.DumpAsync(db, AllScores)).Should().Equal(scores, "writing the same batch twice leaves the same rows");
        (await new ConsumerOffsetQueries(db).GetAsync("scorer", "documents"))
            .Should().Equal(new ConsumerOffset("scorer", "documents", 0, 25));
    }

    [Fact]
    public async Task A_failure_after_the_direct_copy_and_before_commit_leaves_neither_rows_nor_offsets()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        long rowsInsideTransaction = -1;
        bool? stagingTableExisted = null;
        writer.BeforeCommit = async (conn, _, _) =>
        {
            // Prove the rows went in by the direct COPY (no staging table) before the failure.
            await using var cmd = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM sample_scores), to_regclass('pg_temp.score_staging') IS NOT NULL", conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            rowsInsideTransaction = reader.GetInt64(0);
            stagingTableExisted = reader.GetBoolean(1);
            throw new InvalidOperationException("injected failure after the direct COPY");
        };
        var batch = TestData.Batch("doc", 250, partition: 1, nextOffset: 250);

        var act = () => writer.WriteAsync(batch);

        (await act.Should().ThrowAsync<BatchWriteException>()).Which.BatchId.Should().Be(batch.BatchId);
        rowsInsideTransaction.Should().Be(250);
        stagingTableExisted.Should().BeFalse();
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM documents")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM consumer_offsets")).Should().Be(0);

        writer.BeforeCommit = null;
        var retried = await writer.WriteAsync(batch);

        retried.ScorePath.Should().Be(RowWritePath.Copied, "the failed attempt left no key behind to conflict with");
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(250);
        (await TestData.CountAsync(db, "SELECT next_offset FROM consumer_offsets WHERE partition = 1")).Should().Be(250);
    }

    [Fact]
    public async Task Two_writers_copying_the_same_new_keys_both_commit_and_the_newer_scores_win()
    {
        var db = await cluster.CreateDatabaseAsync();
        ScoreBatch Scored(DateTimeOffset at, double mean, int partition)
        {
            var id = Guid.NewGuid();
            return new ScoreBatch(id, [], Enumerable.Range(0, 2_000).Select(i => TestData.Score($"d{i}", mean: mean, at: at, batch: id)).ToList(),
                [new ConsumerOffset("scorer", "documents", partition, 2_000)]);
        }
        var older = Scored(TestData.T0, mean: 1, partition: 0);
        var newer = Scored(TestData.T0.AddHours(1), mean: 2, partition: 1);

        // Whichever commits second meets the first one's keys (waiting on them if they are not committed yet) and
        // must fall back to the upsert rather than fail.
        var results = await Task.WhenAll(
            Task.Run(() => new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(older)),
            Task.Run(() => new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(newer)));

        results.Select(r => r.ScorePath).Should().BeEquivalentTo([RowWritePath.Copied, RowWritePath.Upserted]);
        (await TestData.DumpAsync(db, "SELECT loss_mean, count(*) FROM sample_scores GROUP BY loss_mean")).Should().Equal("(2,2000)");
        (await TestData.CountAsync(db, "SELECT sum(next_offset) FROM consumer_offsets")).Should().Be(4_000);
    }
}
