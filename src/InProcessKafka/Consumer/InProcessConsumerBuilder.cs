using System.Reflection;
using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// A real <see cref="ConsumerBuilder{TKey,TValue}"/> (same Set* methods, same handler overloads) whose
/// <see cref="Build"/> returns an <see cref="InProcessConsumer{TKey,TValue}"/> of the given cluster.
/// Deserializer builders are not supported.
/// </summary>
public sealed class InProcessConsumerBuilder<TKey, TValue>(InProcessKafkaCluster cluster, IEnumerable<KeyValuePair<string, string>> config)
    : ConsumerBuilder<TKey, TValue>(config)
{
    // Confluent records whether the revoked/lost handler was given as a Func (allowed only for eager protocols)
    // in a private field; read it so the cooperative check matches the real client.
    private static readonly FieldInfo? RevokedOrLostIsFuncField =
        typeof(ConsumerBuilder<TKey, TValue>).GetField("RevokedOrLostHandlerIsFunc", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>Builds a consumer of the in-process cluster.</summary>
    public override IConsumer<TKey, TValue> Build()
    {
        if (KeyDeserializerBuilder is not null || ValueDeserializerBuilder is not null
            || AsyncKeyDeserializerBuilder is not null || AsyncValueDeserializerBuilder is not null)
            throw new NotSupportedException("The in-process consumer takes deserializers, not deserializer builders.");
        var settings = ConsumerSettings.From(Config);
        var wiring = new ConsumerWiring<TKey, TValue>(
            DefaultSerdes.Deserializer(KeyDeserializer, "Key"),
            DefaultSerdes.Deserializer(ValueDeserializer, "Value"),
            PartitionsAssignedHandler,
            PartitionsRevokedHandler,
            PartitionsLostHandler,
            RevokedOrLostIsFuncField?.GetValue(this) is true,
            ErrorHandler,
            OffsetsCommittedHandler);
        return new InProcessConsumer<TKey, TValue>(cluster, settings, wiring);
    }
}
