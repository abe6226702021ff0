using Reweighting.Contracts.DeadLetters;

namespace Reweighting.Contracts.Batches;

/// <summary>One record of <c>scored-batches.dlq</c>: a scored batch the trainer could not train on, kept byte for byte
/// with the reason and where it came from, so it can be inspected, fixed and replayed. Kafka key = the original key (the
/// batch id). The JSON has the same fields as <c>documents.dlq</c>'s (docs/contracts.md).</summary>
/// <param name="Reason">Why it was rejected.</param>
/// <param name="Message">What exactly was wrong, for a person.</param>
/// <param name="SourceTopic">Topic the batch was consumed from (normally <c>scored-batches</c>).</param>
/// <param name="Partition">Its partition.</param>
/// <param name="Offset">Its offset in that partition.</param>
/// <param name="Key">The original key bytes, or null when the record had none.</param>
/// <param name="Value">The original value bytes, or null for a tombstone.</param>
/// <param name="RejectedAt">When the trainer rejected it.</param>
/// <param name="RejectedBy">The trainer run that rejected it, when known.</param>
public sealed record ScoredBatchDeadLetterRecord(
    ScoredBatchRejection Reason,
    string Message,
    string SourceTopic,
    int Partition,
    long Offset,
    byte[]? Key,
    byte[]? Value,
    DateTimeOffset RejectedAt,
    string? RejectedBy = null)
{
    /// <summary>Compact UTF-8 JSON; key and value are base64 because they may not be valid UTF-8.</summary>
    public byte[] ToUtf8Json() =>
        DeadLetterJson.Write(new DeadLetterFields(Reason.ToWire(), Message, SourceTopic, Partition, Offset, Key, Value, RejectedAt, RejectedBy));

    /// <summary>Reads what <see cref="ToUtf8Json"/> wrote; throws <see cref="InvalidDataException"/> when it is not such a record.</summary>
    public static ScoredBatchDeadLetterRecord FromUtf8Json(ReadOnlySpan<byte> json) =>
        DeadLetterJson.Read(json, Topics.ScoredBatchesDeadLetter, f => new ScoredBatchDeadLetterRecord(ScoredBatchRejections.Parse(f.Reason), f.Message,
            f.SourceTopic, f.Partition, f.Offset, f.Key, f.Value, f.RejectedAt, f.RejectedBy));
}
