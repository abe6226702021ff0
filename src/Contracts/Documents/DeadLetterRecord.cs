using System.Text.Json;

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
    public byte[] ToUtf8Json()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + (Value?.Length ?? 0) * 4 / 3);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("reason"u8, Reason.ToWire());
            w.WriteString("message"u8, Message);
            w.WriteString("topic"u8, SourceTopic);
            w.WriteNumber("partition"u8, Partition);
            w.WriteNumber("offset"u8, Offset);
            if (Key is null) w.WriteNull("key"u8);
            else w.WriteBase64String("key"u8, Key);
            if (Value is null) w.WriteNull("value"u8);
            else w.WriteBase64String("value"u8, Value);
            w.WriteString("rejected_at"u8, RejectedAt.ToUniversalTime());
            if (RejectedBy is null) w.WriteNull("rejected_by"u8);
            else w.WriteString("rejected_by"u8, RejectedBy);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads what <see cref="ToUtf8Json"/> wrote; throws <see cref="InvalidDataException"/> when it is not a DLQ record.</summary>
    public static DeadLetterRecord FromUtf8Json(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("a DLQ record must be a JSON object");
            return new DeadLetterRecord(
                DeadLetterReasons.Parse(Required(root, "reason").GetString()!),
                Required(root, "message").GetString()!,
                Required(root, "topic").GetString()!,
                Required(root, "partition").GetInt32(),
                Required(root, "offset").GetInt64(),
                Bytes(root, "key"),
                Bytes(root, "value"),
                Required(root, "rejected_at").GetDateTimeOffset(),
                root.TryGetProperty("rejected_by", out var by) && by.ValueKind != JsonValueKind.Null ? by.GetString() : null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"not a documents.dlq record: {e.Message}", e);
        }
    }

    private static JsonElement Required(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw new InvalidDataException($"a DLQ record needs the field '{name}'");

    private static byte[]? Bytes(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetBytesFromBase64() : null;
}
