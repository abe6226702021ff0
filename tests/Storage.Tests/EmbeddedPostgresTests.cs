using FluentAssertions;
using Npgsql;
using Reweighting.Storage.Embedded;
using Xunit;

namespace Reweighting.Storage.Tests;

public sealed class EmbeddedPostgresTests
{
    [Fact]
    public void Missing_server_binaries_give_the_install_command()
    {
        var act = () => PostgresBinaries.Locate(["/nonexistent/bin"], "/nonexistent/bin");

        act.Should().Throw<PostgresNotInstalledException>().WithMessage("*apt-get install -y postgresql*");
    }

    /// <summary>Root runs the server through runuser; a PATH without sbin (a chroot's, a service's) must still find it.</summary>
    [Fact]
    public void Runuser_is_found_on_path_first_then_in_the_system_directories()
    {
        var system = PostgresTool.FindRunUser("/nonexistent/bin");
        system.Should().NotBeNull("util-linux's runuser is installed with the server").And.EndWith("/runuser");
        system!.Should().StartWith("/");
        var dir = Directory.CreateTempSubdirectory("runuser-test-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "runuser"), "#!/bin/sh\n");
            PostgresTool.FindRunUser($"/nonexistent/bin:{dir}").Should().Be(Path.Combine(dir, "runuser"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void A_command_line_connection_wins_over_every_variable()
    {
        var env = new Dictionary<string, string> { ["REWEIGHT_DB"] = "Host=from-env", ["PGHOST"] = "from-pg" };

        var target = DatabaseTarget.Resolve("Host=from-cli;Database=x", env);

        target.Origin.Should().Be("--db");
        new NpgsqlConnectionStringBuilder(target.ConnectionString).Host.Should().Be("from-cli");
    }

    [Fact]
    public void REWEIGHT_DB_wins_over_PG_variables_and_PG_variables_over_embedded()
    {
        DatabaseTarget.Resolve(null, new Dictionary<string, string> { ["REWEIGHT_DB"] = "Host=from-env", ["PGHOST"] = "from-pg" })
            .Origin.Should().Be("REWEIGHT_DB");
        var pg = DatabaseTarget.Resolve(null, new Dictionary<string, string> { ["PGHOST"] = "db.internal", ["PGPORT"] = "6543", ["PGUSER"] = "svc" });
        pg.IsEmbedded.Should().BeFalse();
        new NpgsqlConnectionStringBuilder(pg.ConnectionString).Should().Match<NpgsqlConnectionStringBuilder>(b => b.Host == "db.internal" && b.Port == 6543 && b.Username == "svc");
        DatabaseTarget.Resolve(null, new Dictionary<string, string>()).IsEmbedded.Should().BeTrue();
    }

    [Fact]
    public void A_malformed_connection_string_is_reported_with_its_origin()
    {
        var act = () => DatabaseTarget.Resolve("Hots=oops");

        act.Should().Throw<ArgumentException>().WithMessage("*--db*");
    }

    [Fact]
    public async Task A_cluster_keeps_its_data_across_a_stop_and_start_and_stops_on_dispose()
    {
        var root = Path.Combine(Path.GetTempPath(), "reweight-pgtest-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        await File.WriteAllTextAsync(Path.Combine(root, "owner.pid"), Environment.ProcessId.ToString());
        var options = new EmbeddedPostgresOptions { DataDirectory = Path.Combine(root, "data"), Durable = false };
        try
        {
            await using (var first = new EmbeddedPostgres(options))
            {
                await first.StartAsync();
                await using var conn = new NpgsqlConnection(first.ConnectionString);
                await conn.OpenAsync();
                await new NpgsqlCommand("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)", conn).ExecuteNonQueryAsync();
            }
            File.Exists(Path.Combine(root, "data", "postmaster.pid")).Should().BeFalse("disposing stops the server it started");

            await using var second = new EmbeddedPostgres(options);
            await second.StartAsync();
            await using var again = new NpgsqlConnection(second.ConnectionString);
            await again.OpenAsync();
            (await new NpgsqlCommand("SELECT v FROM kept", again).ExecuteScalarAsync()).Should().Be(42);
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await EmbeddedPostgres.StopOrphanAsync(Path.Combine(root, "data"));
            Directory.Delete(root, recursive: true);
        }
    }
}
