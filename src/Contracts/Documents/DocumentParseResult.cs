using System.Diagnostics.CodeAnalysis;

namespace Reweighting.Contracts.Documents;

/// <summary>The outcome of <see cref="DocumentRecord.Parse"/>: exactly one of <see cref="Record"/> and <see cref="DeadLetter"/>.</summary>
public readonly record struct DocumentParseResult
{
    private DocumentParseResult(DocumentRecord? record, DeadLetter? deadLetter)
    {
        Record = record;
        DeadLetter = deadLetter;
    }

    /// <summary>The parsed record, when the value met the contract.</summary>
    public DocumentRecord? Record { get; }

    /// <summary>Why the value was rejected, when it did not.</summary>
    public DeadLetter? DeadLetter { get; }

    /// <summary>True when <see cref="Record"/> is set.</summary>
    [MemberNotNullWhen(true, nameof(Record))]
    [MemberNotNullWhen(false, nameof(DeadLetter))]
    public bool IsValid => Record is not null;

    /// <summary>A successful parse.</summary>
    public static DocumentParseResult Valid(DocumentRecord record) => new(record ?? throw new ArgumentNullException(nameof(record)), null);

    /// <summary>A rejection.</summary>
    public static DocumentParseResult Rejected(DeadLetterReason reason, string message) => new(null, new DeadLetter(reason, message));
}
