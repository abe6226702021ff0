using Reweighting.Testing.Postgres;
using FluentAssertions;
using Npgsql;
using Reweighting.Storage.Migrations;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class MigrationTests(PostgresCluster cluster)
{
    private static readonly string[] Tables =
        ["documents", "sample_scores", "gmm_models", "cluster_parameters", "consumer_offsets", "scored_batch_outbox",
         "training_runs", "training_metrics", "schema_migrations"];

    private static readonly string[] Views =
        ["latest_scores", "noisy_documents", "hard_documents", "easy_documents", "label_summary", "score_histogram"];

    [Fact]
    public async Task Migrating_an_empty_database_creates_every_table_view_and_role()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        var applied = await new MigrationRunner(db).MigrateAsync();

        applied.Select(m => m.Version).Should().Equal(Migration.Embedded.Select(m => m.Version));
        foreach (var table in Tables)
            (await TestData.CountAsync(db, $"SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '{table}'"))
                .Should().Be(1, $"table {table} should exist");
        foreach (var view in Views)
            (await TestData.CountAsync(db, $"SELECT count(*) FROM pg_views WHERE schemaname = 'public' AND viewname = '{view}'"))
                .Should().Be(1, $"view {view} should exist");
        (await TestData.CountAsync(db, "SELECT count(*) FROM pg_roles WHERE rolname IN ('reweight_writer', 'reweight_reader')"))
            .Should().Be(2);
        (await TestData.CountAsync(db, "SELECT count(*) FROM pg_type WHERE typname = 'sample_label'")).Should().Be(1);
    }

    [Fact]
    public async Task Running_migrations_again_applies_nothing_and_changes_nothing()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        var runner = new MigrationRunner(db);
        await runner.MigrateAsync();
        var history = await TestData.DumpAsync(db, "SELECT version, name, checksum, applied_at FROM schema_migrations");

        var again = await runner.MigrateAsync();

        again.Should().BeEmpty();
        (await TestData.DumpAsync(db, "SELECT version, name, checksum, applied_at FROM schema_migrations")).Should().Equal(history);
        (await runner.StatusAsync()).Should().OnlyContain(s => s.IsApplied && !s.ChecksumMismatch);
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_migration_exactly_once()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => new MigrationRunner(db).MigrateAsync())));

        results.Sum(r => r.Count).Should().Be(Migration.Embedded.Count, "the advisory lock lets exactly one runner apply each migration");
        (await TestData.CountAsync(db, "SELECT count(*) FROM schema_migrations")).Should().Be(Migration.Embedded.Count);
    }

    [Fact]
    public async Task Status_reports_pending_migrations_before_and_applied_ones_after()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        var runner = new MigrationRunner(db);

        (await runner.StatusAsync()).Should().OnlyContain(s => !s.IsApplied).And.HaveCount(Migration.Embedded.Count);
        await runner.MigrateAsync();
        (await runner.StatusAsync()).Should().OnlyContain(s => s.IsApplied);
    }

    [Fact]
    public async Task A_migration_edited_after_it_was_applied_is_refused()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        await new MigrationRunner(db).MigrateAsync();
        var edited = Migration.Embedded.Select(m => m.Version == 1 ? m with { Sql = m.Sql + "\n-- sneaky edit" } : m).ToList();

        var act = () => new MigrationRunner(db) { Migrations = edited }.MigrateAsync();

        (await act.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*V001*changed after it was applied*");
    }

    [Fact]
    public async Task A_failing_migration_leaves_no_trace_and_is_retried_next_time()
    {
        var db = await cluster.CreateDatabaseAsync(migrated: false);
        var broken = Migration.Embedded.Append(new Migration(999, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")).ToList();

        var act = () => new MigrationRunner(db) { Migrations = broken }.MigrateAsync();

        await act.Should().ThrowAsync<PostgresException>();
        (await TestData.CountAsync(db, "SELECT count(*) FROM schema_migrations WHERE version = 999")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'")).Should().Be(0);
        (await TestData.CountAsync(db, "SELECT count(*) FROM schema_migrations")).Should().Be(Migration.Embedded.Count);
    }
}
