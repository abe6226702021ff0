using System.Text.Json;
using System.Text.Json.Serialization;
using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>The JSON of /health and /status.</summary>
internal static class StatusDocument
{
    // Temperatures are +Inf in burn-in and a diverged loss is NaN: JSON has no such numbers, so they travel as strings.
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>/health: 200 while the worker runs (status "running", or "degraded" when the control bus does not deliver:
    /// the data path does not need it), 503 before it starts, after it stops and when a worker of the host failed.</summary>
    public static (bool Healthy, string Json) Health(MetricsSnapshot s, ServiceState service)
    {
        var status = StatusOf(s, service);
        return (status is "running" or "degraded", JsonSerializer.Serialize(new
        {
            Status = status,
            ControlBus = Bus(service),
            s.Component,
            UptimeSeconds = Math.Round(s.UptimeSeconds, 3),
            s.StartedAt,
            LastActivity = s.LastActivity,
            LastActivityKind = s.Component == DashboardComponents.Trainer ? "step" : "batch",
            s.StopReason,
        }, Json));
    }

    /// <summary>/status: everything the page shows.</summary>
    public static string Status(MetricsSnapshot s, ServiceState service) => JsonSerializer.Serialize(new
    {
        Status = StatusOf(s, service),
        ControlBus = Bus(service),
        s.Component,
        UptimeSeconds = Math.Round(s.UptimeSeconds, 3),
        s.LastActivity,
        s.StopReason,
        s.Device,
        s.GpuMemoryBytes,
        s.Instance,
        s.ScorerModel,
        s.Documents,
        s.Tokens,
        s.DeadLetters,
        s.Batches,
        s.InFlightRecords,
        s.DocumentsPerSecond,
        TokensPerSecond = s.Component == DashboardComponents.Trainer ? s.Step?.TokensPerSecond ?? 0 : s.ScoredTokensPerSecond,
        BatchLatencySeconds = s.LatencyQuantiles.Count == 0 ? null : s.LatencyQuantiles.ToDictionary(q => $"p{q.Quantile * 100:0.#}", q => q.Seconds),
        ConsumerLag = s.ConsumerLag.Select(l => new { l.Topic, l.Partition, l.Lag }),
        s.GmmVersion,
        s.RunId,
        s.Strategy,
        Step = s.Step?.Step,
        TotalSteps = s.Step?.TotalSteps,
        Loss = s.Step?.Loss,
        ValidLoss = s.ValidationLoss,
        LearningRate = s.Step?.LearningRate,
        Temperature = s.Step?.Temperature,
        Phi = s.Step?.PhiPrecisions is { } lambda
            ? lambda.Select((l, k) => new { Component = k, Lambda = l, Pi = s.Step.PhiMixingWeights?.ElementAtOrDefault(k) })
            : null,
        s.CheckpointStep,
    }, Json);

    // The worker's own outcome outranks the events: a worker that ended is stopped (or failed) whatever the bus said.
    private static string StatusOf(MetricsSnapshot s, ServiceState service) =>
        service.Worker switch
        {
            WorkerOutcome.Failed => "failed",
            WorkerOutcome.Ended when s.State != WorkerState.Failed => "stopped",
            _ => s.State switch
            {
                WorkerState.Running => service.BusProblem is null ? "running" : "degraded",
                WorkerState.Stopped => "stopped",
                WorkerState.Failed => "failed",
                _ => "starting",
            },
        };

    private static object? Bus(ServiceState service) => service.Bus is not { } bus
        ? null
        : new { Status = service.BusProblem is null ? "healthy" : "degraded", bus.Published, bus.Delivered, bus.Failed, bus.LastDelivered, Detail = service.BusProblem };
}

/// <summary>How a service's worker ended, as its host knows it.</summary>
internal enum WorkerOutcome
{
    /// <summary>Still running, or not started.</summary>
    None,

    /// <summary>Its loop returned.</summary>
    Ended,

    /// <summary>Its loop threw.</summary>
    Failed,
}

/// <summary>What the host knows of a service beside its events: how its worker ended, and whether the control bus
/// delivers (<paramref name="Bus"/>, with <paramref name="BusProblem"/> saying why it does not, from the delivery
/// monitor or MassTransit's own health check).</summary>
internal sealed record ServiceState(WorkerOutcome Worker, ControlBusState? Bus, string? BusProblem)
{
    public static readonly ServiceState Unknown = new(WorkerOutcome.None, null, null);
}
