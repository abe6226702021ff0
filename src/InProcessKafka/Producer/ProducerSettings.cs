using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>The producer settings the in-process producer honours, with librdkafka's defaults and config checks.</summary>
internal sealed record ProducerSettings(
    string? ClientId,
    bool EnableIdempotence,
    TimeSpan MessageTimeout,
    int MessageMaxBytes,
    int MessageSendMaxRetries,
    Partitioner Partitioner,
    bool EnableDeliveryReports)
{
    public static ProducerSettings From(IEnumerable<KeyValuePair<string, string>> config)
    {
        var raw = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config)
        {
            if (value is null) throw new ArgumentNullException($"'{key}' configuration parameter must not be null.");
            raw[key] = value;
        }
        var typed = new ProducerConfig(raw);
        // A transactional id implies idempotence in librdkafka.
        bool idempotent = typed.EnableIdempotence ?? !string.IsNullOrEmpty(typed.TransactionalId);
        if (idempotent && (typed.Acks ?? Acks.All) != Acks.All)
            throw new InvalidOperationException("`acks` must be set to `all` when `enable.idempotence` is true");
        if (idempotent && typed.MaxInFlight is > 5) // an unset value is lowered to 5 by librdkafka
            throw new InvalidOperationException("`max.in.flight` must be set <= 5 when `enable.idempotence` is true");
        return new ProducerSettings(
            typed.ClientId,
            idempotent,
            TimeSpan.FromMilliseconds(typed.MessageTimeoutMs ?? 300_000),
            typed.MessageMaxBytes ?? 1_000_000,
            typed.MessageSendMaxRetries ?? int.MaxValue,
            typed.Partitioner ?? Partitioner.ConsistentRandom,
            typed.EnableDeliveryReports ?? true);
    }
}

/// <summary>Everything a <see cref="ProducerBuilder{TKey,TValue}"/> collected: serializers, partitioners, handlers.</summary>
internal sealed record ProducerWiring<TKey, TValue>(
    ISerializer<TKey>? KeySerializer,
    IAsyncSerializer<TKey>? AsyncKeySerializer,
    ISerializer<TValue>? ValueSerializer,
    IAsyncSerializer<TValue>? AsyncValueSerializer,
    IReadOnlyDictionary<string, PartitionerDelegate> Partitioners,
    PartitionerDelegate? DefaultPartitioner,
    Action<IProducer<TKey, TValue>, Error>? Error);
