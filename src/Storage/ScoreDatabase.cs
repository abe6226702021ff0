using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Reweighting.Storage.Embedded;
using Reweighting.Storage.Migrations;

namespace Reweighting.Storage;

/// <summary>Options for opening the score database.</summary>
public sealed record ScoreDatabaseOptions
{
    /// <summary>Connection string from the command line (--db); wins over everything else.</summary>
    public string? CommandLineConnection { get; init; }

    /// <summary>Apply pending migrations on open (the default: the schema follows the program).</summary>
    public bool Migrate { get; init; } = true;

    /// <summary>Settings of the embedded cluster, used only when no server is configured.</summary>
    public EmbeddedPostgresOptions Embedded { get; init; } = new()
    {
        DataDirectory = Environment.GetEnvironmentVariable("REWEIGHT_PG_DATA") is { Length: > 0 } dir ? dir : EmbeddedPostgresOptions.DefaultDataDirectory,
    };
}

/// <summary>An open score database: a configured server, or the embedded cluster started for this process and
/// stopped when this is disposed.</summary>
public sealed class ScoreDatabase : IAsyncDisposable
{
    private readonly EmbeddedPostgres? _embedded;

    /// <summary>Pooled connections to the database.</summary>
    public NpgsqlDataSource DataSource { get; }

    /// <summary>Which server this is and why it was chosen.</summary>
    public DatabaseTarget Target { get; }

    /// <summary>Human-readable location (no password).</summary>
    public string Description => _embedded is null ? Target.Describe() : $"embedded cluster in {_embedded.DataDirectory}";

    private ScoreDatabase(NpgsqlDataSource dataSource, DatabaseTarget target, EmbeddedPostgres? embedded)
    {
        DataSource = dataSource;
        Target = target;
        _embedded = embedded;
    }

    /// <summary>Resolves the target, starts the embedded cluster if needed, and migrates unless told not to.</summary>
    public static async Task<ScoreDatabase> OpenAsync(ScoreDatabaseOptions options, ILoggerFactory? loggers = null, CancellationToken ct = default)
    {
        loggers ??= NullLoggerFactory.Instance;
        var target = DatabaseTarget.Resolve(options.CommandLineConnection);
        EmbeddedPostgres? embedded = null;
        string connectionString;
        if (target.IsEmbedded)
        {
            embedded = new EmbeddedPostgres(options.Embedded, loggers.CreateLogger<EmbeddedPostgres>());
            try
            {
                await embedded.StartAsync(ct);
            }
            catch
            {
                await embedded.DisposeAsync();
                throw;
            }
            connectionString = embedded.ConnectionString;
        }
        else
        {
            connectionString = target.ConnectionString!;
        }

        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.UseLoggerFactory(loggers);
        var db = new ScoreDatabase(builder.Build(), target, embedded);
        try
        {
            if (options.Migrate)
                await new MigrationRunner(db.DataSource, loggers.CreateLogger<MigrationRunner>()).MigrateAsync(ct);
            return db;
        }
        catch
        {
            await db.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (_embedded is not null) await _embedded.DisposeAsync();
    }
}
