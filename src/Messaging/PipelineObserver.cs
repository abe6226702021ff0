using System.Data.Common;

namespace Reweighting.Messaging;

/// <summary>Figures the services hand to a monitor (the dashboard) beside their control events, where an event does not
/// carry the number: running totals, batch latency, consumer lag, the trainer's step. Every method may be called from
/// a service's loop thread, so implementations must be quick, thread-safe and must not throw. The services take it as
/// an optional dependency: without a monitor nothing is called.</summary>
public interface IPipelineObserver
{
    /// <summary>The service opened its PostgreSQL database (the dashboard's charts read from it).</summary>
    void DatabaseOpened(DbDataSource database) { }

    /// <summary>The service computes on <paramref name="device"/> ("cpu", "cuda:0"); <paramref name="memoryAllocated"/>
    /// reads the bytes its tensors hold on a CUDA device (null on CPU).</summary>
    void DeviceInUse(string device, Func<long>? memoryAllocated) { }

    /// <summary>The scorer's pipeline is running; <paramref name="totals"/> reads its running totals from any thread.</summary>
    void ScorerRunning(Func<ScorerTotals> totals) { }

    /// <summary>A scored batch was stored, <paramref name="latency"/> after its first record was consumed.</summary>
    void BatchLatency(TimeSpan latency) { }

    /// <summary>The scorer consumer's statistics (librdkafka's JSON, with per-partition lag), at its statistics interval.</summary>
    void ConsumerStatistics(string json) { }

    /// <summary>The trainer finished an optimiser step.</summary>
    void TrainerStep(TrainerStepFigures step) { }

    /// <summary>The trainer's run ended, for <paramref name="reason"/> (the text its <c>TrainerStopped</c> event carries).
    /// Told directly as well: the event is published without waiting, and a host that stops when the run ends may stop
    /// the bus before it delivers the event.</summary>
    void TrainerStopped(string reason) { }
}

/// <summary>A scorer's running totals.</summary>
/// <param name="Documents">Documents stored.</param>
/// <param name="Tokens">Scored tokens of the stored documents.</param>
/// <param name="DeadLetters">Records sent to the dead-letter topic.</param>
/// <param name="Batches">Batches committed to PostgreSQL.</param>
/// <param name="InFlightRecords">Records consumed but not yet stored.</param>
/// <param name="Outages">Times the store became unreachable.</param>
public sealed record ScorerTotals(long Documents, long Tokens, long DeadLetters, long Batches, int InFlightRecords, long Outages);

/// <summary>One optimiser step of the trainer, as a monitor shows it.</summary>
/// <param name="Step">Steps taken.</param>
/// <param name="TotalSteps">The run's length.</param>
/// <param name="Loss">Mean token loss of the step.</param>
/// <param name="LearningRate">Its learning rate.</param>
/// <param name="TokensPerSecond">Training tokens per second of the step.</param>
/// <param name="ValidationLoss">Validation loss over all domains, on evaluation steps (null otherwise).</param>
/// <param name="Temperature">The loss-shape strategies' softmax temperature r (infinity in burn-in), or null for others.</param>
/// <param name="PhiPrecisions">Meta-EM's lambda_k per cluster, or null for other strategies.</param>
/// <param name="PhiMixingWeights">Meta-EM's pi_k per cluster, or null for other strategies.</param>
public sealed record TrainerStepFigures(long Step, long TotalSteps, double Loss, double LearningRate, double TokensPerSecond,
    double? ValidationLoss, double? Temperature, IReadOnlyList<double>? PhiPrecisions, IReadOnlyList<double>? PhiMixingWeights);
