using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// An <see cref="IConsumer{TKey,TValue}"/> of an <see cref="InProcessKafkaCluster"/>, behaving like Confluent's
/// librdkafka-based consumer: group subscription with eager (range, round-robin) or cooperative-sticky
/// rebalancing whose assigned / revoked / lost handlers run on the consuming thread inside <c>Consume</c> or
/// <c>Close</c>; manual Assign / IncrementalAssign; blocking Consume; partition EOF events; Seek, Pause, Resume,
/// Position; auto and manual offset store and commit with librdkafka's rules; auto.offset.reset; deserialization
/// failures as <see cref="ConsumeException"/> carrying the raw record (the consumer has moved past it).
/// <para>
/// Honoured settings: group.id (required), client.id, auto.offset.reset, enable.auto.commit,
/// auto.commit.interval.ms, enable.auto.offset.store, enable.partition.eof, partition.assignment.strategy,
/// max.poll.interval.ms, session.timeout.ms, allow.auto.create.topics. Others are accepted and ignored.
/// </para>
/// <para>
/// Not supported: <see cref="Handle"/> and <see cref="ConsumerGroupMetadata"/> throw
/// <see cref="NotSupportedException"/> (no native handle, no transactions); <see cref="SetSaslCredentials"/> and
/// <see cref="AddBrokers"/> do nothing; log and statistics handlers are never called;
/// <see cref="GetWatermarkOffsets"/> returns the current watermarks rather than the last fetched ones.
/// </para>
/// <para>
/// Threading, as the real client: use one consumer from one thread. Commit, StoreOffset, Position, Pause and
/// Resume may be called from handlers. The cluster may be driven from any thread.
/// </para>
/// </summary>
public sealed partial class InProcessConsumer<TKey, TValue> : IConsumer<TKey, TValue>
{
    private const int WaitSliceMs = 50;
    private static readonly Error NoError = new(ErrorCode.NoError, "Success");

    private readonly InProcessKafkaCluster _cluster;
    private readonly ConsumerSettings _settings;
    private readonly ConsumerWiring<TKey, TValue> _wiring;
    private readonly string _name;
    private readonly List<PartitionCursor> _cursors = [];
    private readonly Queue<Action> _callbacks = new();
    private readonly Queue<Error> _consumerErrors = new();
    private List<string> _subscription = [];
    private GroupMember? _member;
    private int _nextCursor;
    private DateTimeOffset _lastAutoCommit;
    private BrokerOutage? _reportedOutage;
    private long _lastOutageErrorTick = long.MinValue;
    private bool _closed;
    private int _disposed;

    internal InProcessConsumer(InProcessKafkaCluster cluster, ConsumerSettings settings, ConsumerWiring<TKey, TValue> wiring)
    {
        this._cluster = cluster;
        this._settings = settings;
        this._wiring = wiring;
        _name = cluster.NextClientName(settings.ClientId, "consumer");
        _lastAutoCommit = cluster.Now;
    }

    private object Gate => _cluster.Gate;

    private ConsumerGroup Group => _cluster.Group(_settings.GroupId);

    /// <inheritdoc/>
    public string Name => _name;

    /// <inheritdoc/>
    public string MemberId
    {
        get { lock (Gate) return _member is { InGroup: true } ? _member.MemberId : ""; }
    }

    /// <inheritdoc/>
    public List<TopicPartition> Assignment
    {
        get { lock (Gate) return _cursors.Select(c => c.Partition).ToList(); }
    }

    /// <inheritdoc/>
    public List<string> Subscription
    {
        get { lock (Gate) return _subscription.ToList(); }
    }

    /// <summary>Not supported: there is no librdkafka handle.</summary>
    public Handle Handle => throw new NotSupportedException("The in-process consumer has no librdkafka handle.");

    /// <summary>Not supported: transactions are not emulated.</summary>
    public IConsumerGroupMetadata ConsumerGroupMetadata =>
        throw new NotSupportedException("Transactions are not emulated, so there is no consumer group metadata.");

    /// <summary>Does nothing: there are no broker connections.</summary>
    public int AddBrokers(string brokers) => 0;

    /// <summary>Does nothing: there is no authentication.</summary>
    public void SetSaslCredentials(string username, string password)
    {
    }

    // ---------------------------------------------------------------- consuming

    /// <inheritdoc/>
    public ConsumeResult<TKey, TValue>? Consume(int millisecondsTimeout) => ConsumeCore(millisecondsTimeout, CancellationToken.None);

    /// <inheritdoc/>
    public ConsumeResult<TKey, TValue>? Consume(TimeSpan timeout) =>
        ConsumeCore(timeout == Timeout.InfiniteTimeSpan ? -1 : (int)Math.Clamp(timeout.TotalMilliseconds, 0, int.MaxValue), CancellationToken.None);

    /// <summary>Blocks until a result arrives; throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public ConsumeResult<TKey, TValue> Consume(CancellationToken cancellationToken = default) =>
        ConsumeCore(-1, cancellationToken)!;

    private ConsumeResult<TKey, TValue>? ConsumeCore(int timeoutMs, CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        using var wake = cancellationToken.CanBeCanceled ? cancellationToken.Register(Wake) : default;
        SetInPoll(true);
        try
        {
            Fetched? fetched = null;
            while (fetched is null)
            {
                cancellationToken.ThrowIfCancellationRequested();
                RunCallbacks();
                ServeGroupEvents();
                lock (Gate)
                {
                    _cluster.Maintain();
                    if (_member is not null) _member.LastPoll = _cluster.Now;
                    if (_callbacks.Count > 0 || GroupEventsDue()) continue;
                    if (_cluster.CurrentOutage is { } outage)
                    {
                        if (ReportOutage(outage)) continue;
                    }
                    else
                    {
                        if (_consumerErrors.TryDequeue(out var error))
                            throw new ConsumeException(EmptyRecord(null, Partition.Any, Offset.Unset), error);
                        AutoCommitIfDue();
                        fetched = FetchNext();
                        if (fetched is not null) break;
                    }
                    long remaining = deadline - Environment.TickCount64;
                    if (remaining <= 0) return null;
                    if (!cancellationToken.IsCancellationRequested) Monitor.Wait(Gate, (int)Math.Min(remaining, WaitSliceMs));
                }
            }
            return Materialize(fetched);
        }
        finally
        {
            SetInPoll(false);
        }
    }

    /// <summary>True if an error callback was queued; throws in fail-fast mode (rate limited like reconnect backoff).</summary>
    private bool ReportOutage(BrokerOutage outage)
    {
        if (outage.Behaviour == OutageBehaviour.Fail)
        {
            long now = Environment.TickCount64;
            if (!ReferenceEquals(outage, _reportedOutage) || now - _lastOutageErrorTick >= (long)InProcessKafkaCluster.OutageErrorBackoff.TotalMilliseconds)
            {
                _reportedOutage = outage;
                _lastOutageErrorTick = now;
                throw new ConsumeException(EmptyRecord(null, Partition.Any, Offset.Unset), KafkaErrors.Create(outage.Error));
            }
            return false;
        }
        if (ReferenceEquals(outage, _reportedOutage)) return false;
        _reportedOutage = outage;
        if (_wiring.Error is not { } handler) return false;
        _callbacks.Enqueue(() => handler(this, KafkaErrors.Create(outage.Error)));
        return true;
    }

    private Fetched? FetchNext()
    {
        int n = _cursors.Count;
        for (int i = 0; i < n; i++)
        {
            int index = (_nextCursor + i) % n;
            var cursor = _cursors[index];
            if (cursor.Paused || cursor.PendingError is not null) continue;
            var log = _cluster.Topic(cursor.Partition.Topic)?.Partition(cursor.Partition.Partition.Value);
            if (log is null)
            {
                if (cursor.MissingReported) continue;
                cursor.MissingReported = true;
                _nextCursor = index + 1;
                return new Fetched(cursor.Partition, Offset.Unset.Value, null, false, KafkaErrors.Create(ErrorCode.UnknownTopicOrPart));
            }
            if (cursor.FetchPosition is not { } position || position < log.LowWatermark || position > log.HighWatermark)
            {
                if (!ResolveFetchPosition(cursor, log))
                {
                    _nextCursor = index + 1;
                    return new Fetched(cursor.Partition, Offset.Unset.Value, null, false, cursor.PendingError);
                }
                position = cursor.FetchPosition!.Value;
            }
            if (position < log.HighWatermark)
            {
                cursor.FetchPosition = position + 1;
                cursor.Position = position + 1;
                cursor.EofReported = false;
                // librdkafka stores the offset when it hands the message over, before .NET deserializes it.
                if (_settings.EnableAutoOffsetStore) cursor.Stored = position + 1;
                _nextCursor = index + 1;
                return new Fetched(cursor.Partition, position, log.Read(position), false, null);
            }
            if (_settings.EnablePartitionEof && !cursor.EofReported)
            {
                cursor.EofReported = true;
                _nextCursor = index + 1;
                return new Fetched(cursor.Partition, position, null, true, null);
            }
        }
        return null;
    }

    /// <summary>Resolves a logical start offset, or applies auto.offset.reset to a missing or out-of-range one.</summary>
    private bool ResolveFetchPosition(PartitionCursor cursor, PartitionLog log)
    {
        long? resolved = null;
        if (cursor.FetchPosition is null)
        {
            var start = cursor.Start;
            resolved = start.Value >= 0 ? start.Value
                : start == Offset.Beginning ? log.LowWatermark
                : start == Offset.End ? log.HighWatermark
                : start.Value <= -2000 ? Math.Max(log.LowWatermark, log.HighWatermark - (-2000 - start.Value))
                : Group.Committed.TryGetValue(cursor.Partition, out long committed) ? committed
                : null;
        }
        if (resolved is { } r && r >= log.LowWatermark && r <= log.HighWatermark)
        {
            cursor.FetchPosition = r;
            return true;
        }
        switch (_settings.AutoOffsetReset)
        {
            case AutoOffsetReset.Earliest:
                cursor.FetchPosition = log.LowWatermark;
                return true;
            case AutoOffsetReset.Latest:
                cursor.FetchPosition = log.HighWatermark;
                return true;
            default:
                cursor.PendingError = KafkaErrors.Create(ErrorCode.Local_AutoOffsetReset,
                    $"{cursor.Partition}: no valid offset to start from and auto.offset.reset is error");
                return false;
        }
    }

    private ConsumeResult<TKey, TValue> Materialize(Fetched fetched)
    {
        var tp = fetched.Partition;
        if (fetched.Error is { } error)
            throw new ConsumeException(EmptyRecord(tp.Topic, tp.Partition, fetched.Offset), error);
        var tpo = new TopicPartitionOffset(tp, fetched.Offset);
        if (fetched.IsEof)
            return new ConsumeResult<TKey, TValue> { TopicPartitionOffset = tpo, Message = null, IsPartitionEOF = true };

        var record = fetched.Record!;
        var headers = record.HeadersCopy();
        TKey key;
        try
        {
            key = _wiring.KeyDeserializer.Deserialize(record.Key, record.Key is null, new SerializationContext(MessageComponentType.Key, tp.Topic, headers));
        }
        catch (Exception ex)
        {
            throw new ConsumeException(RawRecord(tpo, record), KafkaErrors.Create(ErrorCode.Local_KeyDeserialization), ex);
        }
        TValue value;
        try
        {
            value = _wiring.ValueDeserializer.Deserialize(record.Value, record.Value is null, new SerializationContext(MessageComponentType.Value, tp.Topic, headers));
        }
        catch (Exception ex)
        {
            throw new ConsumeException(RawRecord(tpo, record), KafkaErrors.Create(ErrorCode.Local_ValueDeserialization), ex);
        }
        return new ConsumeResult<TKey, TValue>
        {
            TopicPartitionOffset = tpo,
            Message = new Message<TKey, TValue> { Key = key, Value = value, Headers = headers, Timestamp = record.Timestamp },
            IsPartitionEOF = false,
        };
    }

    private static ConsumeResult<byte[], byte[]> RawRecord(TopicPartitionOffset tpo, StoredRecord record) => new()
    {
        TopicPartitionOffset = tpo,
        Message = record.ToMessage(),
        IsPartitionEOF = false,
    };

    private static ConsumeResult<byte[], byte[]> EmptyRecord(string? topic, Partition partition, Offset offset) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset(topic, partition, offset),
        Message = new Message<byte[], byte[]> { Key = null!, Value = null!, Headers = new Headers(), Timestamp = new Timestamp(0, TimestampType.NotAvailable) },
        IsPartitionEOF = false,
    };

    // ---------------------------------------------------------------- lifecycle

    /// <summary>Revokes the assignment (handlers run on this thread), commits stored offsets if auto-commit is on, leaves the group, disposes.</summary>
    public void Close()
    {
        ThrowIfDisposed();
        LeaveGroup();
        RunCallbacks();
        _closed = true;
        if (TakeHandlerException() is { } ex) throw ex;
        Dispose();
    }

    /// <summary>
    /// Releases the consumer without leaving the group: as with the real client, the group rebalances only when
    /// its session times out (session.timeout.ms on the cluster's clock). Call <see cref="Close"/> first.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        lock (Gate)
        {
            if (!_closed && _member is { InGroup: true } m)
            {
                m.AbandonedAt = _cluster.Now;
                m.InPoll = false;
            }
            _cursors.Clear();
            _callbacks.Clear();
            _cluster.Signal();
        }
    }

    private void RunCallbacks()
    {
        while (true)
        {
            Action? callback;
            lock (Gate)
                if (!_callbacks.TryDequeue(out callback)) return;
            callback();
        }
    }

    private void SetInPoll(bool inPoll)
    {
        lock (Gate)
        {
            if (_member is null) return;
            _member.InPoll = inPoll;
            _member.LastPoll = _cluster.Now;
        }
    }

    private void Wake()
    {
        lock (Gate) _cluster.Signal();
    }

    private PartitionCursor? Find(TopicPartition tp) => _cursors.Find(c => c.Partition == tp);

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
