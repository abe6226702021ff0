using Confluent.Kafka;

namespace Reweighting.Scorer.Outbox;

/// <summary>Settings of the outbox relay.</summary>
public sealed record OutboxRelayOptions
{
    /// <summary>Rows claimed and produced per pass (one transaction).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>How often the relay looks for rows when nobody signals it.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Delay before the first retry after a failed pass; doubles (with jitter) up to <see cref="MaxRetryDelay"/>.
    /// The relay never gives up: the rows wait durably in the outbox.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Ceiling of any retry delay.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest a produced record may wait for its acknowledgement (<c>message.timeout.ms</c>); the claimed rows
    /// stay locked that long at most.</summary>
    public TimeSpan DeliveryTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Compression of produced batches: zstd (best ratio on token ids) or lz4 (cheapest CPU).</summary>
    public CompressionType Compression { get; init; } = CompressionType.Zstd;

    /// <summary>Value of the <c>producer</c> header, e.g. host and process; null for none.</summary>
    public string? InstanceName { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public OutboxRelayOptions Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"outbox batch size must be at least 1, not {BatchSize}");
        if (PollInterval <= TimeSpan.Zero) throw new ArgumentException($"outbox poll interval must be positive, not {PollInterval}");
        if (RetryBaseDelay <= TimeSpan.Zero || MaxRetryDelay < RetryBaseDelay)
            throw new ArgumentException($"retry delays must be positive and the ceiling ({MaxRetryDelay}) at least the base ({RetryBaseDelay})");
        if (DeliveryTimeout < TimeSpan.FromMilliseconds(1)) throw new ArgumentException($"delivery timeout must be positive, not {DeliveryTimeout}");
        if (Compression is not (CompressionType.Zstd or CompressionType.Lz4))
            throw new ArgumentException($"scored batches are compressed with zstd or lz4, not {Compression}");
        return this;
    }

    /// <summary>The producer settings the relay's guarantees rest on, laid over <paramref name="connection"/> (bootstrap
    /// servers, security): idempotence (a retried send is written once, in order), acks from all in-sync replicas,
    /// compression, and the delivery timeout. Conflicting settings in <paramref name="connection"/> are overridden.</summary>
    public ProducerConfig ProducerConfig(ProducerConfig? connection = null) => new(new Dictionary<string, string>(connection ?? new ProducerConfig()))
    {
        EnableIdempotence = true,
        Acks = Acks.All,
        CompressionType = Compression,
        MessageTimeoutMs = (int)Math.Max(1, DeliveryTimeout.TotalMilliseconds),
    };
}
