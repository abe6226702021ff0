namespace Reweighting.Contracts.Control;

/// <summary>A control-plane event: small, immutable, published on the in-process bus (never on Kafka's data path).</summary>
public abstract record ControlEvent
{
    /// <summary>When it happened.</summary>
    public DateTimeOffset OccurredAt { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>A scorer instance joined its consumer group and is about to consume <c>documents</c>.</summary>
/// <param name="Instance">The instance (host/process id).</param>
/// <param name="ScorerModel">The proxy model it scores with.</param>
/// <param name="GmmVersion">The GMM version it starts labelling with, or null before the first fit.</param>
public sealed record ScorerStarted(string Instance, string ScorerModel, int? GmmVersion) : ControlEvent;

/// <summary>A scorer instance stopped.</summary>
/// <param name="Instance">The instance.</param>
/// <param name="DocumentsScored">Documents it scored while it ran.</param>
/// <param name="Reason">Why: "shutdown", "fatal: ...", ...</param>
public sealed record ScorerStopped(string Instance, long DocumentsScored, string Reason) : ControlEvent;

/// <summary>A scored batch committed to PostgreSQL and left through the outbox.</summary>
/// <param name="BatchId">The batch.</param>
/// <param name="Instance">The scorer instance.</param>
/// <param name="Documents">Documents in it.</param>
/// <param name="DeadLettered">Records of the same consumed range sent to <c>documents.dlq</c>.</param>
/// <param name="GmmVersion">The GMM version that labelled it, or null.</param>
public sealed record BatchScored(Guid BatchId, string Instance, int Documents, int DeadLettered, int? GmmVersion) : ControlEvent;

/// <summary>A new GMM version was fitted and stored; scorers label with it from their next batch.</summary>
/// <param name="Version">The stored version.</param>
/// <param name="ScorerModel">The proxy model whose statistics it was fitted on.</param>
/// <param name="Components">K.</param>
/// <param name="SampleCount">Statistics the fit used.</param>
/// <param name="LogLikelihood">Mean log-likelihood of the fit sample.</param>
public sealed record GmmRefitted(int Version, string ScorerModel, int Components, long SampleCount, double LogLikelihood) : ControlEvent;

/// <summary>The trainer stored new meta-EM cluster parameters phi.</summary>
/// <param name="RunId">The training run.</param>
/// <param name="Step">The step they hold from.</param>
/// <param name="Source">Initialised from a GMM, or a meta-gradient update.</param>
public sealed record ClusterParametersUpdated(string RunId, long Step, ClusterParameterSource Source) : ControlEvent;

/// <summary>The trainer started or resumed a run.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The step it starts at (0, or the checkpoint's step when resuming).</param>
/// <param name="Strategy">The weighting strategy (uniform, meta-em, linupper, ...).</param>
public sealed record TrainerStarted(string RunId, long Step, string Strategy) : ControlEvent;

/// <summary>The trainer wrote a checkpoint atomically; it holds the consumed offsets of <c>scored-batches</c>.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The step checkpointed.</param>
/// <param name="Path">Where the checkpoint file is.</param>
/// <param name="Offsets">The next offsets to read, per partition, stored in the checkpoint.</param>
public sealed record TrainerCheckpointed(string RunId, long Step, string Path, IReadOnlyList<ConsumerOffset> Offsets) : ControlEvent;

/// <summary>The trainer stopped.</summary>
/// <param name="RunId">The run.</param>
/// <param name="Step">The last step taken.</param>
/// <param name="Reason">Why: "completed", "shutdown", "fatal: ...".</param>
public sealed record TrainerStopped(string RunId, long Step, string Reason) : ControlEvent;
