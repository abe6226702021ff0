using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>Everything a <see cref="ConsumerBuilder{TKey,TValue}"/> collected: deserializers and handlers.</summary>
internal sealed record ConsumerWiring<TKey, TValue>(
    IDeserializer<TKey> KeyDeserializer,
    IDeserializer<TValue> ValueDeserializer,
    Func<IConsumer<TKey, TValue>, List<TopicPartition>, IEnumerable<TopicPartitionOffset>>? PartitionsAssigned,
    Func<IConsumer<TKey, TValue>, List<TopicPartitionOffset>, IEnumerable<TopicPartitionOffset>>? PartitionsRevoked,
    Func<IConsumer<TKey, TValue>, List<TopicPartitionOffset>, IEnumerable<TopicPartitionOffset>>? PartitionsLost,
    bool RevokedOrLostHandlerIsFunc,
    Action<IConsumer<TKey, TValue>, Error>? Error,
    Action<IConsumer<TKey, TValue>, CommittedOffsets>? OffsetsCommitted);

/// <summary>The serializers and deserializers Confluent uses when none is set.</summary>
internal static class DefaultSerdes
{
    private static readonly Dictionary<Type, object> Deserializers = new()
    {
        [typeof(Null)] = Confluent.Kafka.Deserializers.Null,
        [typeof(Ignore)] = Confluent.Kafka.Deserializers.Ignore,
        [typeof(int)] = Confluent.Kafka.Deserializers.Int32,
        [typeof(long)] = Confluent.Kafka.Deserializers.Int64,
        [typeof(string)] = Confluent.Kafka.Deserializers.Utf8,
        [typeof(float)] = Confluent.Kafka.Deserializers.Single,
        [typeof(double)] = Confluent.Kafka.Deserializers.Double,
        [typeof(byte[])] = Confluent.Kafka.Deserializers.ByteArray,
    };

    private static readonly Dictionary<Type, object> Serializers = new()
    {
        [typeof(Null)] = Confluent.Kafka.Serializers.Null,
        [typeof(int)] = Confluent.Kafka.Serializers.Int32,
        [typeof(long)] = Confluent.Kafka.Serializers.Int64,
        [typeof(string)] = Confluent.Kafka.Serializers.Utf8,
        [typeof(float)] = Confluent.Kafka.Serializers.Single,
        [typeof(double)] = Confluent.Kafka.Serializers.Double,
        [typeof(byte[])] = Confluent.Kafka.Serializers.ByteArray,
    };

    public static IDeserializer<T> Deserializer<T>(IDeserializer<T>? given, string part) =>
        given ?? (Deserializers.TryGetValue(typeof(T), out var d) ? (IDeserializer<T>)d
            : throw new InvalidOperationException(
                $"{part} deserializer was not specified and there is no default deserializer defined for type {typeof(T).Name}."));

    public static ISerializer<T>? Serializer<T>() =>
        Serializers.TryGetValue(typeof(T), out var s) ? (ISerializer<T>)s : null;
}
