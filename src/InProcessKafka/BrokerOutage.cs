using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>How clients behave while the brokers are unreachable.</summary>
public enum OutageBehaviour
{
    /// <summary>
    /// Fail fast: <c>Consume</c> throws <see cref="ConsumeException"/> with the outage's error (at once, then at most
    /// every 100 ms, librdkafka's reconnect backoff, blocking in between); produce requests fail with
    /// <see cref="ProduceException{TKey,TValue}"/> (not persisted); commits and broker queries throw
    /// <see cref="KafkaException"/>. Handy for testing error paths without waiting.
    /// </summary>
    Fail,

    /// <summary>
    /// Like librdkafka: <c>Consume</c> reports the outage once through the error handler and then returns nothing
    /// (null after its timeout) until the brokers return; produced messages wait in the producer's queue and are
    /// delivered in order on recovery, or fail with <see cref="ErrorCode.Local_MsgTimedOut"/> once
    /// <c>message.timeout.ms</c> has passed; commits throw <see cref="KafkaException"/>; broker queries wait up to
    /// their timeout and then throw <see cref="ErrorCode.Local_TimedOut"/>.
    /// </summary>
    Stall,
}

/// <summary>A period in which no broker answers. Dispose it (or call <see cref="InProcessKafkaCluster.EndOutage()"/>) to end it.</summary>
public sealed class BrokerOutage : IDisposable
{
    private readonly InProcessKafkaCluster _cluster;

    internal BrokerOutage(InProcessKafkaCluster cluster, int epoch, ErrorCode error, OutageBehaviour behaviour, DateTimeOffset startedAt, DateTimeOffset? endsAt)
    {
        this._cluster = cluster;
        Epoch = epoch;
        Error = error;
        Behaviour = behaviour;
        StartedAt = startedAt;
        EndsAt = endsAt;
    }

    /// <summary>The error code clients see, e.g. <see cref="ErrorCode.Local_AllBrokersDown"/> or <see cref="ErrorCode.Local_Transport"/>.</summary>
    public ErrorCode Error { get; }

    /// <summary>Fail fast or stall like librdkafka.</summary>
    public OutageBehaviour Behaviour { get; }

    /// <summary>When it began, on the cluster's clock.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>When it ends by itself, on the cluster's clock; null for an outage that lasts until ended.</summary>
    public DateTimeOffset? EndsAt { get; }

    internal int Epoch { get; }

    /// <summary>Ends this outage if it is still the current one.</summary>
    public void Dispose() => _cluster.EndOutage(this);
}
