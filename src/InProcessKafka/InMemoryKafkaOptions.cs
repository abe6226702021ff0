namespace Reweighting.Kafka.InProcess;

/// <summary>Settings of an <see cref="InMemoryKafkaCluster"/>, the in-memory counterpart of broker settings.</summary>
public sealed record InMemoryKafkaOptions
{
    /// <summary>Create a topic when a producer first writes to it (the broker's <c>auto.create.topics.enable</c>, true by default in Kafka).</summary>
    public bool AutoCreateTopics { get; init; } = true;

    /// <summary>Partitions of an auto-created topic (the broker's <c>num.partitions</c>).</summary>
    public int DefaultPartitions { get; init; } = 1;

    /// <summary>
    /// The clock for record timestamps, outage durations, auto-commit, poll and session timeouts, and message
    /// timeouts. Timeouts of blocking calls (<c>Consume(timeout)</c>, <c>Flush</c>) are always real time.
    /// </summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Seed of the random choices (null keys under the random partitioners), so runs repeat.</summary>
    public int RandomSeed { get; init; } = 1;
}
