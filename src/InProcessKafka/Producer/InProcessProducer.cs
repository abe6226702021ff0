using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// An <see cref="IProducer{TKey,TValue}"/> of an <see cref="InProcessKafkaCluster"/>. Records are appended at the
/// call (so offsets follow call order) unless an outage stalls them; delivery reports and ProduceAsync results are
/// completed on the producer's own delivery thread, in order, like the real client's poll thread.
/// <para>
/// Emulated: sync and async serializers (serialization errors raise <see cref="ProduceException{TKey,TValue}"/>
/// with Local_KeySerialization / Local_ValueSerialization), librdkafka's partitioners and custom partitioners,
/// message.max.bytes (MsgSizeTooLarge, thrown at the call), message.timeout.ms (while an outage stalls),
/// explicit-partition produce (Local_UnknownPartition), unknown topics (Local_UnknownTopic unless the cluster
/// auto-creates), Flush, and delivery-handler-less fire-and-forget.
/// </para>
/// <para>
/// Idempotence: the in-process broker never reorders or loses a request, so every producer keeps per-partition
/// order. What enable.idempotence changes is the outcome of a lost acknowledgement
/// (<see cref="InProcessKafkaCluster.DropNextProduceAcks"/>): idempotent producers end with exactly one copy; plain
/// producers retry and write a duplicate (or, with message.send.max.retries=0, report Local_MsgTimedOut as
/// PossiblyPersisted). The acks and max.in.flight checks for idempotence are enforced at Build, as librdkafka does.
/// </para>
/// <para>
/// Not supported: transactions (InitTransactions, BeginTransaction, CommitTransaction, AbortTransaction,
/// SendOffsetsToTransaction throw <see cref="NotSupportedException"/>), <see cref="Handle"/> (throws),
/// <see cref="SetSaslCredentials"/> and <see cref="AddBrokers"/> (do nothing), log and statistics handlers (never
/// called); <see cref="Poll"/> serves nothing (reports are always dispatched by the delivery thread). An exception
/// thrown by a delivery handler is rethrown by the next Flush. Dispose fails stalled messages with Local_Destroy.
/// </para>
/// </summary>
public sealed class InProcessProducer<TKey, TValue> : IProducer<TKey, TValue>
{
    private const int WaitSliceMs = 50;
    private static readonly Error NoError = new(ErrorCode.NoError, "Success");

    private readonly InProcessKafkaCluster _cluster;
    private readonly ProducerSettings _settings;
    private readonly ProducerWiring<TKey, TValue> _wiring;
    private readonly string _name;
    private readonly Queue<PendingDelivery> _stalled = new();
    private readonly Queue<(Action Run, bool IsReport)> _dispatch = new();
    private readonly Thread _deliveryThread;
    private int _inFlight;
    private bool _stopping;
    private int _disposed;
    private BrokerOutage? _reportedOutage;
    private Exception? _deliveryHandlerException;

    internal InProcessProducer(InProcessKafkaCluster cluster, ProducerSettings settings, ProducerWiring<TKey, TValue> wiring)
    {
        this._cluster = cluster;
        this._settings = settings;
        this._wiring = wiring;
        _name = cluster.NextClientName(settings.ClientId, "producer");
        _deliveryThread = new Thread(DeliveryLoop) { IsBackground = true, Name = $"{_name} delivery" };
        _deliveryThread.Start();
    }

    private sealed record PendingDelivery(TopicPartition Target, byte[]? Key, byte[]? Value, Headers Headers, Timestamp Timestamp,
        Message<TKey, TValue> Message, DateTimeOffset Deadline, Action<DeliveryReport<TKey, TValue>> Complete);

    private object Gate => _cluster.Gate;

    /// <inheritdoc/>
    public string Name => _name;

    /// <summary>Not supported: there is no librdkafka handle.</summary>
    public Handle Handle => throw new NotSupportedException("The in-process producer has no librdkafka handle.");

    /// <summary>Does nothing: there are no broker connections.</summary>
    public int AddBrokers(string brokers) => 0;

    /// <summary>Does nothing: there is no authentication.</summary>
    public void SetSaslCredentials(string username, string password)
    {
    }

    // ---------------------------------------------------------------- produce

    /// <inheritdoc/>
    public Task<DeliveryResult<TKey, TValue>> ProduceAsync(string topic, Message<TKey, TValue> message, CancellationToken cancellationToken = default) =>
        ProduceAsync(new TopicPartition(topic, Partition.Any), message, cancellationToken);

    /// <summary>
    /// Produces and completes with the record's partition and offset, or fails with
    /// <see cref="ProduceException{TKey,TValue}"/>. Cancelling stops the wait, not the delivery.
    /// </summary>
    public async Task<DeliveryResult<TKey, TValue>> ProduceAsync(TopicPartition topicPartition, Message<TKey, TValue> message,
        CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(message);
        cancellationToken.ThrowIfCancellationRequested();
        var headers = message.Headers ?? new Headers();
        byte[]? key = await SerializeAsync(_wiring.KeySerializer, _wiring.AsyncKeySerializer, message.Key, MessageComponentType.Key,
            topicPartition, headers, message, ErrorCode.Local_KeySerialization).ConfigureAwait(false);
        byte[]? value = await SerializeAsync(_wiring.ValueSerializer, _wiring.AsyncValueSerializer, message.Value, MessageComponentType.Value,
            topicPartition, headers, message, ErrorCode.Local_ValueSerialization).ConfigureAwait(false);

        var completion = new TaskCompletionSource<DeliveryResult<TKey, TValue>>(TaskCreationOptions.RunContinuationsAsynchronously);
        Submit(topicPartition, key, value, headers, message, report =>
        {
            var result = ToResult(report);
            if (report.Error.IsError) completion.TrySetException(new ProduceException<TKey, TValue>(report.Error, result));
            else completion.TrySetResult(result);
        });
        using var cancel = cancellationToken.Register(() => completion.TrySetCanceled(cancellationToken));
        return await completion.Task.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public void Produce(string topic, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? deliveryHandler = null) =>
        Produce(new TopicPartition(topic, Partition.Any), message, deliveryHandler);

    /// <summary>Produces; the handler runs on the delivery thread. Needs synchronous serializers.</summary>
    public void Produce(TopicPartition topicPartition, Message<TKey, TValue> message, Action<DeliveryReport<TKey, TValue>>? deliveryHandler = null)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(message);
        if (deliveryHandler is not null && !_settings.EnableDeliveryReports)
            throw new InvalidOperationException("A delivery handler was specified, but delivery reports are disabled.");
        if (_wiring.KeySerializer is null)
            throw new InvalidOperationException("Produce called with an IAsyncSerializer key serializer configured but an ISerializer is required.");
        if (_wiring.ValueSerializer is null)
            throw new InvalidOperationException("Produce called with an IAsyncSerializer value serializer configured but an ISerializer is required.");
        var headers = message.Headers ?? new Headers();
        byte[]? key = Serialize(_wiring.KeySerializer, message.Key, MessageComponentType.Key, topicPartition, headers, message, ErrorCode.Local_KeySerialization);
        byte[]? value = Serialize(_wiring.ValueSerializer, message.Value, MessageComponentType.Value, topicPartition, headers, message, ErrorCode.Local_ValueSerialization);
        Submit(topicPartition, key, value, headers, message, report => deliveryHandler?.Invoke(report));
    }

    private static byte[]? Serialize<T>(ISerializer<T> serializer, T data, MessageComponentType component, TopicPartition target,
        Headers headers, Message<TKey, TValue> message, ErrorCode failure)
    {
        try
        {
            return serializer.Serialize(data, new SerializationContext(component, target.Topic, headers));
        }
        catch (Exception ex)
        {
            throw new ProduceException<TKey, TValue>(KafkaErrors.Create(failure), Unsent(target, message), ex);
        }
    }

    private static async Task<byte[]?> SerializeAsync<T>(ISerializer<T>? serializer, IAsyncSerializer<T>? asyncSerializer, T data,
        MessageComponentType component, TopicPartition target, Headers headers, Message<TKey, TValue> message, ErrorCode failure)
    {
        if (serializer is not null) return Serialize(serializer, data, component, target, headers, message, failure);
        try
        {
            return await asyncSerializer!.SerializeAsync(data, new SerializationContext(component, target.Topic, headers)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw new ProduceException<TKey, TValue>(KafkaErrors.Create(failure), Unsent(target, message), ex);
        }
    }

    /// <summary>librdkafka's synchronous checks, then delivery now, or a place in the stalled queue during an outage.</summary>
    private void Submit(TopicPartition target, byte[]? key, byte[]? value, Headers headers, Message<TKey, TValue> message,
        Action<DeliveryReport<TKey, TValue>> complete)
    {
        long size = (key?.Length ?? 0) + (value?.Length ?? 0);
        if (size > _settings.MessageMaxBytes)
            throw new ProduceException<TKey, TValue>(KafkaErrors.Create(ErrorCode.MsgSizeTooLarge,
                $"{size} bytes > message.max.bytes {_settings.MessageMaxBytes}"), Unsent(target, message));
        if (message.Timestamp.Type is not (TimestampType.NotAvailable or TimestampType.CreateTime))
            throw new ArgumentException("Timestamp must be either Timestamp.Default, or Timestamp.CreateTime.");
        lock (Gate)
        {
            ThrowIfDisposed();
            _cluster.Maintain();
            var now = _cluster.Now;
            var timestamp = message.Timestamp.Type == TimestampType.CreateTime ? message.Timestamp
                : new Timestamp(now.ToUnixTimeMilliseconds(), TimestampType.CreateTime);
            var item = new PendingDelivery(target, key, value, headers, timestamp, message, now + _settings.MessageTimeout, complete);
            _inFlight++;
            if (_stalled.Count > 0 || _cluster.CurrentOutage is { Behaviour: OutageBehaviour.Stall })
                _stalled.Enqueue(item);
            else
                Report(item, Deliver(item));
            _cluster.Signal();
        }
    }

    /// <summary>Appends the record (under the cluster lock) and says how it went.</summary>
    private DeliveryReport<TKey, TValue> Deliver(PendingDelivery item)
    {
        var target = item.Target;
        if (_cluster.CurrentOutage is { } outage) return Failed(item, target, KafkaErrors.Create(outage.Error), PersistenceStatus.NotPersisted);
        if (_cluster.TakeProduceFailure() is { } code) return Failed(item, target, KafkaErrors.Create(code), PersistenceStatus.NotPersisted);

        var topic = _cluster.Topic(target.Topic)
            ?? (_cluster.Options.AutoCreateTopics ? _cluster.CreateTopicUnderLock(target.Topic, InProcessKafkaCluster.AutoCreatedPartitions) : null);
        if (topic is null) return Failed(item, target, KafkaErrors.Create(ErrorCode.Local_UnknownTopic, target.Topic), PersistenceStatus.NotPersisted);
        int partition = target.Partition == Partition.Any ? ChoosePartition(target.Topic, item.Key, topic.Partitions.Count) : target.Partition.Value;
        var log = topic.Partition(partition);
        if (log is null)
            return Failed(item, target, KafkaErrors.Create(ErrorCode.Local_UnknownPartition, $"{target.Topic} [{partition}]"), PersistenceStatus.NotPersisted);

        var record = new StoredRecord(item.Key, item.Value, StoredRecord.CopyHeaders(item.Headers), item.Timestamp);
        long offset = log.Append(record);
        if (_cluster.TakeDroppedAck() && !_settings.EnableIdempotence)
        {
            if (_settings.MessageSendMaxRetries == 0)
                return Failed(item, new TopicPartition(target.Topic, partition), KafkaErrors.Create(ErrorCode.Local_MsgTimedOut),
                    PersistenceStatus.PossiblyPersisted);
            offset = log.Append(record); // the retry of a request whose ack was lost: a duplicate
        }
        return new DeliveryReport<TKey, TValue>
        {
            TopicPartitionOffset = new TopicPartitionOffset(target.Topic, partition, offset),
            Error = NoError,
            Status = PersistenceStatus.Persisted,
            Message = Delivered(item),
        };
    }

    private int ChoosePartition(string topic, byte[]? key, int partitionCount)
    {
        var custom = _wiring.Partitioners.GetValueOrDefault(topic) ?? _wiring.DefaultPartitioner;
        if (custom is not null) return custom(topic, partitionCount, key, key is null).Value;
        return KeyPartitioner.Choose(_settings.Partitioner, key, key is null, partitionCount, _cluster.Random);
    }

    private static DeliveryReport<TKey, TValue> Failed(PendingDelivery item, TopicPartition target, Error error, PersistenceStatus status) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset(target, Offset.Unset),
        Error = error,
        Status = status,
        Message = Delivered(item),
    };

    private static Message<TKey, TValue> Delivered(PendingDelivery item) => new()
    {
        Key = item.Message.Key,
        Value = item.Message.Value,
        Headers = item.Headers,
        Timestamp = item.Timestamp,
    };

    private static DeliveryResult<TKey, TValue> ToResult(DeliveryReport<TKey, TValue> report) => new()
    {
        TopicPartitionOffset = report.TopicPartitionOffset,
        Status = report.Status,
        Message = report.Message,
    };

    private static DeliveryResult<TKey, TValue> Unsent(TopicPartition target, Message<TKey, TValue> message) => new()
    {
        TopicPartitionOffset = new TopicPartitionOffset(target, Offset.Unset),
        Status = PersistenceStatus.NotPersisted,
        Message = message,
    };

    private void Report(PendingDelivery item, DeliveryReport<TKey, TValue> report) => _dispatch.Enqueue((() => item.Complete(report), true));

    // ---------------------------------------------------------------- delivery thread

    private void DeliveryLoop()
    {
        while (true)
        {
            List<(Action Run, bool IsReport)> batch;
            lock (Gate)
            {
                while (true)
                {
                    _cluster.Maintain();
                    MoveStalled();
                    if (_dispatch.Count > 0) break;
                    if (_stopping) return;
                    Monitor.Wait(Gate, WaitSliceMs);
                }
                batch = [.. _dispatch];
                _dispatch.Clear();
            }
            foreach (var (run, _) in batch)
            {
                try
                {
                    run();
                }
                catch (Exception ex)
                {
                    lock (Gate) _deliveryHandlerException ??= ex;
                }
            }
            lock (Gate)
            {
                _inFlight -= batch.Count(b => b.IsReport);
                _cluster.Signal();
            }
        }
    }

    /// <summary>Delivers stalled messages in order once the brokers are back; times out those past message.timeout.ms.</summary>
    private void MoveStalled()
    {
        var outage = _cluster.CurrentOutage;
        if (outage is { Behaviour: OutageBehaviour.Stall } && !ReferenceEquals(outage, _reportedOutage))
        {
            _reportedOutage = outage;
            if (_wiring.Error is { } handler) _dispatch.Enqueue((() => handler(this, KafkaErrors.Create(outage.Error)), false));
        }
        var now = _cluster.Now;
        while (_stalled.TryPeek(out var item))
        {
            if (_stopping)
                Report(_stalled.Dequeue(), Failed(item, item.Target, KafkaErrors.Create(ErrorCode.Local_Destroy), PersistenceStatus.NotPersisted));
            else if (outage is not { Behaviour: OutageBehaviour.Stall })
                Report(_stalled.Dequeue(), Deliver(item));
            else if (now >= item.Deadline)
                Report(_stalled.Dequeue(), Failed(item, item.Target, KafkaErrors.Create(ErrorCode.Local_MsgTimedOut), PersistenceStatus.NotPersisted));
            else
                break;
        }
    }

    // ---------------------------------------------------------------- flush, poll, lifecycle

    /// <summary>Waits until every message is delivered or failed and its report dispatched; returns how many are still out.</summary>
    public int Flush(TimeSpan timeout)
    {
        ThrowIfDisposed();
        long deadline = Environment.TickCount64 + (long)Math.Max(0, timeout.TotalMilliseconds);
        lock (Gate)
        {
            while (_inFlight > 0)
            {
                long remaining = deadline - Environment.TickCount64;
                if (remaining <= 0) break;
                Monitor.Wait(Gate, (int)Math.Min(remaining, WaitSliceMs));
            }
            ThrowDeliveryHandlerException();
            return _inFlight;
        }
    }

    /// <summary>Waits until every message is delivered or failed; throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    public void Flush(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            while (_inFlight > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Monitor.Wait(Gate, WaitSliceMs);
            }
            ThrowDeliveryHandlerException();
        }
    }

    /// <summary>Serves nothing (the delivery thread dispatches reports); waits at most <paramref name="timeout"/> for activity.</summary>
    public int Poll(TimeSpan timeout)
    {
        ThrowIfDisposed();
        lock (Gate) Monitor.Wait(Gate, (int)Math.Clamp(timeout.TotalMilliseconds, 0, WaitSliceMs));
        return 0;
    }

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void InitTransactions(TimeSpan timeout) => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void BeginTransaction() => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void CommitTransaction(TimeSpan timeout) => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void CommitTransaction() => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void AbortTransaction(TimeSpan timeout) => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void AbortTransaction() => throw TransactionsNotSupported();

    /// <summary>Not supported: transactions are not emulated.</summary>
    public void SendOffsetsToTransaction(IEnumerable<TopicPartitionOffset> offsets, IConsumerGroupMetadata groupMetadata, TimeSpan timeout) =>
        throw TransactionsNotSupported();

    /// <summary>Stops the delivery thread after it has failed stalled messages (Local_Destroy) and dispatched every report.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        lock (Gate)
        {
            _stopping = true;
            _cluster.Signal();
        }
        if (Thread.CurrentThread != _deliveryThread) _deliveryThread.Join();
    }

    private void ThrowDeliveryHandlerException()
    {
        if (_deliveryHandlerException is not { } ex) return;
        _deliveryHandlerException = null;
        throw new InvalidOperationException("A delivery handler threw.", ex);
    }

    private static NotSupportedException TransactionsNotSupported() =>
        new("Transactions are not emulated by the in-process producer.");

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
}
