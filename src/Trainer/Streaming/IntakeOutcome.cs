using Confluent.Kafka;
using Reweighting.Contracts.Batches;

namespace Reweighting.Trainer.Streaming;

/// <summary>What <see cref="BatchIntake.Absorb"/> made of one consumed record.</summary>
public abstract record IntakeOutcome
{
    private IntakeOutcome() { }

    /// <summary>A new batch: its training documents are packed (their statistics listed, in order, with whether the
    /// scorer labelled each noisy), its validation documents held out; the offset has moved past it.</summary>
    public sealed record Accepted(ScoredBatch Batch, IReadOnlyList<(double Mean, double Variance, bool Noisy)> PackedStatistics)
        : IntakeOutcome;

    /// <summary>A batch already consumed (a resend), skipped; the offset has moved past it.</summary>
    public sealed record Duplicate(Guid BatchId) : IntakeOutcome;

    /// <summary>A record that cannot be trained on. The offset has not moved: dead-letter it, then call
    /// <see cref="BatchIntake.MovePast"/>.</summary>
    public sealed record Rejected(ConsumeResult<string?, byte[]> Record, ScoredBatchRejection Reason, string Message) : IntakeOutcome;
}
