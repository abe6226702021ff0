using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// A consumer group's coordinator: members, generations, the assignment plan and committed offsets.
/// Every member runs its rebalance callbacks on its own thread when it next polls. Eager protocols (range,
/// round-robin) revoke everything from everyone and hand out the new plan only once every member has revoked;
/// the cooperative protocol revokes only partitions that move, and hands each one to its new owner once freed.
/// All methods run under the cluster's lock.
/// </summary>
internal sealed class ConsumerGroup(string groupId, Func<IReadOnlyDictionary<string, int>> topics)
{
    private readonly List<GroupMember> _members = [];

    public string GroupId { get; } = groupId;

    public Dictionary<TopicPartition, long> Committed { get; } = [];

    public IReadOnlyList<GroupMember> Members => _members;

    public int Generation { get; private set; }

    public PartitionAssignmentStrategy Strategy { get; private set; } = PartitionAssignmentStrategy.Range;

    public bool Cooperative => Strategy == PartitionAssignmentStrategy.CooperativeSticky;

    /// <summary>Eager groups hand out a generation's plan only after every member has revoked.</summary>
    public bool BarrierOpen => Cooperative || _members.All(m => m.PendingRevoke.Count == 0);

    /// <summary>A member whose protocol (eager or cooperative) differs from the group's is refused, as by a broker.</summary>
    public bool Accepts(GroupMember member) =>
        _members.Count == 0 || (member.Strategy == PartitionAssignmentStrategy.CooperativeSticky) == Cooperative;

    public void Join(GroupMember member)
    {
        if (_members.Count == 0) Strategy = member.Strategy;
        _members.Add(member);
        _members.Sort((a, b) => string.CompareOrdinal(a.MemberId, b.MemberId));
        member.InGroup = true;
        Rebalance();
    }

    /// <summary>Removes a member; what it owned is free at once (it revoked first, or it was evicted).</summary>
    public void Leave(GroupMember member)
    {
        if (!_members.Remove(member)) return;
        member.InGroup = false;
        member.PendingRevoke.Clear();
        member.PendingAssign.Clear();
        member.AssignPending = false;
        Rebalance();
    }

    public void Evict(GroupMember member, LostReason reason)
    {
        if (!member.InGroup) return;
        member.Lost = reason;
        Leave(member);
    }

    /// <summary>Membership, a subscription or the topics changed: plan a new generation.</summary>
    public void Rebalance()
    {
        Generation++;
        var subscribed = topics()
            .Where(t => _members.Any(m => m.Subscribes(t.Key)))
            .ToDictionary(t => t.Key, t => t.Value);
        var plan = PartitionAssignors.Assign(Strategy, _members, subscribed);
        foreach (var member in _members)
        {
            member.Target = plan[member];
            member.PendingRevoke.Clear();
            if (Cooperative)
            {
                member.PendingRevoke.UnionWith(member.Owned.Except(member.Target));
                member.PendingAssign.IntersectWith(member.Target);
                member.AssignPending = true;
            }
            else
            {
                member.PendingRevoke.UnionWith(member.Owned);
                member.PendingAssign.Clear();
                member.AssignPending = false;
            }
        }
        Release();
    }

    /// <summary>The member's revoked handler has run for these partitions: free them.</summary>
    public void Revoked(GroupMember member, IEnumerable<TopicPartition> partitions)
    {
        var list = partitions.ToList();
        member.Owned.ExceptWith(list);
        member.PendingRevoke.ExceptWith(list);
        if (member.InGroup) Release();
    }

    /// <summary>The partitions for the member's next assigned handler; they count as owned from now on.</summary>
    public List<TopicPartition> TakeAssignment(GroupMember member)
    {
        var partitions = member.PendingAssign.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition.Value).ToList();
        member.Owned.UnionWith(partitions);
        member.PendingAssign.Clear();
        member.AssignPending = false;
        return partitions;
    }

    private void Release()
    {
        if (!Cooperative)
        {
            if (!BarrierOpen) return;
            foreach (var member in _members.Where(m => m.AssignedGeneration != Generation))
            {
                member.PendingAssign.UnionWith(member.Target.Except(member.Owned));
                member.AssignPending = true;
                member.AssignedGeneration = Generation;
            }
            return;
        }
        foreach (var member in _members)
        {
            foreach (var tp in member.Target)
            {
                if (member.Owned.Contains(tp) || member.PendingAssign.Contains(tp)) continue;
                if (_members.Any(other => other != member && other.Owned.Contains(tp))) continue;
                member.PendingAssign.Add(tp);
                member.AssignPending = true;
            }
        }
    }
}
