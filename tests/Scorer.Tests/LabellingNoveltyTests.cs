using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Reweighting.Scorer.Labelling;
using Reweighting.Storage.Models;
using Reweighting.Testing.Postgres;
using Xunit;
using static Reweighting.Scorer.Tests.LabellingTestData;

namespace Reweighting.Scorer.Tests;

/// <summary>The service's labeller with the shared defaults and a clean reference: every fitted version carries the
/// document-level detector, stored with it, and the rows it relabels follow the detector.</summary>
[Collection(PostgresCollection.Name)]
public sealed class LabellingNoveltyTests(PostgresCluster cluster)
{
    [Fact]
    public async Task A_version_fitted_with_a_reference_carries_the_detector_and_its_labels_find_the_noise()
    {
        await using var db = await cluster.CreateDatabaseAsync();
        var random = new Random(21);
        // 20% junk that the proxy finds cheap per token and per byte (boilerplate learnt by heart), as tokenised as text.
        var truth = Enumerable.Range(0, 800).Select(_ => random.NextDouble() < 0.2).ToArray();
        var stream = truth.Select(noise => noise ? Noise(random) : Clean(random)).ToList();
        var reference = Enumerable.Range(0, 200).Select(_ => Clean(random)).ToList();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 800).With(LabellingDefaults.Settings), FastRetry,
            reference: GmmInputs.All(reference, FeatureTransform.PerByte),
            noveltyReference: reference.Select(s => ReferenceNovelty.Features(s)!).ToList());
        var batch = Guid.NewGuid();
        var rows = stream.Select((s, i) => new SampleScore($"doc-{i:D4}", ScorerModel, (int)s.Count, s.Bytes, s.Mean, s.Variance, [],
            ProvisionalVerdict.Label, 0, null, batch, DateTimeOffset.UnixEpoch.AddDays(1))).ToList();
        await StoreAsync(db, rows);

        labeller.Observe(rows);
        var fit = await labeller.RefitIfDueAsync();
        await labeller.RelabelProvisionalAsync();

        fit.Should().NotBeNull();
        var novelty = fit!.Model.Novelty;
        novelty.Should().NotBeNull("the reference is large enough for the detector");
        novelty!.Reference.Should().HaveCount(200);
        novelty.NoiseShare.Should().BeApproximately(truth.Count(t => t) / 800.0, 0.05);
        (await new GmmModelStore(db).GetAsync(fit.Model.Version))!.Novelty.Should().BeEquivalentTo(novelty);
        var labels = (await StoredLabels(db)).ToArray();
        labels.Should().HaveCount(800);
        var flagged = labels.Select(l => l == SampleLabel.Noisy).ToArray();
        var truePositives = flagged.Zip(truth).Count(p => p.First && p.Second);
        ((double)truePositives / flagged.Count(f => f)).Should().BeGreaterThan(0.9, "precision");
        ((double)truePositives / truth.Count(t => t)).Should().BeGreaterThan(0.9, "recall");
        labels.Where((_, i) => !truth[i]).Should().Contain(SampleLabel.Easy).And.Contain(SampleLabel.Hard, "clean text keeps easy and hard");
    }

    [Fact]
    public async Task Without_a_document_reference_or_with_too_small_a_one_versions_label_by_component()
    {
        var random = new Random(5);
        var stream = Enumerable.Range(0, 400).Select(_ => random.NextDouble() < 0.2 ? Noise(random) : Clean(random)).ToList();
        var reference = Enumerable.Range(0, ReferenceNovelty.MinReference - 1).Select(_ => Clean(random)).ToList();
        foreach (var noveltyReference in new[] { null, reference.Select(s => ReferenceNovelty.Features(s)!).ToList() })
        {
            await using var db = await cluster.CreateDatabaseAsync();
            var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 400).With(LabellingDefaults.Settings), FastRetry,
                reference: GmmInputs.All(reference, FeatureTransform.PerByte), noveltyReference: noveltyReference);
            var rows = stream.Select((s, i) => new SampleScore($"doc-{i:D4}", ScorerModel, (int)s.Count, s.Bytes, s.Mean, s.Variance, [],
                ProvisionalVerdict.Label, 0, null, Guid.NewGuid(), DateTimeOffset.UnixEpoch)).ToList();

            labeller.Observe(rows);
            var fit = await labeller.RefitIfDueAsync();

            fit!.Model.Novelty.Should().BeNull(noveltyReference is null ? "no document features were given" : "7 documents cannot calibrate it");
        }
    }

    private static async Task<List<SampleLabel>> StoredLabels(Npgsql.NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT label::text FROM sample_scores ORDER BY document_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var labels = new List<SampleLabel>();
        while (await reader.ReadAsync()) labels.Add(SampleLabels.Parse(reader.GetString(0)));
        return labels;
    }

    /// <summary>Clean text: 100–300 tokens, about 4 bytes per token, variance about 5, and two kinds: loss mean about 3
    /// (easy) and about 4.2 (hard).</summary>
    private static LossStatistics Clean(Random random)
    {
        var tokens = random.Next(100, 300);
        var variance = 5.0 * Math.Exp(0.2 * Normal(random));
        var mean = (random.NextDouble() < 0.5 ? 3.0 : 4.2) + 0.2 * Normal(random);
        return new LossStatistics(tokens, mean, variance * tokens,
            (long)Math.Round(tokens * 4.0 * Math.Exp(0.1 * Normal(random))));
    }

    private static LossStatistics Noise(Random random)
    {
        var tokens = random.Next(100, 300);
        return new LossStatistics(tokens, 1.2 + 0.1 * Normal(random), 0.8 * tokens, (long)Math.Round(tokens * 4.0 * Math.Exp(0.03 * Normal(random))));
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
