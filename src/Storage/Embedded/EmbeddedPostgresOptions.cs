namespace Reweighting.Storage.Embedded;

/// <summary>Settings of a private PostgreSQL cluster the program starts itself.</summary>
public sealed record EmbeddedPostgresOptions
{
    /// <summary>Default data directory, relative to the working directory.</summary>
    public const string DefaultDataDirectory = ".data/pg";

    /// <summary>The cluster's data directory; created and initialised on first start.</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory;

    /// <summary>Directory of initdb and pg_ctl, or null to search the usual places.</summary>
    public string? BinDirectory { get; init; }

    /// <summary>Names the Unix socket file; the server opens no TCP port, so this never collides with other servers.</summary>
    public int Port { get; init; } = 5432;

    /// <summary>Database the program uses; created when missing.</summary>
    public string Database { get; init; } = "reweight";

    /// <summary>False turns fsync and synchronous commit off: only for throwaway clusters such as tests.</summary>
    public bool Durable { get; init; } = true;

    /// <summary>Seconds pg_ctl waits for the server to start or stop.</summary>
    public int TimeoutSeconds { get; init; } = 60;
}
