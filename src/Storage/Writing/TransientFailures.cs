using Npgsql;

namespace Reweighting.Storage.Writing;

/// <summary>Decides which database failures are worth retrying: ones where the same transaction can succeed later.</summary>
public static class TransientFailures
{
    // SQLSTATEs that mean "try again": serialisation and deadlock aborts, lock timeouts, the server shutting down or
    // starting up, resource exhaustion, and lost connections.
    private static readonly HashSet<string> RetryableStates =
    [
        PostgresErrorCodes.SerializationFailure,      // 40001
        PostgresErrorCodes.DeadlockDetected,          // 40P01
        PostgresErrorCodes.LockNotAvailable,          // 55P03
        PostgresErrorCodes.AdminShutdown,             // 57P01
        PostgresErrorCodes.CrashShutdown,             // 57P02
        PostgresErrorCodes.CannotConnectNow,          // 57P03
        PostgresErrorCodes.TooManyConnections,        // 53300
        PostgresErrorCodes.InsufficientResources,     // 53000
        PostgresErrorCodes.OutOfMemory,               // 53200
        PostgresErrorCodes.ConnectionException,       // 08000
        PostgresErrorCodes.ConnectionDoesNotExist,    // 08003
        PostgresErrorCodes.ConnectionFailure,         // 08006
        PostgresErrorCodes.SqlClientUnableToEstablishSqlConnection, // 08001
    ];

    /// <summary>True for failures a retry of the whole transaction may cure.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        PostgresException pg => RetryableStates.Contains(pg.SqlState),
        // Not a server error: the connection broke or timed out on the way (Npgsql marks those transient).
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or System.Net.Sockets.SocketException,
        IOException or System.Net.Sockets.SocketException or TimeoutException => true,
        _ => false,
    };
}
