using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Scorer.Labelling;
using Reweighting.Storage.Models;
using Reweighting.Testing.Postgres;
using Xunit;
using static Reweighting.Scorer.Tests.LabellingTestData;

namespace Reweighting.Scorer.Tests;

[Collection(PostgresCollection.Name)]
public sealed class LabellingLabellerTests(PostgresCluster cluster)
{
    [Fact]
    public async Task Nothing_is_labelled_before_the_warm_up()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300), FastRetry);

        ObserveAll(labeller, Draw(299, seed: 1));

        labeller.Current.Should().BeNull();
        labeller.FitDue.Should().BeFalse();
        (await labeller.RefitIfDueAsync()).Should().BeNull();
        var verdict = labeller.Assign(2.0, 1.0);
        verdict.Should().Be(DocumentVerdict.Unlabelled);
        verdict.GmmVersion.Should().BeNull();
        verdict.Assignment.Responsibilities.Should().BeEmpty("the store and the wire take K = 0 without a version");
        verdict.Assignment.Confidence.Should().Be(0);
        (await new GmmModelStore(db).VersionsAsync()).Should().BeEmpty();
    }

    [Fact]
    public async Task With_a_clean_reference_and_the_default_settings_noise_below_the_bulk_is_labelled_noisy()
    {
        var db = await cluster.CreateDatabaseAsync();
        // The same stream as the other tests, with the noise cluster moved below the two clean ones (boilerplate, dumps
        // the proxy learnt by heart): a rule about centres is fooled by where it lies, the reference is not.
        var stream = Draw(600, seed: 3)
            .Select(s => s.Truth == SampleLabel.Noisy ? (Mean: s.Mean - 6.5, Variance: s.Variance / 10, s.Truth) : s).ToList();
        var reference = Draw(600, seed: 4).Where(s => s.Truth != SampleLabel.Noisy).Take(200).Select(s => (s.Mean, s.Variance)).ToList();
        var options = Options(warmUp: 600) with
        {
            Components = LabellingDefaults.Settings.Components, LabelRule = LabellingDefaults.Settings.LabelRule, FeatureSetting = "raw-std",
        };
        var labeller = await ReservoirLabeller.OpenAsync(db, options, FastRetry, reference: reference);

        ObserveAll(labeller, stream);
        var fit = await labeller.RefitIfDueAsync();

        fit.Should().NotBeNull();
        var labels = stream.Select(s => labeller.Assign(s.Mean, s.Variance).Assignment.Label).ToList();
        var truth = stream.Select(s => s.Truth == SampleLabel.Noisy).ToList();
        var flagged = labels.Select(l => l == SampleLabel.Noisy).ToList();
        var truePositives = flagged.Zip(truth).Count(p => p.First && p.Second);
        ((double)truePositives / flagged.Count(f => f)).Should().BeGreaterThan(0.95, "precision");
        ((double)truePositives / truth.Count(t => t)).Should().BeGreaterThan(0.95, "recall");

        // The seed's rule (ascending centre loss) on the same stream and reference calls that cluster easy.
        var unanchored = await ReservoirLabeller.OpenAsync(await cluster.CreateDatabaseAsync(), options with { LabelRule = "mean-loss" },
            FastRetry, reference: reference);
        ObserveAll(unanchored, stream);
        await unanchored.RefitIfDueAsync();
        var unanchoredFlags = stream.Select(s => unanchored.Assign(s.Mean, s.Variance).Assignment.Label == SampleLabel.Noisy).ToList();
        unanchoredFlags.Zip(truth).Count(p => p.First && p.Second).Should().BeLessThan(truePositives,
            "a rule about centres misses noise below the bulk");
    }

    [Fact]
    public async Task The_warm_up_fits_version_1_and_stores_it()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300), FastRetry);
        GmmVersionStored? announced = null;
        labeller.VersionStored += v => announced = v;

        ObserveAll(labeller, Draw(300, seed: 1));
        labeller.FitDue.Should().BeTrue();
        var fit = await labeller.RefitIfDueAsync();

        fit.Should().NotBeNull();
        fit!.WarmStarted.Should().BeFalse();
        announced.Should().BeSameAs(fit);
        labeller.Current!.Version.Should().Be(1);
        var stored = await new GmmModelStore(db).GetAsync(1);
        stored.Should().NotBeNull();
        stored!.ScorerModel.Should().Be(ScorerModel);
        stored.SampleCount.Should().Be(300);
        stored.LabelMap.Should().Equal(fit.Model.LabelMap);
        stored.Parameters.Weights.Should().Equal(fit.Model.Parameters.Weights);
        stored.FittedAt.Should().Be(fit.Model.FittedAt);
        fit.ToControlEvent().Should().BeEquivalentTo(new { Version = 1, ScorerModel, Components = 3, SampleCount = 300L });
        labeller.FitDue.Should().BeFalse();
        (await labeller.RefitIfDueAsync()).Should().BeNull("the next fit is due only after the refit interval");
    }

    [Fact]
    public async Task Labels_of_well_separated_clusters_are_right()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 400), FastRetry);
        ObserveAll(labeller, Draw(400, seed: 2));
        await labeller.RefitIfDueAsync();

        foreach (var (mean, variance, _, label) in Clusters)
        {
            var verdict = labeller.Assign(mean, variance);
            verdict.GmmVersion.Should().Be(1);
            verdict.Assignment.Label.Should().Be(label, $"the centre ({mean}, {variance})");
            verdict.Assignment.Confidence.Should().BeGreaterThan(0.99);
            verdict.Assignment.Responsibilities.Should().HaveCount(3);
        }
        var fresh = Draw(2_000, seed: 99);
        fresh.Count(s => labeller.Assign(s.Mean, s.Variance).Assignment.Label == s.Truth).Should().BeGreaterThan(1_980);
    }

    [Fact]
    public async Task Refits_every_M_documents_store_versions_2_and_3_warm_started()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300, refitEvery: 200), FastRetry);
        ObserveAll(labeller, Draw(300, seed: 3));
        var v1 = (await labeller.RefitIfDueAsync())!.Model;

        ObserveAll(labeller, Draw(199, seed: 4));
        labeller.FitDue.Should().BeFalse();
        ObserveAll(labeller, Draw(1, seed: 5));
        var v2 = await labeller.RefitIfDueAsync();
        ObserveAll(labeller, Draw(200, seed: 6));
        var v3 = await labeller.RefitIfDueAsync();

        v2!.Model.Version.Should().Be(2);
        v3!.Model.Version.Should().Be(3);
        v2.WarmStarted.Should().BeTrue();
        v3.WarmStarted.Should().BeTrue();
        (await new GmmModelStore(db).VersionsAsync()).Should().Equal(3, 2, 1);
        v3.Model.SampleCount.Should().Be(700);
        labeller.Current!.Version.Should().Be(3);
        // A warm start keeps each component where it was: component k of version 3 is component k of version 1.
        for (var k = 0; k < 3; k++)
        {
            var (m1, m3) = (RawCentre(v1, k), RawCentre(v3.Model, k));
            m3.Mean.Should().BeApproximately(m1.Mean, 0.15, $"component {k}");
            m3.Variance.Should().BeApproximately(m1.Variance, 0.3, $"component {k}");
        }
        v3.Model.LabelMap.Should().Equal(v1.LabelMap);
        labeller.Assign(7.0, 6.0).Should().Match<DocumentVerdict>(v => v.GmmVersion == 3 && v.Assignment.Label == SampleLabel.Noisy);
    }

    [Fact]
    public async Task A_restarted_labeller_continues_with_the_latest_stored_version_of_its_model()
    {
        var db = await cluster.CreateDatabaseAsync();
        var stats = Draw(500, seed: 7);
        await StoreAsync(db, ProvisionalRows(stats, "doc"));
        var first = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300, refitEvery: 200) with { ReseedFromStoredScores = false }, FastRetry);
        ObserveAll(first, stats.Take(300));
        await first.RefitIfDueAsync();
        ObserveAll(first, stats.Skip(300));
        var v2 = (await first.RefitIfDueAsync())!.Model;
        // Another scorer model's newer version is not ours.
        var other = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300) with { ScorerModel = "other-proxy", ReseedFromStoredScores = false }, FastRetry);
        ObserveAll(other, stats.Take(300));
        (await other.RefitIfDueAsync())!.Model.Version.Should().Be(3);

        var restarted = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300, refitEvery: 200), FastRetry);

        restarted.Current!.Version.Should().Be(2);
        restarted.CurrentModel.Should().BeEquivalentTo(v2);
        restarted.FitDue.Should().BeFalse("a restart does not warm up again");
        restarted.DocumentsObserved.Should().Be(500, "the reservoir was refilled from the stored statistics");
        restarted.ReservoirSample().Should().HaveCount(500);
        restarted.Assign(7.0, 6.0).GmmVersion.Should().Be(2);
        ObserveAll(restarted, Draw(200, seed: 8));
        var next = await restarted.RefitIfDueAsync();
        next!.Model.Version.Should().Be(4, "version numbers are global; 3 belongs to the other model");
        next.WarmStarted.Should().BeTrue();
    }

    [Fact]
    public async Task Provisional_rows_get_the_first_version_s_labels_and_later_ones_keep_theirs()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300), FastRetry);
        var stats = Draw(300, seed: 9);
        var rows = ProvisionalRows(stats, "early");
        await StoreAsync(db, rows);
        labeller.Observe(rows);
        await labeller.RefitIfDueAsync();
        // A batch scored before version 1 was current but committed after it.
        var late = ProvisionalRows(Draw(20, seed: 10), "late");
        await StoreAsync(db, late);
        labeller.Observe(late);

        var relabelled = await labeller.RelabelProvisionalAsync();

        relabelled.Should().Be(320);
        var stored = await ReadScoresAsync(db);
        stored.Should().HaveCount(320).And.OnlyContain(r => r.Version == 1 && r.Responsibilities.Length == 3);
        var truth = stats.Select((s, i) => ($"early-{i:D6}", s.Truth)).ToDictionary(x => x.Item1, x => x.Truth);
        stored.Where(r => r.Id.StartsWith("early")).Count(r => r.Label == truth[r.Id]).Should().BeGreaterThan(295);
        (await labeller.RelabelProvisionalAsync()).Should().Be(0, "nothing is provisional any more");
    }

    [Fact]
    public async Task The_background_loop_fits_and_relabels_while_rows_are_observed_from_several_threads()
    {
        var db = await cluster.CreateDatabaseAsync();
        var labeller = await ReservoirLabeller.OpenAsync(db, Options(warmUp: 300, refitEvery: 400), FastRetry);
        using var stop = new CancellationTokenSource();
        var loop = labeller.RunAsync(stop.Token);
        var early = ProvisionalRows(Draw(300, seed: 11), "w");
        await StoreAsync(db, early);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
        {
            if (t == 0) labeller.Observe(early);
            foreach (var s in Draw(500, seed: 20 + t)) labeller.ObserveStatistics(s.Mean, s.Variance);
        })));
        await WaitUntilAsync(async () => labeller.Current is not null && !labeller.FitDue && (await ReadScoresAsync(db)).All(r => r.Version is not null));
        stop.Cancel();
        await loop;

        labeller.DocumentsObserved.Should().Be(2_300);
        labeller.LastFit!.DocumentsObserved.Should().BeGreaterThan(2_300 - 400, "every refit interval that passed was fitted");
        (await new GmmModelStore(db).VersionsAsync()).Should().Equal(Enumerable.Range(1, labeller.Current!.Version).Reverse());
    }

    private static (double Mean, double Variance) RawCentre(GmmModel model, int k)
    {
        var p = model.Parameters;
        return (p.Means[k][0] * p.StandardizeStd![0] + p.StandardizeMean![0], p.Means[k][1] * p.StandardizeStd[1] + p.StandardizeMean[1]);
    }

    private static async Task<List<(string Id, int? Version, SampleLabel Label, double[] Responsibilities)>> ReadScoresAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT document_id, gmm_version, label::text, responsibilities FROM sample_scores ORDER BY document_id");
        await using var reader = await cmd.ExecuteReaderAsync();
        var rows = new List<(string, int?, SampleLabel, double[])>();
        while (await reader.ReadAsync())
            rows.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), SampleLabels.Parse(reader.GetString(2)), reader.GetFieldValue<double[]>(3)));
        return rows;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold within 20 s");
            await Task.Delay(20);
        }
    }
}
