using System.Text.Json;

namespace Reweighting.Contracts.DeadLetters;

/// <summary>The fields every dead-letter topic's JSON carries (docs/contracts.md), with the reason as its wire code.</summary>
internal readonly record struct DeadLetterFields(string Reason, string Message, string SourceTopic, int Partition, long Offset,
    byte[]? Key, byte[]? Value, DateTimeOffset RejectedAt, string? RejectedBy);

/// <summary>Writes and reads the JSON shared by <c>documents.dlq</c> and <c>scored-batches.dlq</c>: the reason code, a
/// message, where the record was consumed, its original key and value in base64 (they may not be UTF-8), and who
/// rejected it when. Each topic's record type maps its own reason enum to and from the code.</summary>
internal static class DeadLetterJson
{
    public static byte[] Write(in DeadLetterFields f)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256 + (f.Value?.Length ?? 0) * 4 / 3);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("reason"u8, f.Reason);
            w.WriteString("message"u8, f.Message);
            w.WriteString("topic"u8, f.SourceTopic);
            w.WriteNumber("partition"u8, f.Partition);
            w.WriteNumber("offset"u8, f.Offset);
            if (f.Key is null) w.WriteNull("key"u8);
            else w.WriteBase64String("key"u8, f.Key);
            if (f.Value is null) w.WriteNull("value"u8);
            else w.WriteBase64String("value"u8, f.Value);
            w.WriteString("rejected_at"u8, f.RejectedAt.ToUniversalTime());
            if (f.RejectedBy is null) w.WriteNull("rejected_by"u8);
            else w.WriteString("rejected_by"u8, f.RejectedBy);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads the fields and builds the topic's record from them; anything that is not such a record (including a
    /// reason code <paramref name="build"/> refuses with <see cref="FormatException"/>) throws
    /// <see cref="InvalidDataException"/> naming <paramref name="topic"/>.</summary>
    public static T Read<T>(ReadOnlySpan<byte> json, string topic, Func<DeadLetterFields, T> build)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var doc = JsonDocument.ParseValue(ref reader);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException("a DLQ record must be a JSON object");
            return build(new DeadLetterFields(
                Required(root, "reason").GetString()!,
                Required(root, "message").GetString()!,
                Required(root, "topic").GetString()!,
                Required(root, "partition").GetInt32(),
                Required(root, "offset").GetInt64(),
                Bytes(root, "key"),
                Bytes(root, "value"),
                Required(root, "rejected_at").GetDateTimeOffset(),
                root.TryGetProperty("rejected_by", out var by) && by.ValueKind != JsonValueKind.Null ? by.GetString() : null));
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"not a {topic} record: {e.Message}", e);
        }
    }

    private static JsonElement Required(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw new InvalidDataException($"a DLQ record needs the field '{name}'");

    private static byte[]? Bytes(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.GetBytesFromBase64() : null;
}
