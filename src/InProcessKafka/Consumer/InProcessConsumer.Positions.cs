using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

// Seek, Position, Pause and Resume, and broker queries for offsets and watermarks.
public sealed partial class InProcessConsumer<TKey, TValue>
{
    /// <inheritdoc/>
    public void Seek(TopicPartitionOffset tpo)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            var cursor = Find(tpo.TopicPartition) ?? throw KafkaErrors.Exception(ErrorCode.Local_UnknownPartition, $"{tpo.TopicPartition} is not assigned");
            cursor.SeekTo(tpo.Offset);
            _cluster.Signal();
        }
    }

    /// <inheritdoc/>
    public Offset Position(TopicPartition partition)
    {
        ThrowIfDisposed();
        lock (Gate) return Find(partition)?.Position ?? Offset.Unset;
    }

    /// <summary>Pauses fetching from assigned partitions; unassigned ones are ignored.</summary>
    public void Pause(IEnumerable<TopicPartition> partitions) => SetPaused(partitions, true);

    /// <summary>Resumes fetching from assigned partitions; unassigned ones are ignored.</summary>
    public void Resume(IEnumerable<TopicPartition> partitions) => SetPaused(partitions, false);

    private void SetPaused(IEnumerable<TopicPartition> partitions, bool paused)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            foreach (var tp in partitions)
                if (Find(tp) is { } cursor) cursor.Paused = paused;
            _cluster.Signal();
        }
    }

    /// <summary>The partition's current low and high watermarks (the real client returns the last fetched ones).</summary>
    public WatermarkOffsets GetWatermarkOffsets(TopicPartition topicPartition)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            var log = _cluster.Topic(topicPartition.Topic)?.Partition(topicPartition.Partition.Value);
            return log is null ? new WatermarkOffsets(Offset.Unset, Offset.Unset) : new WatermarkOffsets(log.LowWatermark, log.HighWatermark);
        }
    }

    /// <inheritdoc/>
    public WatermarkOffsets QueryWatermarkOffsets(TopicPartition topicPartition, TimeSpan timeout)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            AwaitBroker(timeout);
            var log = _cluster.Topic(topicPartition.Topic)?.Partition(topicPartition.Partition.Value)
                ?? throw KafkaErrors.Exception(ErrorCode.UnknownTopicOrPart, topicPartition.ToString());
            return new WatermarkOffsets(log.LowWatermark, log.HighWatermark);
        }
    }

    /// <inheritdoc/>
    public List<TopicPartitionOffset> OffsetsForTimes(IEnumerable<TopicPartitionTimestamp> timestampsToSearch, TimeSpan timeout)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            AwaitBroker(timeout);
            return timestampsToSearch.Select(t =>
            {
                var log = _cluster.Topic(t.Topic)?.Partition(t.Partition.Value)
                    ?? throw KafkaErrors.Exception(ErrorCode.UnknownTopicOrPart, t.TopicPartition.ToString());
                return new TopicPartitionOffset(t.TopicPartition, log.OffsetForTime(t.Timestamp.UnixTimestampMs));
            }).ToList();
        }
    }
}
