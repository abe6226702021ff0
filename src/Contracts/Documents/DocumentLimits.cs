namespace Reweighting.Contracts.Documents;

/// <summary>Size limits a <c>documents</c> record must meet; larger records are dead-lettered, not truncated.</summary>
public sealed record DocumentLimits
{
    /// <summary>Limits suited to GPT-2-sized scoring: 8 MiB of text, 16 MiB per record, ids up to 512 characters.</summary>
    public static DocumentLimits Default { get; } = new();

    /// <summary>Most UTF-16 code units (.NET <c>string.Length</c>) the text may have.</summary>
    public int MaxTextChars { get; init; } = 8 * 1024 * 1024;

    /// <summary>Most bytes the text may take in UTF-8 (after JSON unescaping).</summary>
    public int MaxTextBytes { get; init; } = 8 * 1024 * 1024;

    /// <summary>Most bytes the whole Kafka value may have; checked before parsing, so a huge value costs nothing.</summary>
    public int MaxRecordBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Most UTF-16 code units the id may have.</summary>
    public int MaxIdChars { get; init; } = 512;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a limit is not positive.</summary>
    public DocumentLimits Validate()
    {
        Positive(MaxTextChars, nameof(MaxTextChars));
        Positive(MaxTextBytes, nameof(MaxTextBytes));
        Positive(MaxRecordBytes, nameof(MaxRecordBytes));
        Positive(MaxIdChars, nameof(MaxIdChars));
        return this;
    }

    private static void Positive(int value, string name)
    {
        if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"document limit {name} must be positive");
    }
}
