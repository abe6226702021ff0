using Reweighting.Testing.Postgres;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class ViewAndQueryTests(PostgresCluster cluster)
{
    private const string Hostile = "x'; drop table documents; --";

    [Fact]
    public async Task A_hostile_domain_is_only_ever_a_value()
    {
        var db = await cluster.CreateDatabaseAsync();
        var id = Guid.NewGuid();
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(id,
            [TestData.Document("plain", "web"), TestData.Document("odd", Hostile)],
            [TestData.Score("plain", label: SampleLabel.Noisy, batch: id), TestData.Score("odd", label: SampleLabel.Noisy, batch: id)], []));
        var queries = new LabelledDocumentQueries(db);

        var rows = await queries.ListAsync(SampleLabel.Noisy, Hostile, 10);

        // Matched literally: the one document whose domain is that exact string, and the table is still there.
        rows.Select(r => r.DocumentId).Should().Equal("odd");
        (await TestData.CountAsync(db, "SELECT count(*) FROM documents")).Should().Be(2);
        (await queries.ListAsync(SampleLabel.Noisy, "x' OR '1'='1", 10)).Should().BeEmpty();
    }

    [Fact]
    public async Task Views_show_only_the_latest_score_of_each_document()
    {
        var db = await cluster.CreateDatabaseAsync();
        var writer = new ScoreBatchWriter(db);
        var b1 = Guid.NewGuid();
        await writer.WriteAsync(new ScoreBatch(b1, [TestData.Document("d1"), TestData.Document("d2")],
            [TestData.Score("d1", label: SampleLabel.Noisy, at: TestData.T0, batch: b1, model: "proxy-a"),
             TestData.Score("d2", label: SampleLabel.Hard, at: TestData.T0, batch: b1, model: "proxy-a")], []));
        // d1 later scored by another proxy model as easy; that is now its latest verdict.
        var b2 = Guid.NewGuid();
        await writer.WriteAsync(new ScoreBatch(b2, [],
            [TestData.Score("d1", mean: 1.5, label: SampleLabel.Easy, at: TestData.T0.AddMinutes(5), batch: b2, model: "proxy-b")], []));
        var queries = new LabelledDocumentQueries(db);

        (await queries.ListAsync(SampleLabel.Noisy, null, 10)).Should().BeEmpty();
        var easy = await queries.ListAsync(SampleLabel.Easy, null, 10);
        easy.Should().ContainSingle().Which.Should().Match<LabelledDocument>(d => d.DocumentId == "d1" && d.ScorerModel == "proxy-b" && d.LossMean == 1.5);
        (await queries.ListAsync(SampleLabel.Hard, null, 10)).Select(d => d.DocumentId).Should().Equal("d2");
        (await TestData.CountAsync(db, "SELECT count(*) FROM latest_scores")).Should().Be(2);
        (await TestData.CountAsync(db, "SELECT count(*) FROM sample_scores")).Should().Be(3);
    }

    [Fact]
    public async Task Domain_filter_and_limit_narrow_the_list_most_confident_first()
    {
        var db = await cluster.CreateDatabaseAsync();
        var id = Guid.NewGuid();
        var docs = Enumerable.Range(0, 6).Select(i => TestData.Document($"d{i}", i % 2 == 0 ? "web" : "code")).ToList();
        var scores = docs.Select((d, i) => TestData.Score(d.Id, label: SampleLabel.Noisy, batch: id) with { LabelConfidence = 0.5 + i * 0.05 }).ToList();
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(id, docs, scores, []));

        var rows = await new LabelledDocumentQueries(db).ListAsync(SampleLabel.Noisy, "web", 2);

        rows.Select(r => r.DocumentId).Should().Equal("d4", "d2");
    }

    [Fact]
    public async Task Label_summary_counts_and_shares_each_label_per_domain()
    {
        var db = await cluster.CreateDatabaseAsync();
        var id = Guid.NewGuid();
        var docs = new[] { TestData.Document("w1", "web"), TestData.Document("w2", "web"), TestData.Document("w3", "web"), TestData.Document("c1", "code") };
        var labels = new[] { SampleLabel.Noisy, SampleLabel.Easy, SampleLabel.Easy, SampleLabel.Hard };
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(id, docs,
            docs.Select((d, i) => TestData.Score(d.Id, label: labels[i], batch: id)).ToList(), []));

        var summary = await new LabelledDocumentQueries(db).SummaryAsync();

        summary.Should().ContainEquivalentOf(new { Domain = "web", Label = SampleLabel.Easy, Documents = 2L, Share = 0.6667m });
        summary.Should().ContainEquivalentOf(new { Domain = "web", Label = SampleLabel.Noisy, Documents = 1L, Share = 0.3333m });
        summary.Should().ContainEquivalentOf(new { Domain = "code", Label = SampleLabel.Hard, Documents = 1L, Share = 1m });
        summary.Should().ContainEquivalentOf(new { Domain = "(all)", Label = SampleLabel.Easy, Documents = 2L, Share = 0.5m });
    }

    [Fact]
    public async Task Score_histogram_counts_every_latest_score_once()
    {
        var db = await cluster.CreateDatabaseAsync();
        await new ScoreBatchWriter(db).WriteAsync(TestData.Batch("doc", 70));

        (await TestData.CountAsync(db, "SELECT sum(documents) FROM score_histogram")).Should().Be(70);
        (await TestData.CountAsync(db, "SELECT count(*) FROM score_histogram WHERE bin NOT BETWEEN 1 AND 20")).Should().Be(0);
    }

    [Fact]
    public async Task The_most_confident_noisy_documents_come_first_the_larger_variance_first_among_equals()
    {
        var db = await cluster.CreateDatabaseAsync();
        var id = Guid.NewGuid();
        var docs = Enumerable.Range(0, 5).Select(i => TestData.Document($"d{i}")).ToList();
        var scores = new[]
        {
            TestData.Score("d0", variance: 1, label: SampleLabel.Noisy, batch: id) with { LabelConfidence = 0.9 },
            TestData.Score("d1", variance: 3, label: SampleLabel.Noisy, batch: id) with { LabelConfidence = 0.9 },
            TestData.Score("d2", variance: 9, label: SampleLabel.Noisy, batch: id) with { LabelConfidence = 0.5 },
            TestData.Score("d3", variance: 2, label: SampleLabel.Noisy, batch: id) with { LabelConfidence = 0.99 },
            TestData.Score("d4", variance: 9, label: SampleLabel.Easy, batch: id) with { LabelConfidence = 1.0 },
        };
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(id, docs, scores, []));
        var queries = new LabelledDocumentQueries(db);

        (await queries.MostConfidentNoisyAsync(3)).Select(r => r.DocumentId).Should().Equal("d3", "d1", "d0");
        (await queries.CountAsync()).Should().Be(5);
        (await queries.LatestLabelsAsync()).Should().BeEquivalentTo(new[]
        {
            ("d0", SampleLabel.Noisy), ("d1", SampleLabel.Noisy), ("d2", SampleLabel.Noisy), ("d3", SampleLabel.Noisy), ("d4", SampleLabel.Easy),
        });
    }

    [Fact]
    public async Task Validation_losses_split_into_the_curve_and_the_last_loss_of_each_domain()
    {
        var db = await cluster.CreateDatabaseAsync();
        await TestData.ExecuteAsync(db, """
            INSERT INTO training_runs (run_id, model, strategy) VALUES ('r1', 'tiny', 'uniform'), ('r2', 'tiny', 'uniform');
            INSERT INTO training_metrics (run_id, step, name, value) VALUES
                ('r1', 10, 'valid_loss', 3.0), ('r1', 20, 'valid_loss', 2.5), ('r1', 10, 'valid_loss/web', 3.1),
                ('r1', 20, 'valid_loss/web', 2.6), ('r1', 20, 'valid_loss/code', 2.0), ('r1', 20, 'loss', 9.0),
                ('r2', 10, 'valid_loss', 7.0);
            """);

        var losses = await new TrainingMetricQueries(db).ValidationLossesAsync("r1");

        losses.Curve.Should().Equal((10L, 3.0), (20L, 2.5));
        losses.FinalByDomain.Should().BeEquivalentTo(new Dictionary<string, double> { ["web"] = 2.6, ["code"] = 2.0 });
        (await new TrainingMetricQueries(db).ValidationLossesAsync("none")).Curve.Should().BeEmpty();
    }
}
