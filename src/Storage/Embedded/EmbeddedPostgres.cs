using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Reweighting.Storage.Embedded;

/// <summary>A private PostgreSQL cluster under a local directory, run with the machine's own server binaries and
/// reachable only through a Unix socket. Disposing stops the server if this instance started it.</summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string ConfigFile = "reweight.conf";
    private const string SuperUser = "postgres";
    // Unix socket paths are limited to 107 bytes, including the ".s.PGSQL.<port>" file name.
    private const int MaxSocketDirectoryLength = 90;

    private readonly EmbeddedPostgresOptions _options;
    private readonly ILogger _logger;
    private PostgresTool? _tool;
    private PostgresBinaries? _binaries;
    private bool _ownsServer;

    /// <summary>Absolute data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>Directory holding the server's Unix socket.</summary>
    public string SocketDirectory { get; }

    /// <summary>Port number naming the socket file (no TCP listener is opened).</summary>
    public int Port => _options.Port;

    /// <summary>Directory of the server binaries in use (psql usually sits beside them); known after start.</summary>
    public string? BinDirectory => _binaries?.BinDirectory;

    /// <summary>True while the server this instance started (or attached to) is running.</summary>
    public bool IsRunning { get; private set; }

    public EmbeddedPostgres(EmbeddedPostgresOptions options, ILogger<EmbeddedPostgres>? logger = null)
    {
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        DataDirectory = Path.GetFullPath(options.DataDirectory);
        SocketDirectory = ChooseSocketDirectory(DataDirectory);
    }

    /// <summary>Connection string for the program's database as the cluster's superuser.</summary>
    public string ConnectionString => ConnectionStringFor(_options.Database);

    /// <summary>Connection string for any database of this cluster as the superuser.</summary>
    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDirectory,
        Port = _options.Port,
        Username = SuperUser,
        Database = database,
        ApplicationName = "reweight",
    }.ConnectionString;

    /// <summary>Initialises the cluster when the directory is new, starts it (or attaches to one already running
    /// there) and creates the program's database.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        _binaries = PostgresBinaries.Locate(_options.BinDirectory);
        _tool = await PostgresTool.ForCurrentUserAsync(ct);

        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(SocketDirectory);
        if (!OperatingSystem.IsWindows())
        {
            // The server insists on a private data directory; the socket directory is private too, so trust
            // authentication admits only this user (and root).
            File.SetUnixFileMode(DataDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.SetUnixFileMode(SocketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        await _tool.HandOverAsync(DataDirectory, ct);
        await _tool.HandOverAsync(SocketDirectory, ct);
        if (!await _tool.CanWriteAsync(DataDirectory, ct))
            throw new EmbeddedPostgresException(
                $"The embedded server runs as the '{_tool.RunAs}' user (PostgreSQL refuses root), which cannot reach " +
                $"'{DataDirectory}' — a parent directory is closed to it. Use a data directory it can reach, or " +
                "point the program at a server of your own with --db or REWEIGHT_DB.");

        if (!File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
            await InitialiseAsync(ct);
        await WriteConfigAsync(ct);

        var status = await _tool.RunAsync(_binaries.PgCtl, ["status", "-D", DataDirectory], ct);
        if (status.ExitCode == 0)
        {
            // Another process of ours started it; use it and leave it running for that process.
            _logger.LogInformation("Attached to the embedded PostgreSQL already running in {DataDirectory}", DataDirectory);
            _ownsServer = false;
        }
        else
        {
            _logger.LogInformation("Starting embedded PostgreSQL in {DataDirectory} (socket {SocketDirectory})", DataDirectory, SocketDirectory);
            await _tool.RunCheckedAsync(_binaries.PgCtl,
                ["start", "-D", DataDirectory, "-l", Path.Combine(DataDirectory, "server.log"), "-w",
                 "-t", _options.TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);
            _ownsServer = true;
        }
        IsRunning = true;
        await EnsureDatabaseAsync(_options.Database, ct);
    }

    /// <summary>Stops the server if this instance started it.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (!IsRunning || !_ownsServer || _tool is null || _binaries is null) { IsRunning = false; return; }
        // Pooled connections would keep "fast" shutdown waiting for nothing; drop them first.
        NpgsqlConnection.ClearAllPools();
        await _tool.RunCheckedAsync(_binaries.PgCtl,
            ["stop", "-D", DataDirectory, "-m", "fast", "-w",
             "-t", _options.TimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)], ct);
        IsRunning = false;
        _logger.LogInformation("Stopped embedded PostgreSQL in {DataDirectory}", DataDirectory);
    }

    /// <summary>Creates a database in this cluster when it does not exist yet.</summary>
    public async Task EnsureDatabaseAsync(string database, CancellationToken ct = default)
    {
        await using var conn = new NpgsqlConnection(ConnectionStringFor("postgres"));
        await conn.OpenAsync(ct);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", conn)
        {
            Parameters = { new() { Value = database } },
        };
        if (await exists.ExecuteScalarAsync(ct) is not null) return;
        await using var create = new NpgsqlCommand($"CREATE DATABASE {QuoteIdentifier(database)}", conn);
        await create.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Could not stop embedded PostgreSQL in {DataDirectory}", DataDirectory);
        }
    }

    /// <summary>Stops a cluster left running by a process that died (used to clean up after crashed test runs).</summary>
    public static async Task StopOrphanAsync(string dataDirectory, CancellationToken ct = default)
    {
        if (!File.Exists(Path.Combine(dataDirectory, "postmaster.pid"))) return;
        var binaries = PostgresBinaries.Locate();
        var tool = await PostgresTool.ForCurrentUserAsync(ct);
        var status = await tool.RunAsync(binaries.PgCtl, ["status", "-D", dataDirectory], ct);
        if (status.ExitCode == 0)
            await tool.RunAsync(binaries.PgCtl, ["stop", "-D", dataDirectory, "-m", "immediate", "-w"], ct);
    }

    internal static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    private async Task InitialiseAsync(CancellationToken ct)
    {
        if (Directory.EnumerateFileSystemEntries(DataDirectory).Any(e => Path.GetFullPath(e) != SocketDirectory))
            throw new EmbeddedPostgresException(
                $"'{DataDirectory}' is not empty but holds no PostgreSQL cluster (no PG_VERSION); move its contents away or choose another directory.");
        _logger.LogInformation("Initialising a new PostgreSQL cluster in {DataDirectory}", DataDirectory);
        List<string> args = ["-D", DataDirectory, "-U", SuperUser, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions"];
        if (!_options.Durable) args.Add("--no-sync");
        await _tool!.RunCheckedAsync(_binaries!.InitDb, args, ct);
        // Our settings live in their own file, rewritten on every start; postgresql.conf only includes it.
        var mainConfig = Path.Combine(DataDirectory, "postgresql.conf");
        await File.AppendAllTextAsync(mainConfig, $"\ninclude_if_exists = '{ConfigFile}'\n", ct);
    }

    private async Task WriteConfigAsync(CancellationToken ct)
    {
        var config = new StringBuilder()
            .AppendLine("# Written by reweight on every start of the embedded cluster; edits are overwritten.")
            .AppendLine("listen_addresses = ''")
            .AppendLine($"port = {_options.Port}")
            .AppendLine($"unix_socket_directories = '{SocketDirectory.Replace("'", "''")}'")
            .AppendLine("unix_socket_permissions = 0700")
            .AppendLine("max_connections = 50")
            .AppendLine("shared_buffers = '256MB'")
            .AppendLine("max_wal_size = '2GB'");
        if (!_options.Durable)
            config.AppendLine("fsync = off").AppendLine("synchronous_commit = off").AppendLine("full_page_writes = off");
        var path = Path.Combine(DataDirectory, ConfigFile);
        await File.WriteAllTextAsync(path, config.ToString(), ct);
        await _tool!.HandOverAsync(path, ct);
    }

    private static string ChooseSocketDirectory(string dataDirectory)
    {
        // The data directory itself is private to the server and usually short enough to hold the socket.
        if (dataDirectory.Length <= MaxSocketDirectoryLength) return dataDirectory;
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(dataDirectory)))[..12].ToLowerInvariant();
        return Path.Combine(Path.GetTempPath(), $"reweight-pg-{hash}");
    }
}
