using Reweighting.Testing.Postgres;
using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
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
}
