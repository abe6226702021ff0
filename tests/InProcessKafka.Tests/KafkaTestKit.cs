using Confluent.Kafka;

namespace Reweighting.InProcessKafka.Tests;

/// <summary>A clock the test moves by hand, for poll intervals, session timeouts and outage durations.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

internal static class KafkaTestKit
{
    public static ConsumerConfig Consumer(string group, AutoOffsetReset reset = AutoOffsetReset.Earliest, bool autoCommit = false,
        PartitionAssignmentStrategy? strategy = null) => new()
    {
        GroupId = group,
        AutoOffsetReset = reset,
        EnableAutoCommit = autoCommit,
        PartitionAssignmentStrategy = strategy,
    };

    public static ProducerConfig Producer(bool idempotent = false) => new() { EnableIdempotence = idempotent };

    public static Message<string, string> Message(string key, string value) => new() { Key = key, Value = value };

    /// <summary>Polls the consumers in turn (short timeouts) until the condition holds; fails after a few seconds.</summary>
    public static void PollUntil<TKey, TValue>(Func<bool> condition, params IConsumer<TKey, TValue>[] consumers)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("The condition did not hold within 5 s of polling.");
            foreach (var consumer in consumers) consumer.Consume(TimeSpan.FromMilliseconds(10));
        }
    }

    /// <summary>Consumes exactly <paramref name="count"/> messages (EOF events skipped); fails if they do not come.</summary>
    public static List<ConsumeResult<TKey, TValue>> Take<TKey, TValue>(IConsumer<TKey, TValue> consumer, int count)
    {
        var results = new List<ConsumeResult<TKey, TValue>>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (results.Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Got {results.Count} of {count} messages.");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (result is { IsPartitionEOF: false }) results.Add(result);
        }
        return results;
    }

    /// <summary>Polls until the consumer has an assignment (the group's assigned handler has run).</summary>
    public static void AwaitAssignment<TKey, TValue>(IConsumer<TKey, TValue> consumer) =>
        PollUntil(() => consumer.Assignment.Count > 0, consumer);
}
