namespace Reweighting.Contracts;

/// <summary>Kafka topic names and the record headers the pipeline sets; docs/contracts.md describes each.</summary>
public static class Topics
{
    /// <summary>Input documents. Key: document id (UTF-8); value: JSON <see cref="Documents.DocumentRecord"/>.</summary>
    public const string Documents = "documents";

    /// <summary>Rejected input documents. Key: the original key; value: JSON <see cref="Documents.DeadLetterRecord"/>.</summary>
    public const string DocumentsDeadLetter = "documents.dlq";

    /// <summary>Scored batches. Key: batch id ("D" form, UTF-8); value: binary <see cref="Batches.ScoredBatchCodec"/>.</summary>
    public const string ScoredBatches = "scored-batches";

    /// <summary>Scored batches the trainer rejected. Key: the original key; value: JSON <see cref="Batches.ScoredBatchDeadLetterRecord"/>.</summary>
    public const string ScoredBatchesDeadLetter = "scored-batches.dlq";

    /// <summary>Names of Kafka record headers. Headers are hints for tools and routing: readers trust the value's
    /// own magic and version, never a header alone.</summary>
    public static class Headers
    {
        /// <summary>MIME type of the value (one of <see cref="ContentTypes"/>).</summary>
        public const string ContentType = "content-type";

        /// <summary>Schema version of the value, "major.minor" (e.g. "1.1").</summary>
        public const string SchemaVersion = "schema-version";

        /// <summary>On <c>documents.dlq</c> and <c>scored-batches.dlq</c>: the reason code (e.g. "not-json"), so tools can
        /// filter without parsing.</summary>
        public const string DeadLetterReason = "dlq-reason";

        /// <summary>The instance (host, process) that produced the record.</summary>
        public const string Producer = "producer";
    }

    /// <summary>Values of the <see cref="Headers.ContentType"/> header.</summary>
    public static class ContentTypes
    {
        /// <summary>A document record or a DLQ record.</summary>
        public const string Json = "application/json";

        /// <summary>A scored batch in the binary format of <see cref="Batches.ScoredBatchCodec"/>.</summary>
        public const string ScoredBatch = "application/vnd.reweighting.scored-batch";
    }
}
