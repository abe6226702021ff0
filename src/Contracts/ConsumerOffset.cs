namespace Reweighting.Contracts;

/// <summary>The next Kafka offset a consumer group should read from one partition.</summary>
public sealed record ConsumerOffset(string ConsumerGroup, string Topic, int Partition, long NextOffset);
