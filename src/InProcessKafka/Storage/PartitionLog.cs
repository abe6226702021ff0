using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>One record as the broker stores it: bytes, headers and a timestamp; offsets are list positions.</summary>
internal sealed record StoredRecord(byte[]? Key, byte[]? Value, IReadOnlyList<(string Key, byte[]? Value)> Headers, Timestamp Timestamp)
{
    public static IReadOnlyList<(string, byte[]?)> CopyHeaders(Headers? headers) =>
        headers is null ? [] : headers.Select(h => (h.Key, h.GetValueBytes() is { } v ? (byte[]?)v.ToArray() : null)).ToArray();

    /// <summary>A fresh <see cref="Headers"/> each time, so a caller that edits it cannot change the log.</summary>
    public Headers HeadersCopy()
    {
        var headers = new Headers();
        foreach (var (key, value) in Headers) headers.Add(key, value?.ToArray());
        return headers;
    }

    public Message<byte[], byte[]> ToMessage() => new()
    {
        Key = Key?.ToArray()!,
        Value = Value?.ToArray()!,
        Headers = HeadersCopy(),
        Timestamp = Timestamp,
    };
}

/// <summary>An append-only partition log. Records before <see cref="LowWatermark"/> are deleted (retention).</summary>
internal sealed class PartitionLog
{
    private readonly List<StoredRecord> _records = [];

    public long LowWatermark { get; private set; }

    public long HighWatermark => _records.Count;

    public long Append(StoredRecord record)
    {
        _records.Add(record);
        return _records.Count - 1;
    }

    public StoredRecord Read(long offset) => _records[checked((int)offset)];

    public bool Contains(long offset) => offset >= LowWatermark && offset < HighWatermark;

    public void DeleteBefore(long offset) => LowWatermark = Math.Max(LowWatermark, Math.Min(offset, HighWatermark));

    /// <summary>First offset whose timestamp is at or after <paramref name="unixMs"/>, or -1 (end) if none.</summary>
    public long OffsetForTime(long unixMs)
    {
        for (long o = LowWatermark; o < HighWatermark; o++)
            if (_records[(int)o].Timestamp.UnixTimestampMs >= unixMs) return o;
        return Offset.End.Value;
    }
}

/// <summary>A topic: a name and its partitions.</summary>
internal sealed class TopicLog(string name, int partitions)
{
    public string Name { get; } = name;

    public List<PartitionLog> Partitions { get; } = Enumerable.Range(0, partitions).Select(_ => new PartitionLog()).ToList();

    public PartitionLog? Partition(int partition) =>
        partition >= 0 && partition < Partitions.Count ? Partitions[partition] : null;
}
