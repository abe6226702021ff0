using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// A real <see cref="ProducerBuilder{TKey,TValue}"/> (same Set* methods) whose <see cref="Build"/> returns an
/// <see cref="InProcessProducer{TKey,TValue}"/> of the given cluster. Serializer builders are not supported.
/// </summary>
public sealed class InProcessProducerBuilder<TKey, TValue>(InProcessKafkaCluster cluster, IEnumerable<KeyValuePair<string, string>> config)
    : ProducerBuilder<TKey, TValue>(config)
{
    /// <summary>Builds a producer of the in-process cluster.</summary>
    public override IProducer<TKey, TValue> Build()
    {
        if (KeySerializerBuilder is not null || ValueSerializerBuilder is not null
            || AsyncKeySerializerBuilder is not null || AsyncValueSerializerBuilder is not null)
            throw new NotSupportedException("The in-process producer takes serializers, not serializer builders.");
        var settings = ProducerSettings.From(Config);
        var wiring = new ProducerWiring<TKey, TValue>(
            KeySerializer ?? (AsyncKeySerializer is null ? DefaultSerializer<TKey>("Key") : null),
            AsyncKeySerializer,
            ValueSerializer ?? (AsyncValueSerializer is null ? DefaultSerializer<TValue>("Value") : null),
            AsyncValueSerializer,
            Partitioners ?? new Dictionary<string, PartitionerDelegate>(),
            DefaultPartitioner,
            ErrorHandler);
        return new InProcessProducer<TKey, TValue>(cluster, settings, wiring);
    }

    private static ISerializer<T> DefaultSerializer<T>(string part) =>
        DefaultSerdes.Serializer<T>() ?? throw new InvalidOperationException(
            $"{part} serializer was not specified and there is no default serializer defined for type {typeof(T).Name}.");
}
