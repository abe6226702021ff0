using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reweighting.Messaging;

namespace Reweighting.Dashboard.Tests;

/// <summary>A Generic Host with the control bus and a dashboard on a free loopback port (no worker unless a test adds one).</summary>
public sealed class DashboardHost : IAsyncDisposable
{
    private DashboardHost(IHost host)
    {
        Host = host;
        Server = host.Services.GetRequiredService<DashboardServer>();
        Metrics = host.Services.GetRequiredService<PipelineMetrics>();
        Exposition = host.Services.GetRequiredService<MetricsExposition>();
        Events = host.Services.GetRequiredService<IControlEvents>();
        if (Server.Addresses.Count > 0) Http.BaseAddress = new Uri(Server.Addresses[0]);
    }

    public IHost Host { get; }
    public DashboardServer Server { get; }
    public PipelineMetrics Metrics { get; }
    public MetricsExposition Exposition { get; }
    public IControlEvents Events { get; }
    public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Starts a host for <paramref name="component"/>; <paramref name="settings"/> are configuration keys over
    /// Dashboard:Urls=http://127.0.0.1:0.</summary>
    public static async Task<DashboardHost> StartAsync(string component, Action<HostApplicationBuilder>? configure = null,
        IReadOnlyDictionary<string, string?>? settings = null, ILoggerProvider? logs = null, Action<MassTransit.IBusRegistrationConfigurator>? bus = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Dashboard:Urls"] = "http://127.0.0.1:0" });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        if (logs is not null) builder.Logging.AddProvider(logs);
        builder.Services.AddControlBus(bus);
        builder.Services.AddDashboard(builder.Configuration, component);
        configure?.Invoke(builder);
        var host = builder.Build();
        await host.StartAsync();
        return new DashboardHost(host);
    }

    public Task<string> GetStringAsync(string path) => Http.GetStringAsync(path);

    /// <summary>Polls until <paramref name="condition"/> holds (events travel the bus asynchronously).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int timeoutMs = 15_000)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.ElapsedMilliseconds > timeoutMs) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(25);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            await Host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            if (Host is IAsyncDisposable disposable) await disposable.DisposeAsync();
            else Host.Dispose();
        }
    }
}

/// <summary>Collects log lines (for tests that check a warning).</summary>
public sealed class CollectingLogs : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines) return [.. _lines];
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(CollectingLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            lock (owner._lines) owner._lines.Add($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
