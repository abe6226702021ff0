using System.Collections;
using Npgsql;

namespace Reweighting.Storage;

/// <summary>Which PostgreSQL the program talks to, and why: a configured server always wins over the embedded one.</summary>
/// <param name="ConnectionString">The configured connection string, or null for the embedded cluster.</param>
/// <param name="Origin">Where it came from: --db, REWEIGHT_DB, PG* environment variables, or embedded.</param>
public sealed record DatabaseTarget(string? ConnectionString, string Origin)
{
    /// <summary>Environment variable holding a connection string.</summary>
    public const string ConnectionVariable = "REWEIGHT_DB";

    /// <summary>True when no server is configured and the program runs its own.</summary>
    public bool IsEmbedded => ConnectionString is null;

    // libpq's variables with their Npgsql equivalents; any one of the first four means "a server is configured".
    private static readonly (string Variable, string Keyword)[] PgVariables =
    [
        ("PGHOST", "Host"), ("PGPORT", "Port"), ("PGDATABASE", "Database"), ("PGUSER", "Username"),
        ("PGPASSWORD", "Password"), ("PGPASSFILE", "Passfile"), ("PGSSLMODE", "SSL Mode"),
        ("PGAPPNAME", "Application Name"), ("PGCONNECT_TIMEOUT", "Timeout"),
    ];

    /// <summary>Resolves the target: <paramref name="commandLine"/> (--db), then REWEIGHT_DB, then PG* variables, else embedded.</summary>
    public static DatabaseTarget Resolve(string? commandLine, IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => environment[name] is string v && !string.IsNullOrWhiteSpace(v) ? v : null;

        if (!string.IsNullOrWhiteSpace(commandLine)) return new DatabaseTarget(Validate(commandLine, "--db"), "--db");
        if (Get(ConnectionVariable) is { } fromEnv) return new DatabaseTarget(Validate(fromEnv, ConnectionVariable), ConnectionVariable);
        if (PgVariables.Take(4).Any(p => Get(p.Variable) is not null))
        {
            var builder = new NpgsqlConnectionStringBuilder();
            foreach (var (variable, keyword) in PgVariables)
                if (Get(variable) is { } value) builder[keyword] = value;
            builder.Host ??= "localhost";
            return new DatabaseTarget(builder.ConnectionString, "PG* environment variables");
        }
        return new DatabaseTarget(null, "embedded");
    }

    /// <summary>The target without its password, for messages.</summary>
    public string Describe()
    {
        if (ConnectionString is null) return "embedded cluster";
        var builder = new NpgsqlConnectionStringBuilder(ConnectionString) { Password = null };
        return $"{builder.Host}:{builder.Port}/{builder.Database ?? builder.Username} as {builder.Username ?? "(default user)"} (from {Origin})";
    }

    private static string Validate(string connectionString, string origin)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString).ConnectionString;
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"The connection string from {origin} is not valid: {ex.Message}", ex);
        }
    }
}
