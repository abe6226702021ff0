using System.CommandLine;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reweighting.Storage;
using Reweighting.Storage.Migrations;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight db migrate|status`: the score database's schema.</summary>
internal static class DbCommands
{
    public static Command Create()
    {
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var format = StoreCommandLine.FormatOption("table", "json");

        var migrate = new Command("migrate", "Apply pending schema migrations (safe to repeat; programs also do this at start-up)") { db, format, verbose };
        migrate.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: false, async (database, loggers, token) =>
        {
            var runner = new MigrationRunner(database.DataSource, loggers.CreateLogger<MigrationRunner>());
            var applied = await runner.MigrateAsync(token);
            if (parse.GetValue(format) == "json")
            {
                ResultFormatter.Write("json", ["version", "name"], applied.Select(m => new object?[] { m.Version, m.Name }));
            }
            else
            {
                Console.WriteLine($"database: {database.Description}");
                Console.WriteLine(applied.Count == 0 ? "schema is up to date" : $"applied {applied.Count} migration(s):");
                foreach (var m in applied) Console.WriteLine($"  V{m.Version:000} {m.Name}");
            }
            return 0;
        }, ct));

        var status = new Command("status", "Show where the database is, its server version, migrations and row counts") { db, format, verbose };
        status.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: false, async (database, loggers, token) =>
        {
            var migrations = await new MigrationRunner(database.DataSource).StatusAsync(token);
            var server = await ScalarAsync<string>(database.DataSource, "SHOW server_version", token);
            var counts = new Dictionary<string, long>();
            if (migrations.Any(m => m.IsApplied))
                foreach (var table in new[] { "documents", "sample_scores", "gmm_models", "consumer_offsets", "scored_batch_outbox" })
                    counts[table] = await ScalarAsync<long>(database.DataSource, $"SELECT count(*) FROM {table}", token);
            var pending = migrations.Count(m => !m.IsApplied);

            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    database = database.Description,
                    origin = database.Target.Origin,
                    server_version = server,
                    pending,
                    migrations = migrations.Select(m => new { version = m.Version, name = m.Name, applied_at = m.AppliedAt, checksum_mismatch = m.ChecksumMismatch }),
                    rows = counts,
                }));
            }
            else
            {
                Console.WriteLine($"database:  {database.Description}");
                Console.WriteLine($"server:    PostgreSQL {server}");
                Console.WriteLine($"schema:    {(pending == 0 ? "up to date" : $"{pending} migration(s) pending — run `reweight db migrate`")}");
                foreach (var m in migrations)
                    Console.WriteLine($"  V{m.Version:000} {m.Name,-12} {(m.AppliedAt is { } at ? $"applied {at:yyyy-MM-dd HH:mm:ss}" : "pending")}{(m.ChecksumMismatch ? "  (CHANGED since applied)" : "")}");
                foreach (var (table, n) in counts) Console.WriteLine($"  {table,-20} {n,12:N0} rows");
            }
            return migrations.Any(m => m.ChecksumMismatch) ? 1 : 0;
        }, ct));

        return new Command("db", "The PostgreSQL score database: schema migrations and status") { migrate, status };
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        return (T)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
