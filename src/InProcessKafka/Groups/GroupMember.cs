using System.Text.RegularExpressions;
using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>Why the coordinator dropped a member without it revoking first; its consumer reports the partitions as lost.</summary>
internal enum LostReason
{
    MaxPollIntervalExceeded,
    SessionTimedOut,
}

/// <summary>
/// The coordinator's view of one subscribed consumer. <see cref="Owned"/> is what the consumer holds (handed to
/// its assigned handler and not yet revoked); <see cref="Target"/> is what the last rebalance planned for it.
/// A partition moves only after its owner has revoked it, as in the real protocol.
/// </summary>
internal sealed class GroupMember(string memberId, IReadOnlyList<string> subscription, PartitionAssignmentStrategy strategy,
    TimeSpan maxPollInterval, TimeSpan sessionTimeout, DateTimeOffset now)
{
    private IReadOnlyList<string> _subscription = subscription;
    private Regex[] _patterns = Patterns(subscription);

    public string MemberId { get; } = memberId;

    public PartitionAssignmentStrategy Strategy { get; } = strategy;

    public TimeSpan MaxPollInterval { get; } = maxPollInterval;

    public TimeSpan SessionTimeout { get; } = sessionTimeout;

    public IReadOnlyList<string> Subscription
    {
        get => _subscription;
        set
        {
            _subscription = value;
            _patterns = Patterns(value);
        }
    }

    public HashSet<TopicPartition> Owned { get; } = [];

    public HashSet<TopicPartition> Target { get; set; } = [];

    public HashSet<TopicPartition> PendingRevoke { get; } = [];

    public HashSet<TopicPartition> PendingAssign { get; } = [];

    /// <summary>An assignment event (possibly empty) is due on the consumer's next poll.</summary>
    public bool AssignPending { get; set; }

    public int AssignedGeneration { get; set; } = -1;

    public bool InGroup { get; set; }

    /// <summary>Unsubscribe was called: revoke on the next poll, then leave.</summary>
    public bool LeaveRequested { get; set; }

    public LostReason? Lost { get; set; }

    public bool InPoll { get; set; }

    public DateTimeOffset LastPoll { get; set; } = now;

    /// <summary>Disposed without Close: still in the group until its session times out.</summary>
    public DateTimeOffset? AbandonedAt { get; set; }

    public bool Subscribes(string topic) =>
        _subscription.Contains(topic) || _patterns.Any(p => p.IsMatch(topic));

    public bool HasEventsDue(bool cooperative, bool barrierOpen) =>
        Lost is not null || LeaveRequested || PendingRevoke.Count > 0 || (AssignPending && (cooperative || barrierOpen));

    // librdkafka treats a subscription that starts with '^' as a regular expression.
    private static Regex[] Patterns(IEnumerable<string> topics) =>
        topics.Where(t => t.StartsWith('^')).Select(t => new Regex(t, RegexOptions.CultureInvariant)).ToArray();
}
