namespace Reweighting.Dashboard;

/// <summary>Settings of a service's dashboard (configuration section "Dashboard").</summary>
public sealed record DashboardOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Dashboard";

    /// <summary>The scorer's default port (Prometheus' range of exporter ports).</summary>
    public const int ScorerPort = 9464;

    /// <summary>The trainer's default port, so a scorer and a trainer can run side by side.</summary>
    public const int TrainerPort = 9465;

    /// <summary>Whether the service serves the dashboard, /health and /metrics.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Where to listen, ";"-separated (e.g. "http://0.0.0.0:9464"); null: 127.0.0.1 on the component's default
    /// port. Port 0 picks a free port (see <see cref="DashboardServer.Addresses"/>).</summary>
    public string? Urls { get; init; }

    /// <summary>How often the page refreshes the charts read from PostgreSQL.</summary>
    public TimeSpan ChartsInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The addresses to listen on for <paramref name="component"/>: <see cref="Urls"/>, else its default.</summary>
    public IReadOnlyList<string> ListenUrls(string component)
    {
        if (!string.IsNullOrWhiteSpace(Urls))
            return Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return [$"http://127.0.0.1:{(component == DashboardComponents.Trainer ? TrainerPort : ScorerPort)}"];
    }

    /// <summary>The first problem with these settings, or null.</summary>
    public string? Problem()
    {
        if (ChartsInterval < TimeSpan.FromSeconds(1)) return "Dashboard:ChartsInterval must be at least one second";
        if (Urls is null) return null;
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            // Kestrel's forms: http://127.0.0.1:9464, http://localhost:0, http://*:9464, http://+:9464.
            if (!url.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || url.Length <= "http://".Length)
                return $"Dashboard:Urls: '{url}' is not an http://host:port address";
        return null;
    }
}

/// <summary>The services a dashboard can belong to.</summary>
public static class DashboardComponents
{
    /// <summary>The scorer service.</summary>
    public const string Scorer = "scorer";

    /// <summary>The trainer service.</summary>
    public const string Trainer = "trainer";
}
