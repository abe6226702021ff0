using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Reweighting.Storage.Migrations;

/// <summary>Applies the embedded migrations in order, each in its own transaction, under a session advisory lock so
/// that several processes starting together migrate once. Safe to run any number of times.</summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource, ILogger<MigrationRunner>? logger = null)
{
    // Arbitrary constant shared by every process of this product: "rewt" in ASCII.
    private const long AdvisoryLockKey = 0x72657774;

    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>The migrations this runner applies; the embedded set unless a test supplies its own.</summary>
    public IReadOnlyList<Migration> Migrations { get; init; } = Migration.Embedded;

    /// <summary>Applies every pending migration; returns the ones it applied (empty when up to date).</summary>
    public async Task<IReadOnlyList<Migration>> MigrateAsync(CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await ExecuteAsync(conn, "SELECT pg_advisory_lock($1)", ct, AdvisoryLockKey);
        try
        {
            await EnsureHistoryTableAsync(conn, ct);
            var applied = await ReadAppliedAsync(conn, ct);
            VerifyChecksums(applied);
            var done = new List<Migration>();
            foreach (var migration in Migrations.Where(m => !applied.ContainsKey(m.Version)))
            {
                var watch = Stopwatch.StartNew();
                await using (var tx = await conn.BeginTransactionAsync(ct))
                {
                    await using (var script = new NpgsqlCommand(migration.Sql, conn, tx))
                        await script.ExecuteNonQueryAsync(ct);
                    await using var record = new NpgsqlCommand(
                        "INSERT INTO schema_migrations (version, name, checksum, execution_ms) VALUES ($1, $2, $3, $4)", conn, tx)
                    {
                        Parameters = { new() { Value = migration.Version }, new() { Value = migration.Name },
                                       new() { Value = migration.Checksum }, new() { Value = (int)watch.ElapsedMilliseconds } },
                    };
                    await record.ExecuteNonQueryAsync(ct);
                    await tx.CommitAsync(ct);
                }
                _logger.LogInformation("Applied migration V{Version:000} {Name} in {Milliseconds} ms",
                    migration.Version, migration.Name, watch.ElapsedMilliseconds);
                done.Add(migration);
            }
            // New types (the label enum) must be visible to connections opened from now on.
            if (done.Count > 0) await conn.ReloadTypesAsync(ct);
            return done;
        }
        finally
        {
            await ExecuteAsync(conn, "SELECT pg_advisory_unlock($1)", CancellationToken.None, AdvisoryLockKey);
        }
    }

    /// <summary>Each embedded migration with whether and when it was applied to this database.</summary>
    public async Task<IReadOnlyList<MigrationStatus>> StatusAsync(CancellationToken ct = default)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT to_regclass('schema_migrations') IS NOT NULL", conn);
        var applied = (bool)(await exists.ExecuteScalarAsync(ct))!
            ? await ReadAppliedAsync(conn, ct)
            : new Dictionary<int, AppliedMigration>();
        var known = Migrations.Select(m => applied.TryGetValue(m.Version, out var a)
            ? new MigrationStatus(m.Version, m.Name, a.AppliedAt, a.Checksum != m.Checksum)
            : new MigrationStatus(m.Version, m.Name, null, false));
        // Versions in the database this build does not know: a newer build migrated it.
        var unknown = applied.Values.Where(a => Migrations.All(m => m.Version != a.Version))
            .Select(a => new MigrationStatus(a.Version, a.Name, a.AppliedAt, false));
        return known.Concat(unknown).OrderBy(s => s.Version).ToList();
    }

    private void VerifyChecksums(IReadOnlyDictionary<int, AppliedMigration> applied)
    {
        foreach (var m in Migrations)
        {
            if (applied.TryGetValue(m.Version, out var a) && a.Checksum != m.Checksum)
                throw new InvalidOperationException(
                    $"Migration V{m.Version:000} {m.Name} was changed after it was applied to this database " +
                    $"(checksum {a.Checksum[..12]}… there, {m.Checksum[..12]}… here). Add a new migration instead of editing an applied one.");
        }
    }

    private static async Task EnsureHistoryTableAsync(NpgsqlConnection conn, CancellationToken ct) =>
        await ExecuteAsync(conn, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version      integer     PRIMARY KEY,
                name         text        NOT NULL,
                checksum     text        NOT NULL,
                execution_ms integer     NOT NULL,
                applied_at   timestamptz NOT NULL DEFAULT now()
            )
            """, ct);

    private static async Task<Dictionary<int, AppliedMigration>> ReadAppliedAsync(NpgsqlConnection conn, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand("SELECT version, name, checksum, applied_at FROM schema_migrations", conn);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var applied = new Dictionary<int, AppliedMigration>();
        while (await reader.ReadAsync(ct))
            applied[reader.GetInt32(0)] = new AppliedMigration(reader.GetInt32(0), reader.GetString(1), reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3));
        return applied;
    }

    private static async Task ExecuteAsync(NpgsqlConnection conn, string sql, CancellationToken ct, params object[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    private sealed record AppliedMigration(int Version, string Name, string Checksum, DateTimeOffset AppliedAt);
}

/// <summary>One migration's state in a database: applied when, and whether its script changed since.</summary>
public sealed record MigrationStatus(int Version, string Name, DateTimeOffset? AppliedAt, bool ChecksumMismatch)
{
    public bool IsApplied => AppliedAt is not null;
}
