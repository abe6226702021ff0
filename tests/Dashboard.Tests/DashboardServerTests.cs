using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Reweighting.Contracts;
using Reweighting.Contracts.Control;
using Reweighting.Messaging;
using Xunit;

namespace Reweighting.Dashboard.Tests;

public sealed class DashboardServerTests
{
    private static double Value(IReadOnlyDictionary<string, PromFamily> families, string name, params (string Label, string Value)[] labels)
    {
        var family = families.Values.FirstOrDefault(f => f.Samples.Any(s => s.Name == name)) ?? families.GetValueOrDefault(name);
        family.Should().NotBeNull($"{name} is on /metrics");
        var match = family!.Samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Label) == l.Value)).ToList();
        match.Should().ContainSingle($"{name} with labels {string.Join(",", labels)}");
        return match[0].Value;
    }

    [Fact]
    public async Task Health_is_503_until_the_worker_starts_then_200_with_the_component_and_last_batch_time()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer);

        var before = await dashboard.Http.GetAsync("/health");
        before.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        JsonDocument.Parse(await before.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString().Should().Be("starting");

        await dashboard.Events.PublishAsync(new ScorerStarted("scorer-1", "tiny-proxy", null));
        await dashboard.Events.PublishAsync(new BatchScored(Guid.NewGuid(), "scorer-1", 5, 0, null));
        // The bus delivers events of different types concurrently: wait for both.
        await DashboardHost.EventuallyAsync(async () =>
        {
            var response = await dashboard.Http.GetAsync("/health");
            return response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadAsStringAsync()).Contains("\"last_activity\"");
        }, "healthy, with the batch's time");

        var health = JsonDocument.Parse(await dashboard.GetStringAsync("/health")).RootElement;
        health.GetProperty("status").GetString().Should().Be("running");
        health.GetProperty("component").GetString().Should().Be("scorer");
        health.GetProperty("uptime_seconds").GetDouble().Should().BeGreaterThanOrEqualTo(0);
        health.GetProperty("last_activity_kind").GetString().Should().Be("batch");
        health.GetProperty("last_activity").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));

        await dashboard.Events.PublishAsync(new ScorerStopped("scorer-1", 5, "shutdown"));
        await DashboardHost.EventuallyAsync(async () => (await dashboard.Http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable, "stopped");
        JsonDocument.Parse(await dashboard.GetStringAsync("/status")).RootElement.GetProperty("status").GetString().Should().Be("stopped");
    }

    private sealed class FailingWorker : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException("the worker broke");
        }
    }

    [Fact]
    public async Task Health_is_503_failed_when_a_worker_of_the_host_failed_even_after_it_said_it_started()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Trainer, builder =>
        {
            builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
            builder.Services.AddHostedService<FailingWorker>();
        });
        dashboard.Metrics.Observe(new TrainerStarted("run-1", 0, "uniform"));

        await DashboardHost.EventuallyAsync(async () => (await dashboard.Http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable, "failed");
        var health = JsonDocument.Parse(await (await dashboard.Http.GetAsync("/health")).Content.ReadAsStringAsync()).RootElement;
        health.GetProperty("status").GetString().Should().Be("failed");
        health.GetProperty("component").GetString().Should().Be("trainer");
    }

    [Fact]
    public async Task Metrics_are_strict_Prometheus_text_with_the_scorers_figures()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer);
        var metrics = dashboard.Metrics;
        metrics.DeviceInUse("cuda:0", () => 123_456_789);
        metrics.ScorerRunning(() => new ScorerTotals(Documents: 1200, Tokens: 345_678, DeadLetters: 7, Batches: 12, InFlightRecords: 3, Outages: 1));
        for (var ms = 1; ms <= 1000; ms++) metrics.BatchLatency(TimeSpan.FromMilliseconds(ms));
        metrics.ConsumerStatistics(LibrdkafkaStatistics);
        await dashboard.Events.PublishAsync(new ScorerStarted("scorer \"one\"", "tiny-proxy", 2));
        await dashboard.Events.PublishAsync(new GmmRefitted(3, "tiny-proxy", 3, 500, -1.5));
        await DashboardHost.EventuallyAsync(() => Task.FromResult(metrics.Snapshot().GmmVersion == 3), "the refit event");

        var response = await dashboard.Http.GetAsync("/metrics");
        response.Content.Headers.ContentType!.ToString().Should().Be("text/plain; version=0.0.4; charset=utf-8");
        var families = PrometheusTextParser.Parse(await response.Content.ReadAsStringAsync());

        families["reweight_documents_scored_total"].Type.Should().Be("counter");
        Value(families, "reweight_documents_scored_total").Should().Be(1200);
        Value(families, "reweight_tokens_scored_total").Should().Be(345_678);
        Value(families, "reweight_dead_letters_total").Should().Be(7);
        Value(families, "reweight_batches_scored_total").Should().Be(12);
        Value(families, "reweight_in_flight_records").Should().Be(3);
        families["reweight_batch_latency_seconds"].Type.Should().Be("summary");
        // The library estimates quantiles within a rank error of 5%, 1% and 0.1% of the 1,000 latencies (1 ms to 1 s).
        Value(families, "reweight_batch_latency_seconds", ("quantile", "0.5")).Should().BeInRange(0.45, 0.55);
        Value(families, "reweight_batch_latency_seconds", ("quantile", "0.9")).Should().BeInRange(0.89, 0.91);
        Value(families, "reweight_batch_latency_seconds", ("quantile", "0.99")).Should().BeInRange(0.989, 0.991);
        Value(families, "reweight_batch_latency_seconds_sum").Should().BeApproximately(500.5, 1e-6);
        Value(families, "reweight_batch_latency_seconds_count").Should().Be(1000);
        families["reweight_consumer_lag"].Type.Should().Be("gauge");
        Value(families, "reweight_consumer_lag", ("topic", "documents"), ("partition", "0")).Should().Be(40);
        Value(families, "reweight_consumer_lag", ("topic", "documents"), ("partition", "1")).Should().Be(7);
        families["reweight_consumer_lag"].Samples.Should().HaveCount(2, "partition -1 and a partition with no lag yet are left out");
        Value(families, "reweight_gmm_version").Should().Be(3);
        Value(families, "reweight_gpu_memory_bytes", ("device", "cuda:0")).Should().Be(123_456_789);
        Value(families, "reweight_up").Should().Be(1);
        Value(families, "reweight_info", ("service", "scorer"), ("instance", "scorer \"one\""), ("model", "tiny-proxy")).Should().Be(1);
        families.Should().ContainKeys("reweight_documents_per_second", "reweight_tokens_per_second", "reweight_uptime_seconds");
        families.Keys.Should().NotContain(k => k.StartsWith("reweight_train") || k.StartsWith("reweight_phi"), "a scorer has no training figures");

        // What the client library gives any .NET process: its resources and the runtime's GC, JIT and thread pool.
        families["process_cpu_seconds_total"].Type.Should().Be("counter");
        Value(families, "process_cpu_seconds_total").Should().BeGreaterThan(0);
        Value(families, "process_working_set_bytes").Should().BeGreaterThan(0);
        Value(families, "process_start_time_seconds").Should().BeApproximately(
            DateTimeOffset.UtcNow.ToUnixTimeSeconds() - Environment.TickCount64 / 1000.0, 3600 * 24 * 365, "a Unix time, not an uptime");
        families["dotnet_collection_count_total"].Samples.Select(s => s.Labels["generation"]).Should().Contain(["0", "1", "2"]);
        Value(families, "dotnet_total_memory_bytes").Should().BeGreaterThan(0);
        Value(families, "system_runtime_dotnet_jit_compiled_methods").Should().BeGreaterThan(0);
        families.Should().ContainKeys("system_runtime_dotnet_gc_collections", "system_runtime_dotnet_thread_pool_thread_count",
            "system_runtime_dotnet_gc_pause_time");
    }

    [Fact]
    public async Task Metrics_of_the_trainer_carry_step_losses_temperature_and_phi_per_cluster_and_nothing_on_a_cpu()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Trainer);
        var metrics = dashboard.Metrics;
        metrics.DeviceInUse("cpu", null);
        await dashboard.Events.PublishAsync(new TrainerStarted("run-7", 0, "meta-em"));
        metrics.TrainerStep(new TrainerStepFigures(40, 100, 3.25, 6e-4, 12_500, ValidationLoss: 3.5, Temperature: null, [2.0, 0.5, 1.25], [0.5, 0.3, 0.2]));
        metrics.TrainerStep(new TrainerStepFigures(41, 100, 3.125, 5e-4, 13_000, ValidationLoss: null, Temperature: double.PositiveInfinity, [2.5, 0.5, 1.25], [0.5, 0.25, 0.25]));
        await dashboard.Events.PublishAsync(new TrainerCheckpointed("run-7", 40, "/tmp/ckpt", [new ConsumerOffset("trainer", "scored-batches", 0, 9)]));
        await DashboardHost.EventuallyAsync(() => Task.FromResult(metrics.Snapshot().CheckpointStep == 40), "the checkpoint event");

        var families = PrometheusTextParser.Parse(await dashboard.GetStringAsync("/metrics"));
        Value(families, "reweight_train_step").Should().Be(41);
        Value(families, "reweight_train_steps").Should().Be(100);
        Value(families, "reweight_train_loss").Should().Be(3.125);
        Value(families, "reweight_valid_loss").Should().Be(3.5, "the last evaluation's loss stays until the next");
        Value(families, "reweight_learning_rate").Should().Be(5e-4);
        Value(families, "reweight_tokens_per_second").Should().Be(13_000);
        Value(families, "reweight_temperature").Should().Be(double.PositiveInfinity, "burn-in's temperature is +Inf");
        Value(families, "reweight_phi_lambda", ("component", "0")).Should().Be(2.5);
        Value(families, "reweight_phi_lambda", ("component", "2")).Should().Be(1.25);
        Value(families, "reweight_phi_pi", ("component", "1")).Should().Be(0.25);
        families["reweight_phi_pi"].Samples.Sum(s => s.Value).Should().BeApproximately(1, 1e-12);
        Value(families, "reweight_checkpoints_total").Should().Be(1);
        Value(families, "reweight_checkpoint_step").Should().Be(40);
        Value(families, "reweight_info", ("service", "trainer"), ("run_id", "run-7"), ("strategy", "meta-em"), ("device", "cpu")).Should().Be(1);
        families.ShouldNotReport("reweight_gpu_memory_bytes", "a CPU has no CUDA memory to report");
        families.Should().NotContainKey("reweight_documents_scored_total");

        var status = JsonDocument.Parse(await dashboard.GetStringAsync("/status")).RootElement;
        status.GetProperty("step").GetInt64().Should().Be(41);
        status.GetProperty("temperature").GetString().Should().Be("Infinity", "JSON has no infinity; the page shows it as ∞");
        status.GetProperty("phi").GetArrayLength().Should().Be(3);
        status.GetProperty("phi")[0].GetProperty("lambda").GetDouble().Should().Be(2.5);
    }

    [Fact]
    public async Task A_scraper_that_asks_for_OpenMetrics_gets_it_and_anyone_else_the_text_format()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        var response = await dashboard.Http.SendAsync(request);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/openmetrics-text");
        var body = await response.Content.ReadAsStringAsync();
        body.Should().EndWith("# EOF\n").And.Contain("# TYPE reweight_documents_scored counter").And.Contain("\nreweight_documents_scored_total 0");

        var plain = await dashboard.Http.GetAsync("/metrics");
        plain.Content.Headers.ContentType!.MediaType.Should().Be("text/plain");
        (await plain.Content.ReadAsStringAsync()).Should().NotContain("# EOF");
    }

    [Fact]
    public async Task The_page_is_self_contained_and_names_the_live_figures()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer);
        var response = await dashboard.Http.GetAsync("/");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<title>reweight scorer dashboard</title>");
        foreach (var field in new[] { "documents-per-second", "tokens-per-second", "lag-total", "latency-p50", "gpu-memory", "temperature", "loss" })
            html.Should().Contain($"data-field=\"{field}\"");
        html.Should().Contain("fetch(\"status\"").And.Contain("fetch(\"charts\"").And.Contain("setInterval(refreshCharts, 15000)");
        Regex.IsMatch(html, "(src|href)=\"(https?:)?//").Should().BeFalse("the page loads nothing from elsewhere");
        (await dashboard.Http.GetAsync("/charts")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await dashboard.GetStringAsync("/charts")).Should().Contain("no-database");
    }

    [Fact]
    public async Task It_binds_loopback_only_by_default_and_port_0_reports_the_port_it_got()
    {
        new DashboardOptions().ListenUrls(DashboardComponents.Scorer).Should().Equal("http://127.0.0.1:9464");
        new DashboardOptions().ListenUrls(DashboardComponents.Trainer).Should().Equal("http://127.0.0.1:9465");
        new DashboardOptions { Urls = "http://0.0.0.0:9000; http://localhost:9001" }.ListenUrls("scorer").Should().Equal("http://0.0.0.0:9000", "http://localhost:9001");

        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer);
        var address = new Uri(dashboard.Server.Addresses.Should().ContainSingle().Subject);
        address.Host.Should().Be("127.0.0.1");
        address.Port.Should().BeGreaterThan(0);
        (await dashboard.Http.GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.OK);

        // From another interface of this machine, nothing answers.
        var external = (await Dns.GetHostAddressesAsync(Dns.GetHostName()))
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (external is not null)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var connect = () => socket.Connect(new IPEndPoint(external, address.Port));
            connect.Should().Throw<SocketException>();
        }
    }

    [Fact]
    public async Task A_busy_default_port_leaves_the_service_running_without_a_dashboard_but_a_chosen_busy_address_fails_the_start()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var busy = ((IPEndPoint)holder.LocalEndpoint).Port;

        var chosen = async () => await DashboardHost.StartAsync(DashboardComponents.Scorer, settings: new Dictionary<string, string?> { ["Dashboard:Urls"] = $"http://127.0.0.1:{busy}" });
        (await chosen.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("Dashboard:Urls").And.Contain(busy.ToString());

        // The default port: held here unless something else already holds it; busy either way.
        TcpListener? defaultHolder = null;
        try
        {
            defaultHolder = new TcpListener(IPAddress.Loopback, DashboardOptions.ScorerPort);
            defaultHolder.Start();
        }
        catch (SocketException)
        {
            defaultHolder = null;
        }
        try
        {
            var logs = new CollectingLogs();
            await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer, settings: new Dictionary<string, string?> { ["Dashboard:Urls"] = null }, logs: logs);
            dashboard.Server.Addresses.Should().BeEmpty();
            logs.Lines.Should().Contain(l => l.StartsWith("Warning") && l.Contains("running without it") && l.Contains("Dashboard:Urls"));
        }
        finally
        {
            defaultHolder?.Stop();
        }

        // Free again (when this test was the one holding it): the default is the loopback address on the scorer's port.
        if (defaultHolder is not null)
        {
            await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Scorer, settings: new Dictionary<string, string?> { ["Dashboard:Urls"] = null });
            dashboard.Server.Addresses.Should().Equal($"http://127.0.0.1:{DashboardOptions.ScorerPort}");
        }
    }

    [Fact]
    public async Task Disabled_it_listens_nowhere()
    {
        await using var dashboard = await DashboardHost.StartAsync(DashboardComponents.Trainer, settings: new Dictionary<string, string?> { ["Dashboard:Enabled"] = "false" });
        dashboard.Server.Addresses.Should().BeEmpty();
    }

    [Fact]
    public async Task Bad_urls_fail_the_start_naming_the_setting()
    {
        var start = async () => await DashboardHost.StartAsync(DashboardComponents.Scorer, settings: new Dictionary<string, string?> { ["Dashboard:Urls"] = "https://example:1" });
        (await start.Should().ThrowAsync<Microsoft.Extensions.Options.OptionsValidationException>()).Which.Message.Should().Contain("Dashboard:Urls");
    }

    [Fact]
    public void Consumer_lag_is_read_from_librdkafka_statistics_preferring_the_stored_offsets_lag()
    {
        var lag = ConsumerLagStatistics.Parse(LibrdkafkaStatistics)!;
        lag.Should().BeEquivalentTo(new Dictionary<(string, int), long> { [("documents", 0)] = 40, [("documents", 1)] = 7 });
        ConsumerLagStatistics.Parse("not json").Should().BeNull();
        ConsumerLagStatistics.Parse("{\"name\": \"x\"}").Should().BeNull();
    }

    [Fact]
    public void Throughput_is_the_rate_over_the_last_half_minute()
    {
        var time = new ManualTime(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var metrics = new PipelineMetrics(DashboardComponents.Scorer, time);
        long documents = 0, tokens = 0;
        metrics.ScorerRunning(() => new ScorerTotals(documents, tokens, 0, 0, 0, 0));
        metrics.Snapshot().DocumentsPerSecond.Should().Be(0);
        for (var second = 1; second <= 60; second++)
        {
            time.Now = time.Now.AddSeconds(1);
            documents += second <= 30 ? 10 : 20;
            tokens += second <= 30 ? 1000 : 3000;
            metrics.Snapshot();
        }
        var snapshot = metrics.Snapshot();
        snapshot.DocumentsPerSecond.Should().BeApproximately(20, 0.01);
        snapshot.ScoredTokensPerSecond.Should().BeApproximately(3000, 0.01);
    }

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    // Trimmed from a real librdkafka consumer's statistics: the internal partition -1, a partition with no lag yet.
    internal const string LibrdkafkaStatistics = """
        {"name":"scorer#consumer-1","type":"consumer","ts":1,"topics":{"documents":{"topic":"documents","partitions":{
          "0":{"partition":0,"hi_offset":140,"committed_offset":90,"stored_offset":100,"consumer_lag":50,"consumer_lag_stored":40},
          "1":{"partition":1,"hi_offset":17,"committed_offset":10,"stored_offset":-1001,"consumer_lag":7,"consumer_lag_stored":-1},
          "2":{"partition":2,"hi_offset":-1,"consumer_lag":-1,"consumer_lag_stored":-1},
          "-1":{"partition":-1,"consumer_lag":-1}}}}}
        """;
}
