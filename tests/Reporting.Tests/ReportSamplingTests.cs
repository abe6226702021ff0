using System.Diagnostics;
using System.Text.RegularExpressions;
using FluentAssertions;
using Npgsql;
using Reweighting.Testing.Postgres;
using Xunit;
using Xunit.Abstractions;

namespace Reweighting.Reporting.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ReportSamplingTests(PostgresCluster cluster, ITestOutputHelper output)
{
    /// <summary>n documents with scores, written in SQL: labels cycle easy, hard, noisy; a quarter have no domain.</summary>
    internal static async Task FillAsync(NpgsqlDataSource db, int n)
    {
        await using var batch = db.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO documents (id, domain, content_hash, length_chars, snippet)
            SELECT 'doc-' || i, CASE WHEN i % 4 = 0 THEN NULL ELSE 'domain-' || (i % 7) END, sha256(('doc-' || i)::bytea), 100, 'snippet'
            FROM generate_series(1, $1) AS i
            """) { Parameters = { new NpgsqlParameter { Value = n } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand("""
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities, label, label_confidence,
                                       gmm_version, batch_id, scored_at)
            SELECT 'doc-' || i, 'proxy', 64, 2 + (i % 3) * 2 + (i % 101) / 100.0, exp((i % 3) - 1 + (i % 37) / 40.0), ARRAY[0.1, 0.1, 0.8],
                   (ARRAY['easy', 'hard', 'noisy'])[i % 3 + 1]::sample_label, 0.8, NULL, gen_random_uuid(), now()
            FROM generate_series(1, $1) AS i
            """) { Parameters = { new NpgsqlParameter { Value = n } } });
        await batch.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task A_large_table_is_plotted_as_a_seeded_sample_of_the_requested_size()
    {
        const int documents = 20_000;
        var db = await cluster.CreateDatabaseAsync();
        await FillAsync(db, documents);

        var clock = Stopwatch.StartNew();
        var data = await ReportData.LoadAsync(db, new ReportOptions { MaxScatterPoints = 1_500, Seed = 11 }, CancellationToken.None);
        var html = ReportRenderer.RenderPage(data, "sampled");
        output.WriteLine($"{documents:N0} documents: loaded and rendered in {clock.ElapsedMilliseconds} ms, {html.Length:N0} characters");

        data.TotalDocuments.Should().Be(documents);
        data.IsSampled.Should().BeTrue();
        data.Sample.Select(p => p.DocumentId).Should().OnlyHaveUniqueItems().And.HaveCount(1_500);
        Regex.Matches(html, "<circle class=\"point ").Count.Should().Be(1_500);
        html.Should().Contain("1,500 of 20,000 documents");
        // A uniform sample keeps the label shares (a third each) within a few points.
        foreach (var share in data.Sample.GroupBy(p => p.Label).Select(g => g.Count() / 1_500.0)) share.Should().BeInRange(0.28, 0.39);
        // No GMM, no runs: those sections say so rather than fail.
        html.Should().Contain("No GMM version is stored yet").And.Contain("No training runs recorded yet");
    }
}
