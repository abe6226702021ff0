using FluentAssertions;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Models;
using Reweighting.Testing.Postgres;
using Reweighting.Trainer.Recording;
using Xunit;

namespace Reweighting.Trainer.Tests;

[Collection(PostgresCollection.Name)]
public sealed class TrainerRecordingTests(PostgresCluster postgres)
{
    [Fact]
    public async Task A_run_records_itself_its_metrics_and_its_validation_loss()
    {
        await using var db = await postgres.CreateDatabaseAsync();
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(16));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options(steps: 8) with { RunId = "uniform-1" }, recorder: new TrainingRunStore(db));

        run.Result.Stop.Should().Be(TrainerStopReason.Completed);
        (await Scalar<string>(db, "SELECT status FROM training_runs WHERE run_id = 'uniform-1'")).Should().Be("finished");
        (await Scalar<string>(db, "SELECT strategy FROM training_runs WHERE run_id = 'uniform-1'")).Should().Be("uniform");
        (await Scalar<long>(db, "SELECT count(*) FROM training_metrics WHERE run_id = 'uniform-1' AND name = 'loss'")).Should().Be(8);
        foreach (var name in new[] { "lr", "grad_norm", "tokens_per_s", "batches_trained" })
            (await Scalar<long>(db, $"SELECT count(*) FROM training_metrics WHERE run_id = 'uniform-1' AND name = '{name}'")).Should().Be(8, name);
        var losses = await Column<double>(db, "SELECT value FROM training_metrics WHERE run_id = 'uniform-1' AND name = 'loss' ORDER BY step");
        losses.Should().Equal(run.Steps.Select(s => s.Loss));
        var validSteps = await Column<long>(db, "SELECT step FROM training_metrics WHERE run_id = 'uniform-1' AND name = 'valid_loss' ORDER BY step");
        validSteps.Should().Equal(run.Steps.Where(s => s.ValidationLoss is not null).Select(s => s.Step));
        validSteps.Should().Contain(8L);
    }

    [Fact]
    public async Task Meta_em_starts_from_the_scorer_stored_gmm_and_writes_its_phi_history()
    {
        await using var db = await postgres.CreateDatabaseAsync();
        var gmms = new GmmModelStore(db);
        // The scorer's GMM version 5: three components in standardised (mean, variance) space.
        await gmms.SaveAsync(new GmmModel(5, "tiny-proxy",
            new GmmParameters([0.5, 0.3, 0.2], [[-0.8, -0.5], [0.2, 0.0], [1.5, 1.6]],
                [[[0.2, 0.0], [0.0, 0.2]], [[0.3, 0.0], [0.0, 0.3]], [[0.4, 0.0], [0.0, 0.4]]],
                FeatureTransform.Raw, [3.0, 1.5], [1.2, 1.0]),
            [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy], 1000, -1.5, DateTimeOffset.UtcNow));
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(14, gmmVersion: 5));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options("meta-em", steps: 6) with { RunId = "meta-1" }, recorder: new TrainingRunStore(db),
            gmmLookup: (v, ct) => gmms.GetAsync(v, ct));

        run.Result.Step.Should().Be(6);
        run.Trainer.Gmm!.Version.Should().Be(5);
        var sources = await Column<string>(db, "SELECT source::text || ':' || step FROM cluster_parameters WHERE run_id = 'meta-1' ORDER BY source, step");
        sources.Should().Equal("gmm-init:0", "meta:0", "meta:1", "meta:2", "meta:3", "meta:4", "meta:5");
        var initCentres = await Scalar<double[,]>(db, "SELECT centres FROM cluster_parameters WHERE run_id = 'meta-1' AND source = 'gmm-init'");
        initCentres.GetLength(0).Should().Be(2, "phi starts from the components the stored version's labels do not call noisy");
        initCentres[1, 0].Should().Be(0.2, "phi starts at the stored GMM's means");
        initCentres[0, 1].Should().Be(-0.5);
        var pis = await Scalar<double[]>(db, "SELECT pis FROM cluster_parameters WHERE run_id = 'meta-1' AND source = 'meta' AND step = 5");
        pis.Sum().Should().BeApproximately(1, 1e-9);
        var lambdas = await Column<double[]>(db, "SELECT lambdas FROM cluster_parameters WHERE run_id = 'meta-1' ORDER BY source, step");
        lambdas.Skip(1).Should().OnlyContain(l => l.Zip(lambdas[0]).All(p => p.First <= p.Second * (1 + 1e-12)),
            "by default the meta-update never narrows a kernel");
        var lastCentres = await Scalar<double[,]>(db, "SELECT centres FROM cluster_parameters WHERE run_id = 'meta-1' AND source = 'meta' AND step = 5");
        lastCentres.Cast<double>().Should().NotEqual(initCentres.Cast<double>(), "the meta-update moves phi");
        // U_t and the meta-gradient's norm, one value with each step's metrics.
        (await Column<long>(db, "SELECT step FROM training_metrics WHERE run_id = 'meta-1' " +
                                "AND name = 'meta_predicted_improvement' ORDER BY step"))
            .Should().Equal(1, 2, 3, 4, 5, 6);
        (await Column<double>(db, "SELECT value FROM training_metrics WHERE run_id = 'meta-1' AND name = 'meta_gradient_norm'"))
            .Should().HaveCount(6).And.OnlyContain(v => v >= 0 && double.IsFinite(v));
        (await Scalar<string>(db, "SELECT status FROM training_runs WHERE run_id = 'meta-1'")).Should().Be("finished");
    }

    [Fact]
    public async Task A_crashed_run_is_marked_failed_and_running_again_when_it_resumes()
    {
        await using var db = await postgres.CreateDatabaseAsync();
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(12));
        using var h = new TrainerHarness();
        var options = h.Options(steps: 8) with { RunId = "crash-1" };
        var store = new TrainingRunStore(db);
        await h.RunAsync(cluster, options, crashAfter: 4, recorder: store);
        (await Scalar<string>(db, "SELECT status FROM training_runs WHERE run_id = 'crash-1'")).Should().Be("failed");
        var resumed = await h.RunAsync(cluster, options, recorder: store);
        resumed.Steps.First().Step.Should().Be(4, "the last checkpoint was at step 3");
        (await Scalar<string>(db, "SELECT status FROM training_runs WHERE run_id = 'crash-1'")).Should().Be("finished");
        // Step 4 was recorded by both attempts and holds one row, the resumed one's value.
        (await Scalar<long>(db, "SELECT count(*) FROM training_metrics WHERE run_id = 'crash-1' AND name = 'loss'")).Should().Be(8);
    }

    private static async Task<T> Scalar<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        (await reader.ReadAsync()).Should().BeTrue($"'{sql}' returns a row");
        return reader.GetFieldValue<T>(0);
    }

    private static async Task<List<T>> Column<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        await using var reader = await cmd.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync()) values.Add(reader.GetFieldValue<T>(0));
        return values;
    }
}
