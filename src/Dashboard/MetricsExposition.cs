using System.Globalization;

namespace Reweighting.Dashboard;

/// <summary>The /metrics page: a <see cref="MetricsSnapshot"/> as Prometheus families named reweight_*. A family whose
/// figure is not known yet (no step taken, CPU only, no lag reported) is left out rather than reported as 0.</summary>
public static class MetricsExposition
{
    /// <summary>The content type /metrics answers with.</summary>
    public const string ContentType = PrometheusText.ContentType;

    /// <summary>The exposition text of <paramref name="s"/>.</summary>
    public static string Render(MetricsSnapshot s)
    {
        var p = new PrometheusText();
        p.Family("reweight_info", "gauge", "The service: component, device, scorer instance and model, training run and strategy (always 1).")
            .Sample("reweight_info", 1, [.. Labels(("service", s.Component), ("device", s.Device), ("instance", s.Instance), ("model", s.ScorerModel),
                ("run_id", s.RunId), ("strategy", s.Strategy))]);
        p.Single("reweight_up", "gauge", "1 while the service's worker runs, 0 before it starts and after it stops.", s.State == WorkerState.Running ? 1 : 0);
        p.Single("reweight_uptime_seconds", "gauge", "Seconds since the service started.", s.UptimeSeconds);
        if (s.GpuMemoryBytes is { } memory && s.Device is { } device)
            p.Family("reweight_gpu_memory_bytes", "gauge", "Bytes held by tensors on the CUDA device (torch.cuda.memory_allocated).")
                .Sample("reweight_gpu_memory_bytes", memory, ("device", device));
        if (s.GmmVersion is { } gmm) p.Single("reweight_gmm_version", "gauge", "The GMM version labelling documents.", gmm);
        if (s.Component == DashboardComponents.Scorer) Scorer(p, s);
        if (s.Component == DashboardComponents.Trainer) Trainer(p, s);
        return p.ToString();
    }

    private static void Scorer(PrometheusText p, MetricsSnapshot s)
    {
        p.Single("reweight_documents_scored_total", "counter", "Documents scored and stored in PostgreSQL.", s.Documents);
        p.Single("reweight_tokens_scored_total", "counter", "Tokens of the scored documents.", s.Tokens);
        p.Single("reweight_dead_letters_total", "counter", "Records sent to the dead-letter topic.", s.DeadLetters);
        p.Single("reweight_batches_scored_total", "counter", "Batches committed to PostgreSQL.", s.Batches);
        p.Single("reweight_documents_per_second", "gauge", "Documents stored per second over the last 30 seconds.", s.DocumentsPerSecond);
        p.Single("reweight_tokens_per_second", "gauge", "Tokens scored per second over the last 30 seconds.", s.ScoredTokensPerSecond);
        p.Family("reweight_batch_latency_seconds", "summary",
            $"Seconds from a batch's first consumed record to its commit; quantiles over the last {PipelineMetrics.LatencyWindow} batches.");
        foreach (var (quantile, seconds) in s.LatencyQuantiles)
            p.Sample("reweight_batch_latency_seconds", seconds, ("quantile", quantile.ToString(CultureInfo.InvariantCulture)));
        p.Sample("reweight_batch_latency_seconds_sum", s.LatencySum).Sample("reweight_batch_latency_seconds_count", s.LatencyCount);
        if (s.ConsumerLag.Count > 0)
        {
            p.Family("reweight_consumer_lag", "gauge", "Messages between the partition's high watermark and the scorer's stored offset.");
            foreach (var lag in s.ConsumerLag)
                p.Sample("reweight_consumer_lag", lag.Lag, ("topic", lag.Topic), ("partition", lag.Partition.ToString(CultureInfo.InvariantCulture)));
        }
        if (s.InFlightRecords is { } inFlight) p.Single("reweight_in_flight_records", "gauge", "Records consumed and not yet stored.", inFlight);
        if (s.Outages is { } outages) p.Single("reweight_store_outages_total", "counter", "Times PostgreSQL (or Kafka) became unreachable and consumption paused.", outages);
    }

    private static void Trainer(PrometheusText p, MetricsSnapshot s)
    {
        p.Single("reweight_checkpoints_total", "counter", "Checkpoints written since the service started.", s.Checkpoints);
        if (s.CheckpointStep is { } checkpointStep) p.Single("reweight_checkpoint_step", "gauge", "The step of the last checkpoint.", checkpointStep);
        if (s.Step is not { } step) return;
        p.Single("reweight_train_step", "gauge", "Optimiser steps taken in the run.", step.Step);
        p.Single("reweight_train_steps", "gauge", "The run's length in steps.", step.TotalSteps);
        p.Single("reweight_train_loss", "gauge", "Mean token loss of the last step.", step.Loss);
        if (s.ValidationLoss is { } valid) p.Single("reweight_valid_loss", "gauge", "Validation loss (all domains) of the last evaluation.", valid);
        p.Single("reweight_learning_rate", "gauge", "Learning rate of the last step.", step.LearningRate);
        p.Single("reweight_tokens_per_second", "gauge", "Training tokens per second of the last step.", step.TokensPerSecond);
        if (step.Temperature is { } r)
            p.Single("reweight_temperature", "gauge", "Softmax temperature r of the loss-shape strategies (+Inf in burn-in).", r);
        if (step.PhiPrecisions is { } lambda)
        {
            p.Family("reweight_phi_lambda", "gauge", "Meta-EM cluster precision lambda_k.");
            for (var k = 0; k < lambda.Count; k++) p.Sample("reweight_phi_lambda", lambda[k], ("component", k.ToString(CultureInfo.InvariantCulture)));
        }
        if (step.PhiMixingWeights is { } pi)
        {
            p.Family("reweight_phi_pi", "gauge", "Meta-EM cluster mixing weight pi_k.");
            for (var k = 0; k < pi.Count; k++) p.Sample("reweight_phi_pi", pi[k], ("component", k.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private static IEnumerable<(string, string)> Labels(params (string Name, string? Value)[] labels) =>
        labels.Where(l => l.Value is not null).Select(l => (l.Name, l.Value!));
}
