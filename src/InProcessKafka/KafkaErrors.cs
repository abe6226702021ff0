using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>Builds <see cref="Error"/>s with librdkafka's reason strings, so no call reaches the native library.</summary>
internal static class KafkaErrors
{
    // Error(code) without a reason asks librdkafka (native) for the text; these are its strings.
    private static readonly Dictionary<ErrorCode, string> Reasons = new()
    {
        [ErrorCode.Local_AllBrokersDown] = "Local: All broker connections are down",
        [ErrorCode.Local_Transport] = "Local: Broker transport failure",
        [ErrorCode.Local_MsgTimedOut] = "Local: Message timed out",
        [ErrorCode.Local_TimedOut] = "Local: Timed out",
        [ErrorCode.Local_KeyDeserialization] = "Local: Key deserialization error",
        [ErrorCode.Local_ValueDeserialization] = "Local: Value deserialization error",
        [ErrorCode.Local_KeySerialization] = "Local: Key serialization error",
        [ErrorCode.Local_ValueSerialization] = "Local: Value serialization error",
        [ErrorCode.Local_NoOffset] = "Local: No offset stored",
        [ErrorCode.Local_State] = "Local: Erroneous state",
        [ErrorCode.Local_InvalidArg] = "Local: Invalid argument or configuration",
        [ErrorCode.Local_Conflict] = "Local: Conflicting use",
        [ErrorCode.Local_UnknownTopic] = "Local: Unknown topic",
        [ErrorCode.Local_UnknownPartition] = "Local: Unknown partition",
        [ErrorCode.Local_MaxPollExceeded] = "Local: Maximum application poll interval (max.poll.interval.ms) exceeded",
        [ErrorCode.Local_AutoOffsetReset] = "Local: No offset to automatically reset to",
        [ErrorCode.Local_Destroy] = "Local: Broker handle destroyed",
        [ErrorCode.Local_PartitionEOF] = "Broker: No more messages",
        [ErrorCode.UnknownTopicOrPart] = "Broker: Unknown topic or partition",
        [ErrorCode.MsgSizeTooLarge] = "Broker: Message size too large",
        [ErrorCode.UnknownMemberId] = "Broker: Unknown member",
        [ErrorCode.InconsistentGroupProtocol] = "Broker: Inconsistent group protocol",
        [ErrorCode.TopicAlreadyExists] = "Broker: Topic already exists",
        [ErrorCode.NotEnoughReplicas] = "Broker: Not enough in-sync replicas",
        [ErrorCode.LeaderNotAvailable] = "Broker: Leader not available",
        [ErrorCode.NotCoordinatorForGroup] = "Broker: Not coordinator",
        [ErrorCode.RebalanceInProgress] = "Broker: Group rebalance in progress",
        [ErrorCode.RequestTimedOut] = "Broker: Request timed out",
    };

    public static string Reason(ErrorCode code) => Reasons.TryGetValue(code, out var reason) ? reason : code.ToString();

    public static Error Create(ErrorCode code, string? detail = null) =>
        new(code, detail is null ? Reason(code) : $"{Reason(code)}: {detail}");

    public static KafkaException Exception(ErrorCode code, string? detail = null) => new(Create(code, detail));
}
