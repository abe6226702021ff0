namespace Reweighting.InProcessKafka;

/// <summary>The broker-side settings of an <see cref="InProcessKafkaCluster"/>.</summary>
public sealed record InProcessKafkaOptions
{
    /// <summary>Create a topic of one partition (Kafka's default <c>num.partitions</c>) when a client first uses it
    /// (the broker's <c>auto.create.topics.enable</c>, true by default in Kafka).</summary>
    public bool AutoCreateTopics { get; init; } = true;

    /// <summary>
    /// The clock for record timestamps, outage durations, auto-commit, poll and session timeouts, and message
    /// timeouts. Timeouts of blocking calls (<c>Consume(timeout)</c>, <c>Flush</c>) are always real time.
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
