using Reweighting.Messaging;

namespace Reweighting.Dashboard;

/// <summary>A consumer's lag on one partition: messages between the high watermark and the offset stored after the
/// last committed batch.</summary>
public sealed record PartitionLag(string Topic, int Partition, long Lag);

/// <summary>The figures of a service at one moment, as <see cref="PipelineMetrics.Snapshot"/> reads them.</summary>
public sealed record MetricsSnapshot
{
    /// <summary>"scorer" or "trainer".</summary>
    public required string Component { get; init; }

    /// <summary>Where the worker stands, from its events.</summary>
    public required WorkerState State { get; init; }

    /// <summary>Why it stopped, once it has.</summary>
    public string? StopReason { get; init; }

    /// <summary>When the figures began (the service's start).</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>When they were read.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>The last batch stored (scorer) or step taken (trainer).</summary>
    public DateTimeOffset? LastActivity { get; init; }

    /// <summary>The scorer instance.</summary>
    public string? Instance { get; init; }

    /// <summary>The scorer's proxy model.</summary>
    public string? ScorerModel { get; init; }

    /// <summary>"cpu" or "cuda:N", once known.</summary>
    public string? Device { get; init; }

    /// <summary>Bytes held by tensors on the CUDA device; null on CPU.</summary>
    public long? GpuMemoryBytes { get; init; }

    /// <summary>Documents stored by the scorer.</summary>
    public long Documents { get; init; }

    /// <summary>Tokens of the stored documents.</summary>
    public long Tokens { get; init; }

    /// <summary>Records dead-lettered.</summary>
    public long DeadLetters { get; init; }

    /// <summary>Batches committed.</summary>
    public long Batches { get; init; }

    /// <summary>Records consumed, not yet stored (null when the pipeline's totals are not hooked up).</summary>
    public int? InFlightRecords { get; init; }

    /// <summary>Store outages waited out.</summary>
    public long? Outages { get; init; }

    /// <summary>Documents stored per second over the last half minute.</summary>
    public double DocumentsPerSecond { get; init; }

    /// <summary>Tokens scored per second over the last half minute.</summary>
    public double ScoredTokensPerSecond { get; init; }

    /// <summary>Batches whose latency was measured.</summary>
    public long LatencyCount { get; init; }

    /// <summary>Their latencies' sum, in seconds.</summary>
    public double LatencySum { get; init; }

    /// <summary>(quantile, seconds) over the recent batches; empty before the first.</summary>
    public IReadOnlyList<(double Quantile, double Seconds)> LatencyQuantiles { get; init; } = [];

    /// <summary>Consumer lag per partition, from the last consumer statistics.</summary>
    public IReadOnlyList<PartitionLag> ConsumerLag { get; init; } = [];

    /// <summary>The GMM version labelling now.</summary>
    public int? GmmVersion { get; init; }

    /// <summary>Its K.</summary>
    public int? GmmComponents { get; init; }

    /// <summary>The trainer's run.</summary>
    public string? RunId { get; init; }

    /// <summary>Its weighting strategy.</summary>
    public string? Strategy { get; init; }

    /// <summary>The last step's figures.</summary>
    public TrainerStepFigures? Step { get; init; }

    /// <summary>The last validation loss (all domains).</summary>
    public double? ValidationLoss { get; init; }

    /// <summary>Checkpoints written since the service started.</summary>
    public int Checkpoints { get; init; }

    /// <summary>The step of the last checkpoint.</summary>
    public long? CheckpointStep { get; init; }

    /// <summary>When it was written.</summary>
    public DateTimeOffset? LastCheckpointAt { get; init; }

    /// <summary>Seconds since the service started.</summary>
    public double UptimeSeconds => Math.Max(0, (Now - StartedAt).TotalSeconds);
}
