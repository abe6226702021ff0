using System.Text.RegularExpressions;
using FluentAssertions;
using Npgsql;
using Reweighting.Storage.Embedded;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight demo` end to end on a small generated corpus, as a separate process with its own private
/// PostgreSQL; the rows it leaves are then checked in that cluster.</summary>
public sealed class DemoCommandTests
{
    [Fact]
    public async Task The_demo_streams_scores_labels_and_trains_both_runs_and_leaves_every_row_in_its_postgres()
    {
        using var dir = new CliRunner.TempDirectory();
        var pgData = Path.Combine(dir.Path, "pg");
        var run = CliRunner.RunWithin(TimeSpan.FromMinutes(6), "demo", "--documents", "300", "--proxy-steps", "40", "--steps", "12",
            "--out", Path.Combine(dir.Path, "out"), "--pg-data", pgData);
        run.ExitCode.Should().Be(0, run.Stderr);

        var streamed = long.Parse(Regex.Match(run.Stderr, @"(\d+) documents to stream").Groups[1].Value);
        streamed.Should().BeGreaterThan(200);
        foreach (var section in new[] { "Label mix per domain", "'noisy' vs the injected noise", "Noisiest documents", "Validation loss on clean held-out documents",
                                        "meta-em vs uniform after 12 steps", "filter vs uniform after 12 steps", "SQL to run next",
                                        "query summary", "report.html" })
            run.Stdout.Should().Contain(section);
        run.Stdout.Should().Contain($"Documents scored and stored in PostgreSQL: {streamed} (2 malformed records dead-lettered)");
        // The progress of every stage is shown.
        run.Stderr.Should().Contain("training the proxy").And.Contain("scoring: the scorer service").And.Contain("GMM version 1")
            .And.Contain("training run demo-").And.Contain("(completed)");

        var report = await File.ReadAllTextAsync(Path.Combine(dir.Path, "out", "report.html"));
        Regex.Matches(report, "<circle class=\"point label-").Count.Should().Be((int)streamed, "the report plots every scored document of so small a run");
        report.Should().Contain("gmm-ellipse").And.Contain("data-run=\"demo-");

        await using var server = new EmbeddedPostgres(new EmbeddedPostgresOptions { DataDirectory = pgData, Durable = false });
        await server.StartAsync();
        await using var db = NpgsqlDataSource.Create(server.ConnectionStringFor(new EmbeddedPostgresOptions().Database));
        (await Count(db, "SELECT count(*) FROM sample_scores")).Should().Be(streamed, "every streamed document is stored exactly once");
        (await Count(db, "SELECT count(DISTINCT document_id) FROM sample_scores")).Should().Be(streamed);
        (await Count(db, "SELECT count(*) FROM documents")).Should().Be(streamed);
        (await Count(db, "SELECT count(*) FROM sample_scores WHERE gmm_version IS NULL")).Should().Be(0, "the warm-up's provisional rows are relabelled");
        (await Count(db, "SELECT count(*) FROM gmm_models")).Should().BeGreaterThanOrEqualTo(1);
        (await Count(db, "SELECT count(*) FROM scored_batch_outbox WHERE published_at IS NULL")).Should().Be(0, "the relay published every batch");
        (await Count(db, "SELECT count(*) FROM training_runs WHERE status = 'finished'")).Should().Be(3, "uniform, meta-em and the filter");
        (await Count(db, "SELECT count(DISTINCT run_id) FROM training_metrics WHERE name = 'valid_loss' AND step = 12")).Should().Be(3);
        (await Count(db, "SELECT count(*) FROM training_runs r JOIN cluster_parameters p USING (run_id) WHERE r.strategy = 'meta-em' AND p.source = 'meta'"))
            .Should().BeGreaterThan(0, "meta-em's phi history is recorded");
        (await Count(db, "SELECT count(*) FROM label_summary WHERE domain = '(all)' AND label = 'noisy'")).Should().Be(1);

        // `reweight export` of what the demo stored: every document once, and the noisy ones alone with --label.
        var connection = server.ConnectionStringFor(new EmbeddedPostgresOptions().Database);
        var all = CliRunner.Run("export", "--db", connection, "--out", Path.Combine(dir.Path, "all"), "--format", "jsonl", "--json");
        all.ExitCode.Should().Be(0, all.Stderr);
        var exported = Directory.GetFiles(Path.Combine(dir.Path, "all"), "*", SearchOption.AllDirectories)
            .SelectMany(File.ReadAllLines).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToList();
        exported.Should().HaveCount((int)streamed);
        exported.Select(r => r.GetProperty("id").GetString()).Should().OnlyHaveUniqueItems();
        var noisy = await Count(db, "SELECT count(*) FROM labelled_documents WHERE label = 'noisy'");
        var parquet = CliRunner.Run("export", "--db", connection, "--out", Path.Combine(dir.Path, "noisy"), "--label", "noisy", "--json");
        parquet.ExitCode.Should().Be(0, parquet.Stderr);
        System.Text.Json.JsonDocument.Parse(parquet.Stdout).RootElement.GetProperty("documents").GetInt64().Should().Be(noisy);
        Directory.GetFiles(Path.Combine(dir.Path, "noisy"), "*.parquet", SearchOption.AllDirectories).Should().NotBeEmpty();
    }

    [Fact]
    public void Bad_settings_exit_non_zero_with_the_setting_named_before_any_work()
    {
        using var dir = new CliRunner.TempDirectory();
        var tooFew = CliRunner.Run("demo", "--documents", "10", "--out", dir.Path, "--pg-data", Path.Combine(dir.Path, "pg"));
        tooFew.ExitCode.Should().Be(1);
        tooFew.Stderr.Should().Contain("--documents must be at least 50");
        var noCorpus = CliRunner.Run("demo", "--corpus", Path.Combine(dir.Path, "absent.jsonl"), "--out", dir.Path);
        noCorpus.ExitCode.Should().Be(1);
        noCorpus.Stderr.Should().Contain("absent.jsonl does not exist");
        CliRunner.Run("demo", "--strategy", "uniform").ExitCode.Should().NotBe(0, "the weighted run cannot be uniform");
        Directory.Exists(Path.Combine(dir.Path, "pg")).Should().BeFalse("nothing is started for bad settings");
    }

    private static async Task<long> Count(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync());
    }
}
