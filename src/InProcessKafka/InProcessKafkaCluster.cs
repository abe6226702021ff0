using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// A Kafka cluster held in memory, the in-process broker of the demo and the tests: topics of N partitions holding
/// append-only logs of byte records with headers and timestamps, consumer groups with committed offsets and
/// rebalancing, and fault injection (broker outages, failed or duplicated produce requests, failed commits, poison
/// records). Clients come from
/// <see cref="CreateConsumer{TKey,TValue}"/> / <see cref="CreateProducer{TKey,TValue}"/>, or from
/// <see cref="ConsumerBuilder{TKey,TValue}"/> / <see cref="ProducerBuilder{TKey,TValue}"/>, which are real
/// Confluent builders, so the same handler wiring runs against this cluster and a real one.
/// The cluster is thread-safe; every client follows the real client's threading rules.
/// </summary>
public sealed class InProcessKafkaCluster
{
    private static readonly TimeSpan OutageErrorInterval = TimeSpan.FromMilliseconds(100);

    // Fixed, so that null keys under the random partitioners land on the same partitions on every run.
    private const int RandomSeed = 1;

    private readonly Dictionary<string, TopicLog> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);
    private readonly Random _random;
    private readonly Queue<ErrorCode> _produceFailures = new();
    private readonly Queue<ErrorCode> _commitFailures = new();
    private int _droppedAcks;
    private int _outageEpoch;
    private int _clientCount;
    private long _memberCount;

    /// <summary>Creates an empty cluster.</summary>
    public InProcessKafkaCluster(InProcessKafkaOptions? options = null)
    {
        Options = options ?? new InProcessKafkaOptions();
        _random = new Random(RandomSeed);
    }

    /// <summary>The broker-side settings.</summary>
    public InProcessKafkaOptions Options { get; }

    /// <summary>Guards all cluster, group and client state; waiters are woken with PulseAll on every change.</summary>
    internal object Gate { get; } = new();

    internal DateTimeOffset Now => Options.Time.GetUtcNow();

    internal static TimeSpan OutageErrorBackoff => OutageErrorInterval;

    /// <summary>Partitions of an auto-created topic: the broker's <c>num.partitions</c> default.</summary>
    internal const int AutoCreatedPartitions = 1;

    // ---------------------------------------------------------------- topics and logs

    /// <summary>Creates a topic; throws <see cref="KafkaException"/> (TopicAlreadyExists) if it exists.</summary>
    public void CreateTopic(string name, int partitions = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        lock (Gate)
        {
            if (_topics.ContainsKey(name)) throw KafkaErrors.Exception(ErrorCode.TopicAlreadyExists, name);
            CreateTopicUnderLock(name, partitions);
        }
    }

    /// <summary>The partition count of a topic; throws <see cref="KafkaException"/> (UnknownTopicOrPart) if absent.</summary>
    public int PartitionCount(string topic)
    {
        lock (Gate) return RequireTopic(topic).Partitions.Count;
    }

    /// <summary>
    /// Appends raw bytes exactly as given, bypassing serializers: the way to plant a poison record that a
    /// consumer's deserializer rejects. A null <paramref name="partition"/> picks one with the default partitioner.
    /// </summary>
    public TopicPartitionOffset AppendRaw(string topic, int? partition, byte[]? key, byte[]? value,
        Headers? headers = null, DateTimeOffset? timestamp = null)
    {
        lock (Gate)
        {
            var log = _topics.TryGetValue(topic, out var existing) ? existing
                : Options.AutoCreateTopics ? CreateTopicUnderLock(topic, AutoCreatedPartitions)
                : throw KafkaErrors.Exception(ErrorCode.UnknownTopicOrPart, topic);
            int p = partition ?? KeyPartitioner.Choose(Partitioner.ConsistentRandom, key, key is null, log.Partitions.Count, _random);
            var target = log.Partition(p) ?? throw KafkaErrors.Exception(ErrorCode.Local_UnknownPartition, $"{topic} [{p}]");
            var ts = new Timestamp((timestamp ?? Now).ToUnixTimeMilliseconds(), TimestampType.CreateTime);
            long offset = target.Append(new StoredRecord(key?.ToArray(), value?.ToArray(), StoredRecord.CopyHeaders(headers), ts));
            Signal();
            return new TopicPartitionOffset(topic, p, offset);
        }
    }

    /// <summary>The retained records of a partition, in offset order, as raw bytes.</summary>
    public IReadOnlyList<ConsumeResult<byte[], byte[]>> Read(TopicPartition partition)
    {
        lock (Gate)
        {
            var log = RequirePartition(partition);
            var list = new List<ConsumeResult<byte[], byte[]>>();
            for (long o = log.LowWatermark; o < log.HighWatermark; o++)
                list.Add(new ConsumeResult<byte[], byte[]>
                {
                    TopicPartitionOffset = new TopicPartitionOffset(partition, o),
                    Message = log.Read(o).ToMessage(),
                });
            return list;
        }
    }

    /// <summary>All retained records of a topic, partition by partition.</summary>
    public IReadOnlyList<ConsumeResult<byte[], byte[]>> ReadTopic(string topic)
    {
        int count = PartitionCount(topic);
        return Enumerable.Range(0, count).SelectMany(p => Read(new TopicPartition(topic, p))).ToList();
    }

    /// <summary>Low (first retained) and high (next to be written) offsets of a partition.</summary>
    public WatermarkOffsets Watermarks(TopicPartition partition)
    {
        lock (Gate)
        {
            var log = RequirePartition(partition);
            return new WatermarkOffsets(log.LowWatermark, log.HighWatermark);
        }
    }

    /// <summary>Deletes records before <paramref name="offset"/> (like retention or DeleteRecords); consumers behind it reset.</summary>
    public void DeleteRecords(TopicPartition partition, long offset)
    {
        lock (Gate)
        {
            RequirePartition(partition).DeleteBefore(offset);
            Signal();
        }
    }

    // ---------------------------------------------------------------- groups

    /// <summary>The offset a group has committed for a partition, or <see cref="Offset.Unset"/>.</summary>
    public Offset CommittedOffset(string groupId, TopicPartition partition)
    {
        lock (Gate)
            return _groups.TryGetValue(groupId, out var group) && group.Committed.TryGetValue(partition, out long o) ? o : Offset.Unset;
    }

    /// <summary>Sets a group's committed offsets directly, as an admin tool would (AlterConsumerGroupOffsets).</summary>
    public void SetCommittedOffsets(string groupId, IEnumerable<TopicPartitionOffset> offsets)
    {
        lock (Gate)
        {
            var group = Group(groupId);
            foreach (var tpo in offsets) group.Committed[tpo.TopicPartition] = tpo.Offset.Value;
        }
    }

    /// <summary>Each current member of a group (by member id) and the partitions it holds.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<TopicPartition>> GroupAssignment(string groupId)
    {
        lock (Gate)
        {
            if (!_groups.TryGetValue(groupId, out var group)) return new Dictionary<string, IReadOnlyList<TopicPartition>>();
            return group.Members.ToDictionary(m => m.MemberId,
                m => (IReadOnlyList<TopicPartition>)m.Owned.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition.Value).ToList());
        }
    }

    // ---------------------------------------------------------------- faults

    /// <summary>
    /// Makes every broker unreachable until <see cref="EndOutage()"/>, disposal of the result, or
    /// <paramref name="duration"/> on the cluster's clock. Members whose <c>session.timeout.ms</c> is shorter than
    /// the outage lose their partitions when it ends, as librdkafka's consumers do.
    /// </summary>
    public BrokerOutage StartOutage(ErrorCode error = ErrorCode.Local_AllBrokersDown,
        OutageBehaviour behaviour = OutageBehaviour.Fail, TimeSpan? duration = null)
    {
        lock (Gate)
        {
            var now = Now;
            if (CurrentOutage is not null) EndOutageUnderLock(now);
            CurrentOutage = new BrokerOutage(this, ++_outageEpoch, error, behaviour, now, now + duration);
            Signal();
            return CurrentOutage;
        }
    }

    /// <summary>Ends the current outage, if any.</summary>
    public void EndOutage()
    {
        lock (Gate) EndOutageUnderLock(Now);
    }

    internal void EndOutage(BrokerOutage outage)
    {
        lock (Gate)
            if (ReferenceEquals(CurrentOutage, outage)) EndOutageUnderLock(Now);
    }

    /// <summary>True while no outage is in force.</summary>
    public bool IsAvailable
    {
        get
        {
            lock (Gate)
            {
                Maintain();
                return CurrentOutage is null;
            }
        }
    }

    /// <summary>
    /// The next <paramref name="count"/> produce requests are written but their acknowledgement is lost. The
    /// producer retries: an idempotent producer's retry is deduplicated by the broker (one copy, success); a
    /// plain producer's retry writes a second copy (duplicate, success at the second offset); a plain producer
    /// with <c>message.send.max.retries=0</c> reports <see cref="ErrorCode.Local_MsgTimedOut"/>, possibly persisted.
    /// </summary>
    public void DropNextProduceAcks(int count = 1)
    {
        lock (Gate) _droppedAcks += count;
    }

    /// <summary>The next <paramref name="count"/> produce requests fail with <paramref name="error"/>, not persisted.</summary>
    public void FailNextProduces(int count, ErrorCode error = ErrorCode.NotEnoughReplicas)
    {
        lock (Gate)
            for (int i = 0; i < count; i++) _produceFailures.Enqueue(error);
    }

    /// <summary>The next <paramref name="count"/> offset commits fail with <paramref name="error"/>.</summary>
    public void FailNextCommits(int count, ErrorCode error = ErrorCode.RebalanceInProgress)
    {
        lock (Gate)
            for (int i = 0; i < count; i++) _commitFailures.Enqueue(error);
    }

    // ---------------------------------------------------------------- clients

    /// <summary>A Confluent consumer builder whose <c>Build()</c> makes a consumer of this cluster.</summary>
    public InProcessConsumerBuilder<TKey, TValue> ConsumerBuilder<TKey, TValue>(IEnumerable<KeyValuePair<string, string>> config) =>
        new(this, config);

    /// <summary>A Confluent producer builder whose <c>Build()</c> makes a producer of this cluster.</summary>
    public InProcessProducerBuilder<TKey, TValue> ProducerBuilder<TKey, TValue>(IEnumerable<KeyValuePair<string, string>> config) =>
        new(this, config);

    /// <summary>
    /// A consumer of this cluster. Handlers (assigned, revoked, lost, error, offsets committed) are set on the
    /// builder through <paramref name="configure"/>, exactly as on a real <see cref="ConsumerBuilder{TKey,TValue}"/>.
    /// </summary>
    public IConsumer<TKey, TValue> CreateConsumer<TKey, TValue>(ConsumerConfig config,
        IDeserializer<TKey>? keyDeserializer = null, IDeserializer<TValue>? valueDeserializer = null,
        Action<ConsumerBuilder<TKey, TValue>>? configure = null)
    {
        var builder = ConsumerBuilder<TKey, TValue>(config);
        if (keyDeserializer is not null) builder.SetKeyDeserializer(keyDeserializer);
        if (valueDeserializer is not null) builder.SetValueDeserializer(valueDeserializer);
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>
    /// A producer of this cluster. Async serializers, partitioners and handlers are set through
    /// <paramref name="configure"/>, exactly as on a real <see cref="ProducerBuilder{TKey,TValue}"/>.
    /// </summary>
    public IProducer<TKey, TValue> CreateProducer<TKey, TValue>(ProducerConfig config,
        ISerializer<TKey>? keySerializer = null, ISerializer<TValue>? valueSerializer = null,
        Action<ProducerBuilder<TKey, TValue>>? configure = null)
    {
        var builder = ProducerBuilder<TKey, TValue>(config);
        if (keySerializer is not null) builder.SetKeySerializer(keySerializer);
        if (valueSerializer is not null) builder.SetValueSerializer(valueSerializer);
        configure?.Invoke(builder);
        return builder.Build();
    }

    // ---------------------------------------------------------------- internals used by the clients (under Gate)

    internal BrokerOutage? CurrentOutage { get; private set; }

    internal Random Random => _random;

    internal void Signal() => Monitor.PulseAll(Gate);

    internal string NextClientName(string? clientId, string kind) =>
        $"{(string.IsNullOrEmpty(clientId) ? "rdkafka" : clientId)}#{kind}-{Interlocked.Increment(ref _clientCount)}";

    /// <summary>Member ids sort in join order, so assignments are the same on every run.</summary>
    internal string NextMemberId(string? clientId) =>
        $"{(string.IsNullOrEmpty(clientId) ? "rdkafka" : clientId)}-00000000-0000-0000-0000-{Interlocked.Increment(ref _memberCount):D12}";

    internal TopicLog? Topic(string name) => _topics.GetValueOrDefault(name);

    internal TopicLog CreateTopicUnderLock(string name, int partitions)
    {
        var log = new TopicLog(name, partitions);
        _topics.Add(name, log);
        RebalanceSubscribers(name);
        Signal();
        return log;
    }

    internal ConsumerGroup Group(string groupId)
    {
        if (!_groups.TryGetValue(groupId, out var group))
            _groups[groupId] = group = new ConsumerGroup(groupId, () => _topics.ToDictionary(t => t.Key, t => t.Value.Partitions.Count));
        return group;
    }

    /// <summary>Time-driven broker events: outages that run out, members whose poll interval or session expired.</summary>
    internal void Maintain()
    {
        var now = Now;
        if (CurrentOutage is { EndsAt: { } end } && end <= now) EndOutageUnderLock(end);
        foreach (var group in _groups.Values)
        {
            foreach (var member in group.Members.ToList())
            {
                if (member.AbandonedAt is { } abandoned)
                {
                    if (now - abandoned > member.SessionTimeout) group.Evict(member, LostReason.SessionTimedOut);
                }
                else if (!member.InPoll && now - member.LastPoll > member.MaxPollInterval)
                {
                    group.Evict(member, LostReason.MaxPollIntervalExceeded);
                }
            }
        }
    }

    internal bool TakeDroppedAck()
    {
        if (_droppedAcks == 0) return false;
        _droppedAcks--;
        return true;
    }

    internal ErrorCode? TakeProduceFailure() => _produceFailures.Count > 0 ? _produceFailures.Dequeue() : null;

    internal ErrorCode? TakeCommitFailure() => _commitFailures.Count > 0 ? _commitFailures.Dequeue() : null;

    private void EndOutageUnderLock(DateTimeOffset endedAt)
    {
        if (CurrentOutage is not { } outage) return;
        CurrentOutage = null;
        var lasted = endedAt - outage.StartedAt;
        foreach (var group in _groups.Values)
            foreach (var member in group.Members.Where(m => m.SessionTimeout < lasted).ToList())
                group.Evict(member, LostReason.SessionTimedOut);
        Signal();
    }

    private void RebalanceSubscribers(string topic)
    {
        foreach (var group in _groups.Values.Where(g => g.Members.Any(m => m.Subscribes(topic))))
            group.Rebalance();
    }

    private TopicLog RequireTopic(string topic) =>
        _topics.GetValueOrDefault(topic) ?? throw KafkaErrors.Exception(ErrorCode.UnknownTopicOrPart, topic);

    private PartitionLog RequirePartition(TopicPartition tp) =>
        RequireTopic(tp.Topic).Partition(tp.Partition.Value)
        ?? throw KafkaErrors.Exception(ErrorCode.UnknownTopicOrPart, tp.ToString());
}
