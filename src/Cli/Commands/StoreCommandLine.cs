using System.CommandLine;
using Microsoft.Extensions.Logging;
using Npgsql;
using Reweighting.Storage;
using Reweighting.Storage.Embedded;

namespace Reweighting.Cli.Commands;

/// <summary>Options and plumbing shared by the commands that talk to the score database.</summary>
internal static class StoreCommandLine
{
    public static Option<string?> DbOption() => new("--db")
    {
        Description = "PostgreSQL connection string (wins over REWEIGHT_DB and PG* variables; without any, an embedded cluster under .data/pg is used)",
    };

    public static Option<string> FormatOption(params string[] formats)
    {
        var option = new Option<string>("--format")
        {
            Description = "Output format: " + string.Join(", ", formats),
            DefaultValueFactory = _ => formats[0],
        };
        option.AcceptOnlyFromAmong(formats);
        return option;
    }

    public static Option<bool> VerboseOption() => new("--verbose") { Description = "Log progress and database activity to stderr" };

    /// <summary>Opens the database, runs <paramref name="work"/>, and turns the expected failures into a message and exit code 1.</summary>
    public static async Task<int> RunAsync(ParseResult parse, Option<string?> db, Option<bool> verbose, bool migrate,
        Func<ScoreDatabase, ILoggerFactory, CancellationToken, Task<int>> work, CancellationToken ct)
    {
        using var loggers = LoggerFactory.Create(b => b
            .AddSimpleConsole(o => o.SingleLine = true)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
            .SetMinimumLevel(parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning)
            .AddFilter("Npgsql", LogLevel.Warning));
        try
        {
            await using var database = await ScoreDatabase.OpenAsync(
                new ScoreDatabaseOptions { CommandLineConnection = parse.GetValue(db), Migrate = migrate }, loggers, ct);
            return await work(database, loggers, ct);
        }
        catch (Exception ex) when (ex is PostgresNotInstalledException or EmbeddedPostgresException or NpgsqlException
                                       or ArgumentException or InvalidOperationException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return 130;
        }
    }
}
