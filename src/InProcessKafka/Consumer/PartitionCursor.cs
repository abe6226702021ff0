using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>A consumer's state for one assigned partition.</summary>
internal sealed class PartitionCursor(TopicPartition partition, Offset start)
{
    public TopicPartition Partition { get; } = partition;

    /// <summary>Where consumption should start (an offset, or Beginning/End/Stored/Unset/tail), resolved on the next fetch.</summary>
    public Offset Start { get; set; } = start;

    /// <summary>The next offset to hand out; null until resolved.</summary>
    public long? FetchPosition { get; set; }

    /// <summary>What <c>Position()</c> reports: last consumed offset + 1, the seek target, or Unset.</summary>
    public Offset Position { get; set; } = Offset.Unset;

    /// <summary>The offset the next commit will write (auto or explicit offset store).</summary>
    public Offset Stored { get; set; } = Offset.Unset;

    public bool Paused { get; set; }

    public bool EofReported { get; set; }

    /// <summary>An auto.offset.reset=error failure: fetching stops until the application seeks.</summary>
    public Error? PendingError { get; set; }

    public bool MissingReported { get; set; }

    public void SeekTo(Offset offset)
    {
        Start = offset;
        FetchPosition = null;
        Position = offset.Value >= 0 ? offset : Offset.Unset;
        EofReported = false;
        PendingError = null;
    }
}

/// <summary>What one fetch produced: a record, an end-of-partition event, or a consumer error.</summary>
internal sealed record Fetched(TopicPartition Partition, long Offset, StoredRecord? Record, bool IsEof, Error? Error);
