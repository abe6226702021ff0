using System.Text.Json;
using System.Text.Json.Serialization;

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

    /// <summary>/health: healthy (200) only while the worker runs and no worker of the host has failed.</summary>
    public static (bool Healthy, string Json) Health(MetricsSnapshot s, bool workerFailed)
    {
        var status = StatusOf(s, workerFailed);
        return (status == "running", JsonSerializer.Serialize(new
        {
            Status = status,
            s.Component,
            UptimeSeconds = Math.Round(s.UptimeSeconds, 3),
            s.StartedAt,
            LastActivity = s.LastActivity,
            LastActivityKind = s.Component == DashboardComponents.Trainer ? "step" : "batch",
            s.StopReason,
        }, Json));
    }

    /// <summary>/status: everything the page shows.</summary>
    public static string Status(MetricsSnapshot s, bool workerFailed) => JsonSerializer.Serialize(new
    {
        Status = StatusOf(s, workerFailed),
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

    private static string StatusOf(MetricsSnapshot s, bool workerFailed) =>
        workerFailed ? "failed" : s.State switch
        {
            WorkerState.Running => "running",
            WorkerState.Stopped => "stopped",
            WorkerState.Failed => "failed",
            _ => "starting",
        };
}
