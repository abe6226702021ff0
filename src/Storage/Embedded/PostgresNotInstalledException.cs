namespace Reweighting.Storage.Embedded;

/// <summary>The PostgreSQL server binaries needed for the embedded cluster are not on this machine.</summary>
public sealed class PostgresNotInstalledException(string message) : Exception(message);

/// <summary>The embedded cluster could not be initialised, started or stopped.</summary>
public sealed class EmbeddedPostgresException(string message, Exception? inner = null) : Exception(message, inner);
