using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ScoreBatchWriterTests(PostgresCluster cluster)
{
    private const string AllScores = "SELECT * FROM sample_scores";
    private const string AllDocuments = "SELECT id, domain, source, content_hash, length_chars, snippet, full_text FROM documents";
    [Fact]
    public async Task Writing_the_same_batch_twice_leaves_the_same_rows()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var batch = TestData.Batch("doc", 500);

        await writer.WriteAsync(batch);
        var scores = await TestData.DumpAsync(db, AllScores);
        var documents = await TestData.DumpAsync(db, AllDocuments);
        await writer.WriteAsync(batch);

        (await TestData.DumpAsync(db, AllScores)).Should().Equal(scores);
        (await TestData.DumpAsync(db, AllDocuments)).Should().Equal(documents);
        scores.Should().HaveCount(500);
    }

    [Fact]
    public async Task A_batch_whose_offsets_are_already_stored_is_skipped()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var batch = TestData.Batch("doc", 100, partition: 3, nextOffset: 100);

        var first = await writer.WriteAsync(batch);
        var scores = await TestData.DumpAsync(db, AllScores);
        var replay = await writer.WriteAsync(batch);

        first.AlreadyApplied.Should().BeFalse();
        first.ScoreRows.Should().Be(100);
        replay.AlreadyApplied.Should().BeTrue();
        (await TestData.DumpAsync(db, AllScores)).Should().Equal(scores);
        (await new ConsumerOffsetQueries(db).GetAsync("scorer", "documents"))
            .Should().Equal(new ConsumerOffset("scorer", "documents", 3, 100));
    }

    [Fact]
    public async Task Rows_and_offsets_commit_in_the_same_transaction()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        long offsetsSeenBeforeCommit = -1, scoresSeenBeforeCommit = -1;
        writer.BeforeCommit = async (_, _, _) =>
        {
            // Another session sees neither half before COMMIT.
            offsetsSeenBeforeCommit = await TestData.CountAsync(db, "SELECT count(*) FROM consumer_offsets WHERE next_offset > 0");
            scoresSeenBeforeCommit = await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores");
        };

        await writer.WriteAsync(TestData.Batch("doc", 50, partition: 0, nextOffset: 50));

        offsetsSeenBeforeCommit.Should().Be(0);
        scoresSeenBeforeCommit.Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(50);
        (await TestData.CountAsync(db, "SELECT next_offset FROM consumer_offsets WHERE partition = 0")).Should().Be(50);
    }

    [Fact]
    public async Task A_failure_injected_between_staging_and_commit_leaves_neither_rows_nor_offsets()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var stagedRows = -1L;
        writer.BeforeCommit = async (conn, _, _) =>
        {
            // Prove the rows really were staged and upserted inside the transaction before it failed.
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM sample_scores", conn);
            stagedRows = (long)(await cmd.ExecuteScalarAsync())!;
            throw new InvalidOperationException("injected failure before commit");
        };
        var batch = TestData.Batch("doc", 200, partition: 1, nextOffset: 200);

        var act = () => writer.WriteAsync(batch);

        var thrown = await act.Should().ThrowAsync<BatchWriteException>();
        thrown.Which.BatchId.Should().Be(batch.BatchId);
        thrown.Which.Message.Should().Contain(batch.BatchId.ToString());
        stagedRows.Should().Be(200);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM documents")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM consumer_offsets")).Should().Be(0);
    }

    [Fact]
    public async Task A_connection_killed_before_commit_is_retried_and_the_batch_lands_once()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        writer.BeforeCommit = async (conn, attempt, _) =>
        {
            if (attempt > 1) return;
            // A real transient failure: the server terminates this session, as on a restart or failover.
            await using var admin = db.CreateCommand("SELECT pg_terminate_backend($1)");
            admin.Parameters.Add(new NpgsqlParameter { Value = conn.ProcessID });
            await admin.ExecuteNonQueryAsync();
        };

        var result = await writer.WriteAsync(TestData.Batch("doc", 100, partition: 2, nextOffset: 100));

        result.Attempts.Should().Be(2);
        result.ScoreRows.Should().Be(100);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(100);
        (await TestData.CountAsync(db, "SELECT next_offset FROM consumer_offsets WHERE partition = 2")).Should().Be(100);
    }

    [Fact]
    public async Task Transient_failures_that_outlast_the_retries_surface_with_the_batch_id()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry with { MaxRetries = 2 });
        var attempts = 0;
        writer.BeforeCommit = async (conn, _, _) =>
        {
            attempts++;
            await using var admin = db.CreateCommand("SELECT pg_terminate_backend($1)");
            admin.Parameters.Add(new NpgsqlParameter { Value = conn.ProcessID });
            await admin.ExecuteNonQueryAsync();
        };
        var batch = TestData.Batch("doc", 10, partition: 0, nextOffset: 10);

        var act = () => writer.WriteAsync(batch);

        (await act.Should().ThrowAsync<BatchWriteException>()).Which.BatchId.Should().Be(batch.BatchId);
        attempts.Should().Be(3, "one try and two bounded retries");
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(0);
    }

    [Fact]
    public async Task A_permanent_error_is_not_retried_and_names_the_batch()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var attempts = 0;
        writer.BeforeCommit = (_, _, _) => { attempts++; return Task.CompletedTask; };
        // A confidence above 1 violates the table's CHECK constraint: no retry can fix that.
        var batch = new ScoreBatch(Guid.NewGuid(), [TestData.Document("d1")], [TestData.Score("d1") with { LabelConfidence = 1.5 }], []);

        var act = () => writer.WriteAsync(batch);

        var thrown = await act.Should().ThrowAsync<BatchWriteException>();
        thrown.Which.BatchId.Should().Be(batch.BatchId);
        thrown.Which.InnerException.Should().BeOfType<PostgresException>().Which.SqlState.Should().Be(PostgresErrorCodes.CheckViolation);
        attempts.Should().Be(0);
    }

    [Fact]
    public async Task Two_concurrent_writers_on_different_partitions_both_commit_everything()
    {
        var db = await cluster.CreateDatabaseAsync();
        const int batches = 15, rowsPerBatch = 200;

        async Task RunPartition(int partition)
        {
            var writer = new ScoreBatchWriter(db, TestData.FastRetry);
            for (var b = 0; b < batches; b++)
                await writer.WriteAsync(TestData.Batch($"p{partition}-b{b}", rowsPerBatch, partition, nextOffset: (b + 1) * rowsPerBatch));
        }

        await Task.WhenAll(Task.Run(() => RunPartition(0)), Task.Run(() => RunPartition(1)));

        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(2 * batches * rowsPerBatch);
        (await new ConsumerOffsetQueries(db).GetAsync("scorer", "documents")).Should().Equal(
            new ConsumerOffset("scorer", "documents", 0, batches * rowsPerBatch),
            new ConsumerOffset("scorer", "documents", 1, batches * rowsPerBatch));
    }

    [Fact]
    public async Task An_older_score_never_overwrites_a_newer_one()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var doc = TestData.Document("d1");
        var newer = TestData.Score("d1", mean: 2, label: SampleLabel.Easy, at: TestData.T0.AddHours(1), batch: Guid.NewGuid());
        var older = TestData.Score("d1", mean: 9, label: SampleLabel.Noisy, at: TestData.T0, batch: Guid.NewGuid());

        await writer.WriteAsync(new ScoreBatch(newer.BatchId, [doc], [newer], []));
        await writer.WriteAsync(new ScoreBatch(older.BatchId, [doc], [older], []));

        (await TestData.DumpAsync(db, "SELECT label, loss_mean FROM sample_scores")).Should().Equal("(easy,2)");
    }

    [Fact]
    public async Task Duplicate_keys_within_one_batch_keep_the_last_row()
    {
        var db = await cluster.CreateDatabaseAsync();
        var id = Guid.NewGuid();
        var batch = new ScoreBatch(id, [TestData.Document("d1"), TestData.Document("d1", domain: "code")],
            [TestData.Score("d1", mean: 1, batch: id), TestData.Score("d1", mean: 5, batch: id)], []);

        await new ScoreBatchWriter(db, TestData.FastRetry).WriteAsync(batch);

        (await TestData.DumpAsync(db, "SELECT domain FROM documents")).Should().Equal("(code)");
        (await TestData.DumpAsync(db, "SELECT loss_mean FROM sample_scores")).Should().Equal("(5)");
    }

    [Fact]
    public async Task The_outbox_entry_commits_with_the_batch_and_only_once()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db, TestData.FastRetry);
        var batch = TestData.Batch("doc", 5) with { OutboxPayload = [1, 2, 3] };

        await writer.WriteAsync(batch);
        await writer.WriteAsync(batch);

        (await TestData.DumpAsync(db, "SELECT batch_id, payload FROM scored_batch_outbox"))
            .Should().Equal($"({batch.BatchId},\"\\\\x010203\")");
    }

    [Fact]
    public async Task A_member_of_the_writer_role_stores_batches_without_superuser()
    {
        var db = await cluster.CreateDatabaseAsync();
        await TestData.ExecuteAsync(db, """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'scorer_service') THEN
                CREATE ROLE scorer_service LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE reweight_writer;
              END IF;
            END $$;
            """);
        await using var asWriter = NpgsqlDataSource.Create(cluster.ConnectionStringAs(db, "scorer_service"));

        var result = await new ScoreBatchWriter(asWriter, TestData.FastRetry).WriteAsync(TestData.Batch("doc", 20, nextOffset: 20));

        result.ScoreRows.Should().Be(20);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(20);
    }
}
