using Confluent.Kafka;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reweighting.InProcessKafka;
using Reweighting.Testing.Postgres;
using Reweighting.Trainer;
using Reweighting.Trainer.Hosting;
using Reweighting.Trainer.Tests;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>The real trainer worker (tiny GPT, in-memory stream, real PostgreSQL) under its dashboard: the step, loss,
/// temperature and phi on /metrics come from the worker's step hook, and /charts reads the run it recorded.</summary>
[Collection(PostgresCollection.Name)]
public sealed class TrainerDashboardTests(PostgresCluster postgres) : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "reweight-dashboard-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try
        {
            if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
        }
        catch (IOException) { }
    }

    /// <summary>Starts a trainer of <paramref name="steps"/> steps over 16 batches; it stops the host when done, or idles
    /// for <paramref name="idle"/> once the stream is drained.</summary>
    private async Task<DashboardHost> StartAsync(string strategy, int steps, TimeSpan idle)
    {
        var db = await postgres.CreateDatabaseAsync();
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, Enumerable.Range(0, 16).Select(i => ScoredStream.Batch(i)));
        var dashboard = await DashboardHost.StartAsync(DashboardComponents.Trainer, builder =>
        {
            builder.Services.AddSingleton<ITrainerConsumerFactory>(new InProcessTrainerConsumers(cluster));
            builder.Services.AddTrainer(builder.Configuration);
        }, new Dictionary<string, string?>
        {
            ["Trainer:RunId"] = $"dash-{strategy}", ["Trainer:Strategy"] = strategy, ["Trainer:ModelPreset"] = "tiny",
            ["Trainer:VocabSize"] = ScoredStream.Vocab.ToString(), ["Trainer:EndOfTextToken"] = ScoredStream.EndOfText.ToString(),
            ["Trainer:CheckpointDirectory"] = Path.Combine(_directory, "ckpt"), ["Trainer:Training:Steps"] = steps.ToString(),
            ["Trainer:Training:BatchSize"] = "4", ["Trainer:Training:SequenceLength"] = "16", ["Trainer:Training:WarmupSteps"] = "1",
            ["Trainer:Training:EvalEvery"] = "2", ["Trainer:PollTimeout"] = "00:00:00.02", ["Trainer:StopWhenIdleFor"] = idle.ToString(),
            ["Trainer:ValidationFraction"] = "0.15", ["Trainer:ValidationDocuments"] = "4", ["Trainer:GmmSample"] = "16",
            ["Trainer:MetaValidationBatch"] = "2", ["Trainer:Database"] = db.ConnectionString,
        });
        return dashboard;
    }

    [Fact]
    public async Task A_meta_em_run_reports_its_step_losses_and_phi_per_cluster_live_and_its_curves_become_charts()
    {
        // More steps than the stream holds: the trainer drains it and waits, serving its dashboard.
        await using var dashboard = await StartAsync("meta-em", steps: 1000, idle: TimeSpan.FromMinutes(2));

        IReadOnlyDictionary<string, PromFamily> families = new Dictionary<string, PromFamily>();
        await DashboardHost.EventuallyAsync(async () =>
        {
            families = PrometheusTextParser.Parse(await dashboard.GetStringAsync("/metrics"));
            return families.Reports("reweight_train_step") && families["reweight_train_step"].Samples[0].Value >= 4
                && families.Reports("reweight_valid_loss");
        }, "four steps and an evaluation on /metrics", timeoutMs: 120_000);

        families["reweight_train_steps"].Samples[0].Value.Should().Be(1000);
        families["reweight_train_loss"].Samples[0].Value.Should().BeInRange(0, 20);
        families["reweight_valid_loss"].Samples[0].Value.Should().BeInRange(0, 20);
        families["reweight_learning_rate"].Samples[0].Value.Should().BeGreaterThan(0);
        families["reweight_tokens_per_second"].Samples[0].Value.Should().BeGreaterThan(0);
        var lambda = families["reweight_phi_lambda"].Samples;
        lambda.Should().NotBeEmpty().And.OnlyContain(s => s.Value > 0);
        families["reweight_phi_pi"].Samples.Should().HaveCount(lambda.Count, "one lambda and one pi per component of phi");
        lambda.Select(s => s.Labels["component"]).Should().Equal(Enumerable.Range(0, lambda.Count).Select(k => k.ToString()));
        families["reweight_phi_pi"].Samples.Sum(s => s.Value).Should().BeApproximately(1, 1e-9);
        families.ShouldNotReport("reweight_temperature", "meta-em has no softmax temperature");
        families["reweight_up"].Samples[0].Value.Should().Be(1);
        families["reweight_info"].Samples[0].Labels.Should().Contain("run_id", "dash-meta-em").And.Contain("strategy", "meta-em").And.Contain("device", "cpu");
        (await dashboard.Http.GetAsync("/health")).IsSuccessStatusCode.Should().BeTrue();

        var charts = "";
        await DashboardHost.EventuallyAsync(async () => (charts = await dashboard.GetStringAsync("/charts")).Contains("run-line"), "the run's loss curve on /charts",
            timeoutMs: 30_000);
        charts.Should().Contain("chart-loss").And.Contain("dash-meta-em");
    }

    [Fact]
    public async Task A_linupper_run_reports_its_annealed_temperature()
    {
        await using var dashboard = await StartAsync("linupper", steps: 4, idle: TimeSpan.FromSeconds(1));
        // The worker stops the host when the run is done; the figures stay in the metrics singleton.
        await dashboard.Host.WaitForShutdownAsync().WaitAsync(TimeSpan.FromSeconds(120));

        var families = PrometheusTextParser.Parse(await dashboard.Exposition.RenderAsync());
        families["reweight_train_step"].Samples[0].Value.Should().Be(4);
        var r = families["reweight_temperature"].Samples[0].Value;
        r.Should().BeGreaterThan(0.4).And.BeLessThan(100, "annealed from 100 towards 0.4 over half the run");
        families.ShouldNotReport("reweight_phi_lambda");
        families["reweight_up"].Samples[0].Value.Should().Be(0, "the run finished");
        families["reweight_checkpoints_total"].Samples[0].Value.Should().BeGreaterThanOrEqualTo(1);
        dashboard.Metrics.Snapshot().StopReason.Should().Be("completed");
    }
}
