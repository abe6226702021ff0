using FluentAssertions;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;
using Xunit;

namespace Reweighting.Dashboard.Tests;

/// <summary>The registry behind /metrics, scraped without a server: figures come and go with what the service knows.</summary>
public sealed class MetricsExpositionTests
{
    private static async Task<IReadOnlyDictionary<string, PromFamily>> ScrapeAsync(MetricsExposition exposition) =>
        PrometheusTextParser.Parse(await exposition.RenderAsync());

    [Fact]
    public async Task The_info_series_follows_the_services_labels_and_a_figure_that_becomes_unknown_loses_its_sample()
    {
        var metrics = new PipelineMetrics(DashboardComponents.Scorer);
        using var exposition = new MetricsExposition(metrics, processMetrics: false);

        var before = await ScrapeAsync(exposition);
        before["reweight_info"].Samples.Should().ContainSingle().Which.Labels["device"].Should().BeEmpty();
        before.ShouldNotReport("reweight_gpu_memory_bytes");
        before.ShouldNotReport("reweight_in_flight_records", "no totals are hooked up yet");
        before.ShouldNotReport("reweight_gmm_version");
        before.Keys.Should().NotContain(k => k.StartsWith("process_") || k.StartsWith("dotnet_"), "process metrics were not asked for");

        var memory = 4096L;
        metrics.DeviceInUse("cuda:1", () => memory > 0 ? memory : throw new InvalidOperationException("no device"));
        metrics.Observe(new ScorerStarted("scorer-2", "tiny-proxy", 5));
        metrics.ScorerRunning(() => new ScorerTotals(10, 100, 1, 2, InFlightRecords: 4, Outages: 0));
        var running = await ScrapeAsync(exposition);
        var info = running["reweight_info"].Samples.Should().ContainSingle("the old label set is removed").Subject;
        info.Labels.Should().Contain("device", "cuda:1").And.Contain("instance", "scorer-2").And.Contain("model", "tiny-proxy");
        running["reweight_gpu_memory_bytes"].Samples.Should().ContainSingle().Which.Value.Should().Be(4096);
        running["reweight_in_flight_records"].Samples.Should().ContainSingle().Which.Value.Should().Be(4);
        running["reweight_gmm_version"].Samples.Should().ContainSingle().Which.Value.Should().Be(5);
        running["reweight_documents_scored_total"].Samples.Should().ContainSingle().Which.Value.Should().Be(10);

        memory = 0;
        var lost = await ScrapeAsync(exposition);
        lost.ShouldNotReport("reweight_gpu_memory_bytes", "a failing read leaves the figure out");
    }

    [Fact]
    public async Task Clusters_that_disappear_leave_no_stale_series()
    {
        var trainer = new PipelineMetrics(DashboardComponents.Trainer);
        using var exposition = new MetricsExposition(trainer, processMetrics: false);
        trainer.TrainerStep(new TrainerStepFigures(1, 10, 3.0, 1e-3, 100, null, 2.0, [1.0, 2.0, 3.0], [0.2, 0.3, 0.5]));
        (await ScrapeAsync(exposition))["reweight_phi_lambda"].Samples.Should().HaveCount(3);

        trainer.TrainerStep(new TrainerStepFigures(2, 10, 2.9, 1e-3, 100, null, null, [1.5, 2.5], [0.4, 0.6]));
        var families = await ScrapeAsync(exposition);
        families["reweight_phi_lambda"].Samples.Select(s => s.Labels["component"]).Should().Equal("0", "1");
        families["reweight_phi_pi"].Samples.Select(s => s.Value).Should().Equal(0.4, 0.6);
        families.ShouldNotReport("reweight_temperature", "the step has no temperature any more");
        families.ShouldNotReport("reweight_valid_loss", "no evaluation yet");
        families.Keys.Should().NotContain("reweight_documents_scored_total", "a trainer has no scorer figures");
    }

    [Fact]
    public async Task A_trainer_told_its_run_ended_is_down_without_waiting_for_the_event()
    {
        var trainer = new PipelineMetrics(DashboardComponents.Trainer);
        using var exposition = new MetricsExposition(trainer, processMetrics: false);
        trainer.TrainerStep(new TrainerStepFigures(1, 4, 3.0, 1e-3, 100, null, null, null, null));
        (await ScrapeAsync(exposition))["reweight_up"].Samples[0].Value.Should().Be(1);

        trainer.TrainerStopped("completed");
        (await ScrapeAsync(exposition))["reweight_up"].Samples[0].Value.Should().Be(0);
        trainer.Snapshot().StopReason.Should().Be("completed");

        trainer.Observe(new TrainerStopped("run-1", 4, "completed"));
        trainer.Snapshot().State.Should().Be(WorkerState.Stopped, "the late event agrees with what the worker said");
        trainer.TrainerStopped("fatal: out of memory");
        trainer.Snapshot().State.Should().Be(WorkerState.Failed);
    }

    [Fact]
    public async Task Infinite_values_are_spelled_as_the_text_format_says_and_only_in_sample_values()
    {
        var trainer = new PipelineMetrics(DashboardComponents.Trainer);
        using var exposition = new MetricsExposition(trainer, processMetrics: false);
        trainer.TrainerStep(new TrainerStepFigures(1, 10, double.NegativeInfinity, 1e-3, 100, null, double.PositiveInfinity, null, null));

        var text = await exposition.RenderAsync();
        text.Should().Contain("\nreweight_temperature +Inf\n").And.Contain("\nreweight_train_loss -Inf\n").And.NotContain("Infinity");
        PrometheusTextParser.Parse(text)["reweight_temperature"].Samples[0].Value.Should().Be(double.PositiveInfinity);
        MetricsExposition.SpellInfinities("# HELP a Up to Infinity\n# TYPE a gauge\na{l=\"x\"} Infinity\n")
            .Should().Be("# HELP a Up to Infinity\n# TYPE a gauge\na{l=\"x\"} +Inf\n");
    }
}
