namespace Reweighting.Contracts.Batches;

/// <summary>Why a record of <c>scored-batches</c> was sent to <c>scored-batches.dlq</c> instead of being trained on.</summary>
public enum ScoredBatchRejection
{
    /// <summary><see cref="ScoredBatchCodec.Decode"/> refused the value: corrupt, truncated, of an unknown major
    /// version, or breaking the batch contract.</summary>
    Undecodable,

    /// <summary>The batch decodes but holds a token id outside the trainer model's vocabulary (another tokenizer).</summary>
    OutsideVocabulary,
}

/// <summary>The kebab-case codes of <see cref="ScoredBatchRejection"/> used on the wire (DLQ JSON, the <c>dlq-reason</c> header).</summary>
public static class ScoredBatchRejections
{
    /// <summary>Every reason, in declaration order.</summary>
    public static IReadOnlyList<ScoredBatchRejection> All { get; } = Enum.GetValues<ScoredBatchRejection>();

    /// <summary>The wire code, e.g. <c>undecodable</c>.</summary>
    public static string ToWire(this ScoredBatchRejection reason) => reason switch
    {
        ScoredBatchRejection.Undecodable => "undecodable",
        ScoredBatchRejection.OutsideVocabulary => "outside-vocabulary",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "unknown scored-batch rejection"),
    };

    /// <summary>Parses a wire code; throws <see cref="FormatException"/> on an unknown one.</summary>
    public static ScoredBatchRejection Parse(string code) =>
        ByCode.TryGetValue(code, out var reason)
            ? reason
            : throw new FormatException($"'{code}' is not a scored-batch rejection ({string.Join(", ", ByCode.Keys)})");

    private static readonly Dictionary<string, ScoredBatchRejection> ByCode = All.ToDictionary(r => r.ToWire());
}
