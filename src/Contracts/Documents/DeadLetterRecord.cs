using Reweighting.Contracts.DeadLetters;

namespace Reweighting.Contracts.Documents;

/// <summary>One record of <c>documents.dlq</c>: a rejected <c>documents</c> record, kept byte for byte with the
/// reason it was rejected and where it came from, so it can be fixed and replayed. Kafka key = the original key.</summary>
/// <param name="Reason">Why it was rejected.</param>
/// <param name="Message">What exactly was wrong, for a person.</param>
/// <param name="SourceTopic">Topic the record was consumed from (normally <c>documents</c>).</param>
/// <param name="Partition">Its partition.</param>
/// <param name="Offset">Its offset in that partition.</param>
/// <param name="Key">The original key bytes, or null when the record had none.</param>
/// <param name="Value">The original value bytes, or null for a tombstone.</param>
/// <param name="RejectedAt">When the consumer rejected it.</param>
/// <param name="RejectedBy">The consumer instance that rejected it, when known.</param>
public sealed record DeadLetterRecord(
    DeadLetterReason Reason,
    string Message,
    string SourceTopic,
    int Partition,
    long Offset,
    byte[]? Key,
    byte[]? Value,
    DateTimeOffset RejectedAt,
    string? RejectedBy = null)
{
    /// <summary>A DLQ record for a rejected value.</summary>
    public static DeadLetterRecord For(DeadLetter deadLetter, string sourceTopic, int partition, long offset,
        byte[]? key, byte[]? value, DateTimeOffset rejectedAt, string? rejectedBy = null)
    {
        ArgumentNullException.ThrowIfNull(deadLetter);
        return new(deadLetter.Reason, deadLetter.Message, sourceTopic, partition, offset, key, value, rejectedAt, rejectedBy);
    }

    /// <summary>The reason and message as a <see cref="DeadLetter"/>.</summary>
    public DeadLetter DeadLetter => new(Reason, Message);

    /// <summary>Compact UTF-8 JSON; key and value are base64 because they may not be valid UTF-8.</summary>
    public byte[] ToUtf8Json() =>
        DeadLetterJson.Write(new DeadLetterFields(Reason.ToWire(), Message, SourceTopic, Partition, Offset, Key, Value, RejectedAt, RejectedBy));

    /// <summary>Reads what <see cref="ToUtf8Json"/> wrote; throws <see cref="InvalidDataException"/> when it is not a DLQ record.</summary>
    public static DeadLetterRecord FromUtf8Json(ReadOnlySpan<byte> json) =>
        DeadLetterJson.Read(json, Topics.DocumentsDeadLetter, f => new DeadLetterRecord(DeadLetterReasons.Parse(f.Reason), f.Message, f.SourceTopic,
            f.Partition, f.Offset, f.Key, f.Value, f.RejectedAt, f.RejectedBy));
}
