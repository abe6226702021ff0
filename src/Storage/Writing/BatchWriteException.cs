namespace Reweighting.Storage.Writing;

/// <summary>A batch could not be stored: a permanent error, or transient ones that outlasted the retries.
/// Nothing of the batch was committed.</summary>
public sealed class BatchWriteException(Guid batchId, string message, Exception inner)
    : Exception($"Batch {batchId} was not stored: {message}", inner)
{
    /// <summary>The batch that failed, to find it in the logs and replay it.</summary>
    public Guid BatchId { get; } = batchId;
}
