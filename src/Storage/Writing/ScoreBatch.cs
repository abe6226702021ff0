using Reweighting.Contracts;

namespace Reweighting.Storage.Writing;

/// <summary>Everything one scored batch changes in the store, written in a single transaction.</summary>
/// <param name="BatchId">Stable id of the batch; a resend after a crash carries the same id.</param>
/// <param name="Documents">Documents the scores refer to (upserted first); may be empty when they are stored already.</param>
/// <param name="Scores">Score rows, upserted on (document id, scorer model).</param>
/// <param name="Offsets">Consumer offsets this batch advances to; empty for writes that did not come from Kafka.</param>
/// <param name="OutboxPayload">Encoded scored-batch message to publish after commit, or null for none.</param>
public sealed record ScoreBatch(
    Guid BatchId,
    IReadOnlyList<Document> Documents,
    IReadOnlyList<SampleScore> Scores,
    IReadOnlyList<ConsumerOffset> Offsets,
    byte[]? OutboxPayload = null);

/// <summary>What a batch write did.</summary>
/// <param name="BatchId">The batch.</param>
/// <param name="DocumentRows">Document rows inserted or changed.</param>
/// <param name="ScoreRows">Score rows inserted or updated.</param>
/// <param name="AlreadyApplied">True when the stored offsets showed the batch was committed before, so nothing was written.</param>
/// <param name="Attempts">Tries it took, 1 when no transient failure occurred.</param>
public sealed record ScoreBatchResult(Guid BatchId, bool AlreadyApplied, int DocumentRows, int ScoreRows, int Attempts)
{
    /// <summary>How the documents were stored in the attempt that committed.</summary>
    public RowWritePath DocumentPath { get; init; }

    /// <summary>How the score rows were stored in the attempt that committed.</summary>
    public RowWritePath ScorePath { get; init; }
}

/// <summary>How one table's rows of a batch were stored.</summary>
public enum RowWritePath
{
    /// <summary>Nothing to store (no rows, or the batch was already applied).</summary>
    None,

    /// <summary>Every key was new: one binary COPY straight into the table.</summary>
    Copied,

    /// <summary>Some key was stored already: COPY into a staging table, then INSERT ... ON CONFLICT DO UPDATE.</summary>
    Upserted,
}
