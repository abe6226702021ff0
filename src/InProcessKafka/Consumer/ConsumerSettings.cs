using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>The consumer settings the in-process consumer honours, with librdkafka's defaults.</summary>
internal sealed record ConsumerSettings(
    string GroupId,
    string? ClientId,
    AutoOffsetReset AutoOffsetReset,
    bool EnableAutoCommit,
    TimeSpan AutoCommitInterval,
    bool EnableAutoOffsetStore,
    bool EnablePartitionEof,
    PartitionAssignmentStrategy Strategy,
    TimeSpan MaxPollInterval,
    TimeSpan SessionTimeout,
    bool AllowAutoCreateTopics)
{
    public bool Cooperative => Strategy == PartitionAssignmentStrategy.CooperativeSticky;

    public static ConsumerSettings From(IEnumerable<KeyValuePair<string, string>> config)
    {
        var raw = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in config)
        {
            if (value is null) throw new ArgumentNullException($"'{key}' configuration parameter must not be null.");
            raw[key] = value;
        }
        var typed = new ConsumerConfig(raw);
        if (string.IsNullOrEmpty(typed.GroupId))
            throw new ArgumentException("'group.id' configuration parameter is required and was not specified.");
        return new ConsumerSettings(
            typed.GroupId,
            typed.ClientId,
            typed.AutoOffsetReset ?? AutoOffsetReset.Latest,
            typed.EnableAutoCommit ?? true,
            TimeSpan.FromMilliseconds(typed.AutoCommitIntervalMs ?? 5000),
            typed.EnableAutoOffsetStore ?? true,
            typed.EnablePartitionEof ?? false,
            ParseStrategy(raw.GetValueOrDefault("partition.assignment.strategy")),
            TimeSpan.FromMilliseconds(typed.MaxPollIntervalMs ?? 300_000),
            TimeSpan.FromMilliseconds(typed.SessionTimeoutMs ?? 45_000),
            typed.AllowAutoCreateTopics ?? false);
    }

    // librdkafka's default is "range,roundrobin": the first strategy all members support, i.e. range.
    private static PartitionAssignmentStrategy ParseStrategy(string? value)
    {
        var first = (value ?? "range").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
        return first?.ToLowerInvariant() switch
        {
            "roundrobin" => PartitionAssignmentStrategy.RoundRobin,
            "cooperative-sticky" => PartitionAssignmentStrategy.CooperativeSticky,
            _ => PartitionAssignmentStrategy.Range,
        };
    }
}
