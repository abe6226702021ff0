using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class RoleTests(PostgresCluster cluster)
{
    [Theory]
    [InlineData("INSERT INTO documents (id, content_hash, length_chars, snippet) VALUES ('x', sha256('x'), 1, 'x')")]
    [InlineData("UPDATE sample_scores SET label = 'easy'")]
    [InlineData("DELETE FROM documents")]
    [InlineData("TRUNCATE sample_scores")]
    [InlineData("INSERT INTO consumer_offsets (consumer_group, topic, partition, next_offset) VALUES ('g', 't', 0, 0)")]
    [InlineData("CREATE TABLE analyst_scratch (id int)")]
    [InlineData("DROP VIEW noisy_documents")]
    public async Task The_reader_role_cannot_write(string statement)
    {
        var (db, asReader) = await ReaderAsync();
        await using var _ = asReader;
        await using var cmd = asReader.CreateCommand(statement);

        var act = () => cmd.ExecuteNonQueryAsync();

        (await act.Should().ThrowAsync<PostgresException>()).Which.SqlState
            .Should().BeOneOf(PostgresErrorCodes.InsufficientPrivilege, PostgresErrorCodes.DependentObjectsStillExist);
        (await TestData.CountAsync(db, "SELECT count(*) FROM documents")).Should().Be(3);
    }

    [Fact]
    public async Task The_reader_role_can_query_the_views()
    {
        var (_, asReader) = await ReaderAsync();
        await using var _ = asReader;

        foreach (var view in new[] { "noisy_documents", "hard_documents", "easy_documents", "label_summary", "score_histogram", "sample_scores" })
            (await TestData.CountAsync(asReader, $"SELECT count(*) FROM {view}")).Should().BeGreaterThanOrEqualTo(0);
        (await TestData.CountAsync(asReader, "SELECT count(*) FROM latest_scores")).Should().Be(3);
    }

    private async Task<(NpgsqlDataSource Db, NpgsqlDataSource AsReader)> ReaderAsync()
    {
        var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(TestData.Batch("doc", 3));
        await TestData.ExecuteAsync(db, """
            DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst') THEN
                CREATE ROLE analyst LOGIN IN ROLE reweight_reader;
              END IF;
            END $$;
            """);
        return (db, NpgsqlDataSource.Create(cluster.ConnectionStringAs(db, "analyst")));
    }
}
