using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Reweighting.Contracts.Documents;

/// <summary>Reads a <c>documents</c> value with <see cref="Utf8JsonReader"/>, turning every way it can break the
/// contract into a <see cref="DeadLetter"/>. Checks run in this order, the first failure wins: record size,
/// UTF-8, JSON syntax (the whole value, even after a field problem), object shape, fields in document order,
/// then the required fields and the key.</summary>
internal static class DocumentRecordParser
{
    private static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 64,
    };

    private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

    public static DocumentParseResult Parse(ReadOnlySpan<byte> value, string? key, DocumentLimits limits)
    {
        if (value.Length == 0)
            return DocumentParseResult.Rejected(DeadLetterReason.NotJson, "the value is empty (a tombstone or an empty message), not a JSON object");
        if (value.Length > limits.MaxRecordBytes)
            return DocumentParseResult.Rejected(DeadLetterReason.OversizeRecord,
                $"the value has {value.Length} bytes, more than the limit of {limits.MaxRecordBytes}");
        if (value.StartsWith(Utf8ByteOrderMark)) value = value[3..]; // some editors and tools write one
        if (!Utf8.IsValid(value))
            return DocumentParseResult.Rejected(DeadLetterReason.InvalidUtf8,
                $"the value is not valid UTF-8 (first bad byte at offset {FirstInvalidUtf8(value)})");
        try
        {
            return ParseJson(value, key, limits);
        }
        catch (JsonException e)
        {
            return DocumentParseResult.Rejected(DeadLetterReason.NotJson, $"the value is not valid JSON: {e.Message}");
        }
    }

    private static DocumentParseResult ParseJson(ReadOnlySpan<byte> value, string? key, DocumentLimits limits)
    {
        var reader = new Utf8JsonReader(value, ReaderOptions);
        if (!reader.Read())
            return DocumentParseResult.Rejected(DeadLetterReason.NotJson, "the value holds only whitespace");
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            var kind = reader.TokenType;
            reader.Skip();
            ReadToEnd(ref reader);
            return DocumentParseResult.Rejected(DeadLetterReason.NotAnObject, $"the value is a JSON {Describe(kind)}, not an object");
        }

        DeadLetter? problem = null;
        string? id = null, text = null, domain = null, source = null;
        JsonElement? meta = null;
        var seen = Field.None;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var field = reader.ValueTextEquals("id"u8) ? Field.Id
                : reader.ValueTextEquals("text"u8) ? Field.Text
                : reader.ValueTextEquals("domain"u8) ? Field.Domain
                : reader.ValueTextEquals("source"u8) ? Field.Source
                : reader.ValueTextEquals("meta"u8) ? Field.Meta
                : Field.None;
            reader.Read();
            if (field == Field.None || problem is not null)
            {
                reader.Skip(); // unknown fields are allowed, so producers can add their own
                continue;
            }
            var name = field.ToString().ToLowerInvariant();
            if ((seen & field) != 0)
            {
                problem = new DeadLetter(DeadLetterReason.DuplicateField, $"the field '{name}' appears more than once");
                reader.Skip();
                continue;
            }
            seen |= field;
            switch (field)
            {
                case Field.Meta:
                    if (reader.TokenType == JsonTokenType.StartObject) meta = JsonElement.ParseValue(ref reader);
                    else if (reader.TokenType != JsonTokenType.Null) problem = WrongType(name, "an object", ref reader);
                    break;
                case Field.Text:
                    if (reader.TokenType == JsonTokenType.String) text = ReadText(ref reader, limits, ref problem);
                    else if (reader.TokenType != JsonTokenType.Null) problem = WrongType(name, "a string", ref reader);
                    break;
                default:
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        var s = ReadString(ref reader, name, ref problem);
                        if (field == Field.Id) id = s;
                        else if (field == Field.Domain) domain = s is "" ? null : s;
                        else source = s is "" ? null : s;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        problem = WrongType(name, "a string", ref reader);
                    }
                    break;
            }
        }
        ReadToEnd(ref reader);

        if (problem is not null) return DocumentParseResult.Rejected(problem.Reason, problem.Message);
        if (id is null) return DocumentParseResult.Rejected(DeadLetterReason.MissingId, "the object has no 'id' (or it is null)");
        if (InvalidId(id, limits) is { } why) return DocumentParseResult.Rejected(DeadLetterReason.InvalidId, why);
        if (!string.IsNullOrEmpty(key) && !string.Equals(key, id, StringComparison.Ordinal))
            return DocumentParseResult.Rejected(DeadLetterReason.IdMismatch,
                $"the Kafka key '{Preview(key)}' differs from the id '{Preview(id)}'");
        if (text is null) return DocumentParseResult.Rejected(DeadLetterReason.MissingText, $"document '{Preview(id)}' has no 'text' (or it is null)");
        if (string.IsNullOrWhiteSpace(text))
            return DocumentParseResult.Rejected(DeadLetterReason.EmptyText, $"document '{Preview(id)}' has an empty or blank text");
        if (text.Contains('\0'))
            return DocumentParseResult.Rejected(DeadLetterReason.NulInText,
                $"document '{Preview(id)}' has a NUL character at index {text.IndexOf('\0')}; PostgreSQL text cannot store it");
        return DocumentParseResult.Valid(new DocumentRecord(id, text, domain, source, meta));
    }

    private static string? ReadText(ref Utf8JsonReader reader, DocumentLimits limits, ref DeadLetter? problem)
    {
        // An unescaped string's bytes are its UTF-8 length, so a huge text is refused before it is copied.
        if (!reader.ValueIsEscaped && reader.ValueSpan.Length > limits.MaxTextBytes)
        {
            problem = OversizeText(reader.ValueSpan.Length, "UTF-8 bytes", limits.MaxTextBytes);
            return null;
        }
        var text = ReadString(ref reader, "text", ref problem);
        if (text is null) return null;
        if (text.Length > limits.MaxTextChars)
        {
            problem = OversizeText(text.Length, "characters", limits.MaxTextChars);
            return null;
        }
        var bytes = reader.ValueIsEscaped ? Encoding.UTF8.GetByteCount(text) : reader.ValueSpan.Length;
        if (bytes > limits.MaxTextBytes)
        {
            problem = OversizeText(bytes, "UTF-8 bytes", limits.MaxTextBytes);
            return null;
        }
        return text;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string name, ref DeadLetter? problem)
    {
        try
        {
            return reader.GetString();
        }
        catch (InvalidOperationException)
        {
            // Raw bytes were validated above, so this is an escape such as "\ud800" that is not valid Unicode.
            problem = new DeadLetter(DeadLetterReason.InvalidUtf8, $"the field '{name}' escapes a lone surrogate, which is not valid Unicode");
            return null;
        }
    }

    private static DeadLetter WrongType(string name, string expected, ref Utf8JsonReader reader)
    {
        var problem = new DeadLetter(DeadLetterReason.WrongFieldType,
            $"the field '{name}' must be {expected} or null, not a JSON {Describe(reader.TokenType)}");
        reader.Skip();
        return problem;
    }

    private static DeadLetter OversizeText(int size, string unit, int limit) =>
        new(DeadLetterReason.OversizeText, $"the text has {size} {unit}, more than the limit of {limit}");

    private static string? InvalidId(string id, DocumentLimits limits)
    {
        if (string.IsNullOrWhiteSpace(id)) return "the id is empty or blank";
        if (id.Length > limits.MaxIdChars) return $"the id has {id.Length} characters, more than the limit of {limits.MaxIdChars}";
        foreach (var c in id)
            if (char.IsControl(c)) return $"the id '{Preview(id)}' holds the control character U+{(int)c:X4}";
        return null;
    }

    /// <summary>Reads past the end of the top-level value; trailing non-whitespace makes the reader throw.</summary>
    private static void ReadToEnd(ref Utf8JsonReader reader)
    {
        if (reader.Read()) throw new JsonException("unexpected content after the JSON value");
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.StartObject => "object",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    private static string Preview(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 77), "...");

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> value)
    {
        var offset = 0;
        while (offset < value.Length)
        {
            if (System.Buffers.OperationStatus.Done != System.Text.Rune.DecodeFromUtf8(value[offset..], out _, out var consumed))
                return offset;
            offset += consumed;
        }
        return offset;
    }

    [Flags]
    private enum Field
    {
        None = 0,
        Id = 1,
        Text = 2,
        Domain = 4,
        Source = 8,
        Meta = 16,
    }
}
