using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

// Offset store and commit, with librdkafka's rules: auto store on hand-over, auto commit on an interval and on removal.
public sealed partial class InProcessConsumer<TKey, TValue>
{
    /// <summary>Stores an offset for the next commit; needs enable.auto.offset.store=false and an assigned partition.</summary>
    public void StoreOffset(ConsumeResult<TKey, TValue> result) =>
        StoreOffset(new TopicPartitionOffset(result.TopicPartition, result.Offset + 1, result.LeaderEpoch));

    /// <summary>Stores an offset for the next commit; needs enable.auto.offset.store=false and an assigned partition.</summary>
    public void StoreOffset(TopicPartitionOffset offset)
    {
        ThrowIfDisposed();
        if (_settings.EnableAutoOffsetStore)
            throw KafkaErrors.Exception(ErrorCode.Local_InvalidArg, "StoreOffset requires enable.auto.offset.store=false");
        lock (Gate)
        {
            var cursor = Find(offset.TopicPartition) ?? throw KafkaErrors.Exception(ErrorCode.Local_State, $"{offset.TopicPartition} is not assigned");
            cursor.Stored = offset.Offset;
        }
    }

    /// <summary>Commits the stored offsets that moved since the last commit; throws Local_NoOffset when there are none.</summary>
    public List<TopicPartitionOffset> Commit()
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            var offsets = StoredOffsetsToCommit(_cursors);
            if (offsets.Count == 0) throw KafkaErrors.Exception(ErrorCode.Local_NoOffset);
            CommitOrThrow(offsets);
            return offsets;
        }
    }

    /// <inheritdoc/>
    public void Commit(IEnumerable<TopicPartitionOffset> offsets)
    {
        ThrowIfDisposed();
        lock (Gate) CommitOrThrow(offsets.ToList());
    }

    /// <inheritdoc/>
    public void Commit(ConsumeResult<TKey, TValue> result)
    {
        if (result.Message is null)
            throw new InvalidOperationException("Attempt was made to commit offset corresponding to an empty consume result");
        Commit([new TopicPartitionOffset(result.TopicPartition, result.Offset + 1, result.LeaderEpoch)]);
    }

    /// <inheritdoc/>
    public List<TopicPartitionOffset> Committed(TimeSpan timeout) => Committed(Assignment, timeout);

    /// <inheritdoc/>
    public List<TopicPartitionOffset> Committed(IEnumerable<TopicPartition> partitions, TimeSpan timeout)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            AwaitBroker(timeout);
            var committed = Group.Committed;
            return partitions.Select(tp => new TopicPartitionOffset(tp, committed.TryGetValue(tp, out long o) ? o : Offset.Unset)).ToList();
        }
    }

    private List<TopicPartitionOffset> StoredOffsetsToCommit(IEnumerable<PartitionCursor> from)
    {
        var committed = Group.Committed;
        return from
            .Where(c => c.Stored.Value >= 0 && (!committed.TryGetValue(c.Partition, out long o) || o != c.Stored.Value))
            .Select(c => new TopicPartitionOffset(c.Partition, c.Stored))
            .ToList();
    }

    private void CommitOrThrow(List<TopicPartitionOffset> offsets)
    {
        if (TryCommit(offsets) is { } error) throw new KafkaException(error);
    }

    /// <summary>Writes offsets to the group; the offsets-committed handler hears of it on the next poll.</summary>
    private Error? TryCommit(List<TopicPartitionOffset> offsets)
    {
        Error? error = _cluster.CurrentOutage is { } outage ? KafkaErrors.Create(outage.Error)
            : _cluster.TakeCommitFailure() is { } code ? KafkaErrors.Create(code)
            : _member is { Lost: not null } ? KafkaErrors.Create(ErrorCode.UnknownMemberId)
            : null;
        if (error is null)
        {
            var committed = Group.Committed;
            foreach (var tpo in offsets.Where(t => t.Offset.Value >= 0)) committed[tpo.TopicPartition] = tpo.Offset.Value;
        }
        if (_wiring.OffsetsCommitted is { } handler)
        {
            var report = new CommittedOffsets(offsets.Select(t => new TopicPartitionOffsetError(t, error ?? NoError)).ToList(), error ?? NoError);
            _callbacks.Enqueue(() => handler(this, report));
        }
        return error;
    }

    private void AutoCommitIfDue()
    {
        if (!_settings.EnableAutoCommit || _cluster.Now - _lastAutoCommit < _settings.AutoCommitInterval) return;
        _lastAutoCommit = _cluster.Now;
        var offsets = StoredOffsetsToCommit(_cursors);
        if (offsets.Count > 0) TryCommit(offsets);
    }

    /// <summary>Waits out a stalling outage up to the timeout (then Local_TimedOut); a failing one throws at once.</summary>
    private void AwaitBroker(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        while (true)
        {
            _cluster.Maintain();
            if (_cluster.CurrentOutage is not { } outage) return;
            if (outage.Behaviour == OutageBehaviour.Fail) throw KafkaErrors.Exception(outage.Error);
            long remaining = deadline - Environment.TickCount64;
            if (remaining <= 0) throw KafkaErrors.Exception(ErrorCode.Local_TimedOut);
            Monitor.Wait(Gate, (int)Math.Min(remaining, WaitSliceMs));
        }
    }
}
