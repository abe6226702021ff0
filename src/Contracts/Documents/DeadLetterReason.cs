namespace Reweighting.Contracts.Documents;

/// <summary>Why a record of the <c>documents</c> topic was sent to <c>documents.dlq</c> instead of being scored.</summary>
public enum DeadLetterReason
{
    /// <summary>The value is empty (a tombstone) or not one well-formed JSON value.</summary>
    NotJson,

    /// <summary>The value is JSON, but not a JSON object.</summary>
    NotAnObject,

    /// <summary>The object has no <c>id</c>, or it is null.</summary>
    MissingId,

    /// <summary>The <c>id</c> is empty, blank, too long, or holds control characters.</summary>
    InvalidId,

    /// <summary>The record has a Kafka key and an <c>id</c>, and they differ.</summary>
    IdMismatch,

    /// <summary>The object has no <c>text</c>, or it is null.</summary>
    MissingText,

    /// <summary>The <c>text</c> is empty or only whitespace: nothing to score.</summary>
    EmptyText,

    /// <summary>The <c>text</c> holds a NUL character, which PostgreSQL text cannot store.</summary>
    NulInText,

    /// <summary>The <c>text</c> is longer than the configured limit in characters or UTF-8 bytes.</summary>
    OversizeText,

    /// <summary>The whole value is larger than the configured limit in bytes.</summary>
    OversizeRecord,

    /// <summary>The value is not valid UTF-8, or a string escapes a lone surrogate (not valid Unicode).</summary>
    InvalidUtf8,

    /// <summary>A known field has the wrong JSON type (e.g. a numeric <c>id</c>, an array <c>meta</c>).</summary>
    WrongFieldType,

    /// <summary>A known field appears twice, so which value counts would be ambiguous.</summary>
    DuplicateField,
}

/// <summary>The kebab-case codes of <see cref="DeadLetterReason"/> used on the wire (DLQ JSON, the <c>dlq-reason</c> header).</summary>
public static class DeadLetterReasons
{
    private static readonly (DeadLetterReason Reason, string Code)[] Codes =
    [
        (DeadLetterReason.NotJson, "not-json"),
        (DeadLetterReason.NotAnObject, "not-an-object"),
        (DeadLetterReason.MissingId, "missing-id"),
        (DeadLetterReason.InvalidId, "invalid-id"),
        (DeadLetterReason.IdMismatch, "id-mismatch"),
        (DeadLetterReason.MissingText, "missing-text"),
        (DeadLetterReason.EmptyText, "empty-text"),
        (DeadLetterReason.NulInText, "nul-in-text"),
        (DeadLetterReason.OversizeText, "oversize-text"),
        (DeadLetterReason.OversizeRecord, "oversize-record"),
        (DeadLetterReason.InvalidUtf8, "invalid-utf8"),
        (DeadLetterReason.WrongFieldType, "wrong-field-type"),
        (DeadLetterReason.DuplicateField, "duplicate-field"),
    ];

    /// <summary>Every reason, in declaration order.</summary>
    public static IReadOnlyList<DeadLetterReason> All { get; } = Codes.Select(c => c.Reason).ToArray();

    /// <summary>The wire code, e.g. <c>not-json</c>.</summary>
    public static string ToWire(this DeadLetterReason reason)
    {
        foreach (var (r, code) in Codes)
            if (r == reason) return code;
        throw new ArgumentOutOfRangeException(nameof(reason), reason, "unknown dead-letter reason");
    }

    /// <summary>Parses a wire code; throws <see cref="FormatException"/> on an unknown one.</summary>
    public static DeadLetterReason Parse(string code)
    {
        foreach (var (r, c) in Codes)
            if (c == code) return r;
        throw new FormatException($"'{code}' is not a dead-letter reason ({string.Join(", ", Codes.Select(c => c.Code))})");
    }
}

/// <summary>A rejected document record: the machine-readable reason and a message for the person reading the DLQ.</summary>
public sealed record DeadLetter(DeadLetterReason Reason, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Reason.ToWire()}: {Message}";
}
