using System.Diagnostics;
using Npgsql;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Migrations;
using Xunit;

namespace Reweighting.Testing.Postgres;

/// <summary>A throwaway PostgreSQL cluster for the whole test run: a real server from the machine's binaries, in a
/// temporary directory, reachable only by its Unix socket; each test gets databases of its own.</summary>
public sealed class PostgresCluster : IAsyncLifetime
{
    private const string DirectoryPrefix = "reweight-pgtest-";
    private const string Template = "reweight_template";
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private string _root = "";
    private int _databases;

    public EmbeddedPostgres Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await RemoveOrphansAsync();
        _root = Path.Combine(Path.GetTempPath(), DirectoryPrefix + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_root);
        // Lets a later run tell that this one died and clean up after it.
        await File.WriteAllTextAsync(Path.Combine(_root, "owner.pid"), Environment.ProcessId.ToString());
        Server = new EmbeddedPostgres(new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(_root, "data"),
            Database = Template,
            Durable = false,
        });
        await Server.StartAsync();
        await using (var template = NpgsqlDataSource.Create(Server.ConnectionStringFor(Template)))
            await new MigrationRunner(template).MigrateAsync();
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>A fresh database: migrated (copied from a migrated template, fast) or empty.</summary>
    public async Task<NpgsqlDataSource> CreateDatabaseAsync(bool migrated = true)
    {
        var name = $"test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..6]}";
        await using (var admin = new NpgsqlConnection(Server.ConnectionStringFor("postgres")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand(
                migrated ? $"CREATE DATABASE {name} TEMPLATE {Template}" : $"CREATE DATABASE {name}", admin);
            await create.ExecuteNonQueryAsync();
        }
        // Idle pooled connections close within seconds: the server allows 50, and a test that does not dispose its data
        // source would otherwise hold its idle connections for Npgsql's default five minutes, until later tests find none.
        var dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(Server.ConnectionStringFor(name))
        {
            ConnectionIdleLifetime = 2, ConnectionPruningInterval = 1,
        }.ConnectionString);
        lock (_dataSources) _dataSources.Add(dataSource);
        return dataSource;
    }

    /// <summary>Connection string for a login role of this cluster (trust authentication over the private socket).</summary>
    public string ConnectionStringAs(NpgsqlDataSource database, string user) =>
        new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = user }.ConnectionString;

    public async Task DisposeAsync()
    {
        foreach (var ds in _dataSources) await ds.DisposeAsync();
        await Server.StopAsync();
        TryDelete(_root);
    }

    private static async Task RemoveOrphansAsync()
    {
        foreach (var dir in Directory.GetDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var ownerFile = Path.Combine(dir, "owner.pid");
            if (File.Exists(ownerFile) && int.TryParse(await File.ReadAllTextAsync(ownerFile), out var pid) && IsAlive(pid)) continue;
            try
            {
                await EmbeddedPostgres.StopOrphanAsync(Path.Combine(dir, "data"));
            }
            catch (Exception)
            {
                // Best effort: a half-initialised directory has nothing to stop.
            }
            TryDelete(dir);
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
