using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Reweighting.Contracts.Documents;

/// <summary>One record of the <c>documents</c> topic: key = <see cref="Id"/>, value = JSON
/// <c>{"id", "text", "domain"?, "source"?, "meta"?}</c> in UTF-8. Any producer can write it; see docs/contracts.md.</summary>
public sealed record DocumentRecord
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // Keep non-ASCII text as UTF-8 instead of \uXXXX escapes (3-6x larger); quotes and controls are still escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <summary>Creates a record; <paramref name="meta"/>, when given, must be a JSON object and is copied.</summary>
    public DocumentRecord(string id, string text, string? domain = null, string? source = null, JsonElement? meta = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(text);
        if (meta is { ValueKind: not JsonValueKind.Object } m)
            throw new ArgumentException($"meta must be a JSON object, not {m.ValueKind}", nameof(meta));
        Id = id;
        Text = text;
        Domain = domain;
        Source = source;
        Meta = meta?.Clone();
    }

    /// <summary>Producer-assigned document id; also the Kafka key.</summary>
    public string Id { get; }

    /// <summary>The document text.</summary>
    public string Text { get; }

    /// <summary>Optional domain tag (web, code, books, ...).</summary>
    public string? Domain { get; }

    /// <summary>Optional origin (file, crawl, dataset).</summary>
    public string? Source { get; }

    /// <summary>Optional free-form JSON object the pipeline carries but does not interpret.</summary>
    public JsonElement? Meta { get; }

    /// <summary>Parses a Kafka value of the <c>documents</c> topic. Never throws on bad input: a record that
    /// breaks the contract comes back as a <see cref="DeadLetter"/> naming the first problem found.</summary>
    /// <param name="utf8Value">The Kafka value bytes.</param>
    /// <param name="key">The Kafka key as a string, or null when the record has none. When present and
    /// non-empty it must equal the <c>id</c> exactly (ordinal); a null or empty key is accepted.</param>
    /// <param name="limits">Size limits; invalid limits throw <see cref="ArgumentException"/> (a configuration error).</param>
    public static DocumentParseResult Parse(ReadOnlySpan<byte> utf8Value, string? key, DocumentLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return DocumentRecordParser.Parse(utf8Value, key, limits.Validate());
    }

    /// <summary>The compact UTF-8 JSON value a producer sends; null optional fields are left out.</summary>
    public byte[] ToUtf8Json()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(Text.Length + Id.Length + 64);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, Id);
            writer.WriteString("text"u8, Text);
            if (Domain is not null) writer.WriteString("domain"u8, Domain);
            if (Source is not null) writer.WriteString("source"u8, Source);
            if (Meta is { } meta)
            {
                writer.WritePropertyName("meta"u8);
                meta.WriteTo(writer);
            }
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The same JSON as <see cref="ToUtf8Json"/>, as a string.</summary>
    public string ToJson() => Encoding.UTF8.GetString(ToUtf8Json());

    /// <summary>The store's view of this document: SHA-256 of the UTF-8 text, length, a snippet, and the text when kept.</summary>
    /// <param name="snippetChars">Most characters of the snippet; a surrogate pair is never split.</param>
    /// <param name="keepText">Whether the store keeps the full text.</param>
    public Document ToDocument(int snippetChars, bool keepText)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snippetChars);
        var cut = Math.Min(snippetChars, Text.Length);
        if (cut > 0 && cut < Text.Length && char.IsHighSurrogate(Text[cut - 1])) cut--;
        return new Document(Id, Domain, Source, SHA256.HashData(Encoding.UTF8.GetBytes(Text)), Text.Length, Text[..cut],
            keepText ? Text : null);
    }

    /// <summary>Value equality, comparing <see cref="Meta"/> structurally.</summary>
    public bool Equals(DocumentRecord? other) =>
        other is not null
        && Id == other.Id && Text == other.Text && Domain == other.Domain && Source == other.Source
        && (Meta is { } a ? other.Meta is { } b && JsonElement.DeepEquals(a, b) : other.Meta is null);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Id, Text, Domain, Source, Meta.HasValue);
}
