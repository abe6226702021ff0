using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>Serves a service's dashboard (<c>/</c>), <c>/status</c> (JSON for the page), <c>/health</c>, <c>/metrics</c>
/// (Prometheus, through <see cref="MetricsExposition"/>) and <c>/charts</c> (the report's charts from PostgreSQL) with Kestrel,
/// as a hosted service inside the service's own Generic Host. It also connects <see cref="PipelineMetricsConsumer"/> to the
/// control bus when the host has one. Registered before the worker, it is listening before the worker starts.</summary>
public sealed class DashboardServer(
    PipelineMetrics metrics, MetricsExposition exposition, IOptions<DashboardOptions> options, IServiceProvider services,
    ILoggerFactory loggers, ChartsFragment charts)
    : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggers.CreateLogger<DashboardServer>();
    private WebApplication? _app;
    private HostReceiveEndpointHandle? _events;

    /// <summary>The addresses Kestrel listens on, with the ports it bound (port 0 resolved); empty until started or
    /// when the dashboard is disabled.</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>Connects the bus consumer and starts listening; throws when an address cannot be bound.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        await ConnectEventsAsync(cancellationToken);
        if (!settings.Enabled) return;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = typeof(DashboardServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrelCore().UseUrls([.. settings.ListenUrls(metrics.Component)]);
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging();
        builder.Services.AddSingleton(loggers);
        // The service's host owns Ctrl-C and SIGTERM; this inner host is started and stopped by it.
        builder.Services.AddSingleton<IHostLifetime, InnerLifetime>();
        var app = builder.Build();
        Map(app, settings);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            // Monitoring must not take the pipeline down because something else holds the default port; an address the
            // user asked for is another matter.
            if (string.IsNullOrWhiteSpace(settings.Urls))
            {
                _logger.LogWarning("The {Component}'s dashboard cannot listen on its default address {Urls} ({Reason}); running without it. " +
                    "Set Dashboard:Urls (--dashboard-urls) to a free address", metrics.Component, string.Join(", ", settings.ListenUrls(metrics.Component)),
                    e.GetBaseException().Message);
                return;
            }
            throw new InvalidOperationException(
                $"the {metrics.Component}'s dashboard cannot listen on {string.Join(", ", settings.ListenUrls(metrics.Component))} ({e.GetBaseException().Message}); " +
                "set Dashboard:Urls (--dashboard-urls) to a free address, or Dashboard:Enabled=false", e);
        }
        _app = app;
        Addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        _logger.LogInformation("Dashboard of the {Component}: {Urls} (/health, /metrics)", metrics.Component,
            string.Join(", ", Addresses.Select(a => a + "/")));
    }

    /// <summary>Stops listening and disconnects from the bus.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync(cancellationToken);
            await app.DisposeAsync();
        }
        if (_events is { } events)
        {
            _events = null;
            await events.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is { } app) await app.DisposeAsync();
        _app = null;
    }

    private void Map(WebApplication app, DashboardOptions settings)
    {
        app.MapGet("/", () => Results.Content(DashboardPage.Html(metrics.Component, settings.ChartsInterval), "text/html; charset=utf-8"));
        app.MapGet("/metrics", async (HttpRequest request, CancellationToken ct) =>
        {
            var openMetrics = MetricsExposition.AcceptsOpenMetrics(request.Headers.Accept.ToString());
            return Results.Content(await exposition.RenderAsync(openMetrics, ct),
                openMetrics ? MetricsExposition.OpenMetricsContentType : MetricsExposition.TextContentType);
        });
        app.MapGet("/status", () => Results.Content(StatusDocument.Status(metrics.Snapshot(), State()), "application/json"));
        app.MapGet("/health", () =>
        {
            var health = StatusDocument.Health(metrics.Snapshot(), State());
            return Results.Content(health.Json, "application/json", statusCode: health.Healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/charts", async (CancellationToken ct) => Results.Content(await charts.RenderAsync(metrics.Database, ct), "text/html; charset=utf-8"));
    }

    /// <summary>What the host knows beside the events: a worker whose ExecuteAsync threw failed and one whose ExecuteAsync
    /// returned stopped, whether or not it managed to say so on the bus; the bus is degraded when events wait for delivery
    /// or MassTransit reports it unhealthy.</summary>
    internal ServiceState State()
    {
        var workers = services.GetServices<IHostedService>().OfType<BackgroundService>().Select(s => s.ExecuteTask).ToList();
        var worker = workers.Any(t => t is { IsFaulted: true }) ? WorkerOutcome.Failed
            : workers.Count > 0 && workers.All(t => t is { IsCompleted: true }) ? WorkerOutcome.Ended
            : WorkerOutcome.None;
        var bus = services.GetService<ControlBusMonitor>()?.State();
        var problem = bus?.Detail;
        if (problem is null && services.GetService<IBusControl>() is { } control)
        {
            var health = control.CheckHealth();
            if (health.Status != BusHealthStatus.Healthy) problem = $"MassTransit reports the bus {health.Status.ToString().ToLowerInvariant()}: {health.Description}";
        }
        return new ServiceState(worker, bus, problem);
    }

    private async Task ConnectEventsAsync(CancellationToken ct)
    {
        if (services.GetService<IReceiveEndpointConnector>() is not { } bus) return;
        var consumer = new PipelineMetricsConsumer(metrics);
        var handle = bus.ConnectReceiveEndpoint($"dashboard-{metrics.Component}-{Guid.NewGuid():N}", (_, endpoint) => endpoint.Instance(consumer));
        await handle.Ready.WaitAsync(ct);
        _events = handle;
    }

    private sealed class InnerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
