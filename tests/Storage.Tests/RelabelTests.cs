using Reweighting.Testing.Postgres;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Reweighting.Storage.Migrations;
using Reweighting.Storage.Models;
using Reweighting.Storage.Writing;
using Xunit;

namespace Reweighting.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class RelabelTests(PostgresCluster cluster)
{
    private static readonly double[][] Identity = [[1, 0], [0, 1]];

    private static GmmModel Model(int version, double[] centreLosses, string scorer = TestData.Model) => new(
        version, scorer,
        new GmmParameters([1 / 3.0, 1 / 3.0, 1 / 3.0], centreLosses.Select(c => new[] { c, 0.0 }).ToArray(),
            [Identity, Identity, Identity], FeatureTransform.LogVariance),
        ComponentLabels.ByAscendingMeanLoss(centreLosses.Select(c => new[] { c, 0.0 }).ToArray()),
        1000, -2.5, TestData.T0);

    [Fact]
    public async Task Relabelling_changes_labels_and_nothing_else()
    {
        var db = await cluster.CreateDatabaseAsync();
        var store = new GmmModelStore(db);
        var v1 = Model(1, [2, 4, 6]);
        var v2 = Model(2, [6, 8, 10]); // shifted up: most documents become easier
        await store.SaveAsync(v1);
        await store.SaveAsync(v2);
        var labeller1 = GmmLabeller.FromModel(v1);
        var batchId = Guid.NewGuid();
        var docs = Enumerable.Range(0, 60).Select(i => TestData.Document($"d{i:00}")).ToList();
        var scores = docs.Select((d, i) =>
        {
            var (mean, variance) = (1.0 + i * 0.15, 1.0);
            var verdict = labeller1.Assign(mean, variance);
            return TestData.Score(d.Id, mean, variance, verdict.Label, batch: batchId, gmmVersion: 1) with
            {
                Responsibilities = verdict.Responsibilities, LabelConfidence = verdict.Confidence,
            };
        }).ToList();
        // Scores of another proxy model must not be touched by relabelling this one.
        var other = TestData.Score("d00", 9, 1, SampleLabel.Noisy, batch: batchId, model: "other-proxy");
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(batchId, docs, [.. scores, other],
            [new ConsumerOffset("scorer", "documents", 0, 61)]));
        const string untouched = "SELECT document_id, scorer_model, n_tokens, loss_mean, loss_variance, batch_id, scored_at FROM sample_scores";
        var before = await TestData.DumpAsync(db, untouched);
        var documentsBefore = await TestData.DumpAsync(db, "SELECT * FROM documents");
        var offsetsBefore = await TestData.DumpAsync(db, "SELECT * FROM consumer_offsets");
        var otherBefore = await TestData.DumpAsync(db, "SELECT * FROM sample_scores WHERE scorer_model = 'other-proxy'");

        var labeller2 = GmmLabeller.FromModel((await store.GetAsync(2))!);
        var result = await new ScoreRelabeller(db) { PageSize = 25 }.RelabelAsync(2, TestData.Model, labeller2.Assign);

        result.RowsRelabelled.Should().Be(60);
        result.LabelsChanged.Should().BeGreaterThan(10);
        (await TestData.DumpAsync(db, untouched)).Should().Equal(before);
        (await TestData.DumpAsync(db, "SELECT * FROM documents")).Should().Equal(documentsBefore);
        (await TestData.DumpAsync(db, "SELECT * FROM consumer_offsets")).Should().Equal(offsetsBefore);
        (await TestData.DumpAsync(db, "SELECT * FROM sample_scores WHERE scorer_model = 'other-proxy'")).Should().Equal(otherBefore);
        foreach (var s in scores)
        {
            var expected = labeller2.Assign(s.LossMean, s.LossVariance);
            (await TestData.DumpAsync(db, $"SELECT label, gmm_version FROM sample_scores WHERE document_id = '{s.DocumentId}' AND scorer_model = '{TestData.Model}'"))
                .Should().Equal($"({expected.Label.ToWire()},2)");
        }
    }

    [Fact]
    public async Task A_stored_gmm_version_reads_back_as_it_was_saved()
    {
        var db = await cluster.CreateDatabaseAsync();
        var model = Model(7, [1, 2, 3]) with
        {
            Parameters = Model(7, [1, 2, 3]).Parameters with { StandardizeMean = [3, 0.5], StandardizeStd = [2, 1.5] },
        };
        await new GmmModelStore(db).SaveAsync(model);

        var loaded = await new GmmModelStore(db).GetAsync(7);

        loaded.Should().BeEquivalentTo(model);
        (await new GmmModelStore(db).GetAsync(8)).Should().BeNull();
    }

    [Fact]
    public async Task Relabelling_uses_the_label_map_stored_with_the_version_and_stamps_that_version()
    {
        // A reference-anchored map names the LOWEST-loss component noisy (noise below the bulk), which no rule about
        // centres would: relabelling must read the stored map, not recompute one.
        var db = await cluster.CreateDatabaseAsync();
        var store = new GmmModelStore(db);
        var anchored = Model(3, [2, 4, 6]) with { LabelMap = [SampleLabel.Noisy, SampleLabel.Easy, SampleLabel.Hard] };
        await store.SaveAsync(Model(1, [2, 4, 6]));
        await store.SaveAsync(anchored);
        var batchId = Guid.NewGuid();
        var docs = new[] { ("low", 2.0), ("mid", 4.0), ("high", 6.0) }
            .Select(d => (Doc: TestData.Document(d.Item1), Mean: d.Item2)).ToList();
        var first = GmmLabeller.FromModel(Model(1, [2, 4, 6]));
        var scores = docs.Select(d => TestData.Score(d.Doc.Id, d.Mean, 1.0, first.Assign(d.Mean, 1.0).Label, batch: batchId, gmmVersion: 1))
            .ToList();
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(batchId, docs.Select(d => d.Doc).ToList(), scores,
            [new ConsumerOffset("scorer", "documents", 0, 3)]));

        var stored = (await store.GetAsync(3))!;
        await new ScoreRelabeller(db).RelabelAsync(3, TestData.Model, GmmLabeller.FromModel(stored).Assign);

        (await TestData.DumpAsync(db, "SELECT document_id, label, gmm_version FROM sample_scores ORDER BY document_id"))
            .Should().Equal("(high,hard,3)", "(low,noisy,3)", "(mid,easy,3)");
    }

    /// <summary>A detector fitted on clean documents of 100 tokens and 400 bytes (the rows <see cref="TestData.Score"/>
    /// writes) with loss means about 4, against a stream that also holds tight noise at mean 2.</summary>
    private static NoveltyParameters Detector()
    {
        var random = new Random(3);
        double[] Clean(double mean) => ReferenceNovelty.Features(
            new LossStatistics(100, mean + 0.3 * (random.NextDouble() - 0.5), 100 * (1 + 0.4 * (random.NextDouble() - 0.5)),
                400 + random.Next(-20, 21)))!;
        var reference = Enumerable.Range(0, 60).Select(_ => Clean(4)).ToList();
        var stream = Enumerable.Range(0, 200).Select(i => i % 5 == 0
            ? ReferenceNovelty.Features(new LossStatistics(100, 2 + 0.01 * random.NextDouble(), 100.0, 400))!
            : Clean(4)).ToList();
        return ReferenceNovelty.Fit(reference, stream, seed: 1).Parameters;
    }

    [Fact]
    public async Task A_version_with_a_detector_reads_back_whole_and_relabelling_follows_the_detector()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var store = new GmmModelStore(db);
        var model = Model(4, [2, 4, 6]) with { Novelty = Detector() };
        await store.SaveAsync(model);
        var loaded = (await store.GetAsync(4))!;
        loaded.Should().BeEquivalentTo(model);
        (await TestData.CountAsync(db, "SELECT count(*) FROM gmm_models WHERE (novelty->>'noise_share')::float8 > 0.1")).Should().Be(1);

        var batchId = Guid.NewGuid();
        var docs = new[] { TestData.Document("low"), TestData.Document("mid") };
        var scores = new[]
        {
            TestData.Score("low", 2.0, 1.0, SampleLabel.Easy, batch: batchId, gmmVersion: 1),
            TestData.Score("mid", 4.0, 1.0, SampleLabel.Hard, batch: batchId, gmmVersion: 1),
        };
        await new ScoreBatchWriter(db).WriteAsync(new ScoreBatch(batchId, docs, scores, [new ConsumerOffset("scorer", "documents", 0, 2)]));

        await new ScoreRelabeller(db).RelabelAsync(4, TestData.Model, GmmLabeller.FromModel(loaded).Assign);

        // The components call the mean-2 document easy; the detector, which has seen a cluster of such documents in the
        // stream and none in the reference, calls it noisy. The mean-4 one is clean and stays in its component's label.
        (await TestData.DumpAsync(db, "SELECT document_id, label, gmm_version FROM sample_scores ORDER BY document_id"))
            .Should().Equal("(low,noisy,4)", "(mid,hard,4)");
        GmmLabeller.FromModel(model with { Novelty = null }).Assign(new StoredStatistics(100, 2.0, 1.0, 400))!.Label
            .Should().Be(SampleLabel.Easy, "without the detector the component decides");
    }

    [Fact]
    public async Task Versions_stored_before_V005_survive_it_and_load_without_a_detector()
    {
        await using var db = await cluster.CreateDatabaseAsync(migrated: false);
        await new MigrationRunner(db) { Migrations = Migration.Embedded.Where(m => m.Version <= 4).ToList() }.MigrateAsync();
        await TestData.ExecuteAsync(db, """
            INSERT INTO gmm_models (version, scorer_model, n_components, n_features, parameters, label_map, sample_count,
                                    log_likelihood, fitted_at)
            VALUES (1, 'proxy-test', 2, 2,
                    '{"weights":[0.5,0.5],"means":[[1,0],[3,0]],"covariances":[[[1,0],[0,1]],[[1,0],[0,1]]],"transform":"log-variance"}',
                    '{easy,noisy}', 100, -2.5, '2025-01-01T12:00:00Z');
            """);
        var before = await TestData.DumpAsync(db, "SELECT * FROM gmm_models");

        var applied = await new MigrationRunner(db).MigrateAsync();

        applied.Select(m => m.Version).Should().Equal(5, 6, 7);
        (await TestData.DumpAsync(db, "SELECT version, scorer_model, n_components, n_features, parameters, label_map, sample_count, " +
                                      "log_likelihood, fitted_at FROM gmm_models")).Should().Equal(before);
        var loaded = (await new GmmModelStore(db).GetAsync(1))!;
        loaded.Novelty.Should().BeNull();
        loaded.LabelMap.Should().Equal(SampleLabel.Easy, SampleLabel.Noisy);
        GmmLabeller.FromModel(loaded).Assign(new StoredStatistics(100, 3.0, 1.0, 400))!.Label.Should().Be(SampleLabel.Noisy);
    }
}
