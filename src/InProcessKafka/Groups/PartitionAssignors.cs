using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

/// <summary>
/// The group leader's assignment strategies. Range and round-robin follow Kafka's assignors (members in member-id
/// order); cooperative-sticky is a simpler sticky assignor than librdkafka's: members keep what they were planned
/// to have, the most loaded give up their excess until counts differ by at most one, and free partitions go to
/// the least loaded eligible member. That is balanced when all members subscribe to the same topics.
/// </summary>
internal static class PartitionAssignors
{
    public static Dictionary<GroupMember, HashSet<TopicPartition>> Assign(
        PartitionAssignmentStrategy strategy, IReadOnlyList<GroupMember> members, IReadOnlyDictionary<string, int> topics)
    {
        var result = members.ToDictionary(m => m, _ => new HashSet<TopicPartition>());
        if (members.Count == 0) return result;
        switch (strategy)
        {
            case PartitionAssignmentStrategy.RoundRobin:
                RoundRobin(members, topics, result);
                break;
            case PartitionAssignmentStrategy.CooperativeSticky:
                Sticky(members, topics, result);
                break;
            default:
                Range(members, topics, result);
                break;
        }
        return result;
    }

    private static void Range(IReadOnlyList<GroupMember> members, IReadOnlyDictionary<string, int> topics,
        Dictionary<GroupMember, HashSet<TopicPartition>> result)
    {
        foreach (var (topic, partitions) in topics.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            var consumers = members.Where(m => m.Subscribes(topic)).ToList();
            if (consumers.Count == 0) continue;
            int per = partitions / consumers.Count, extra = partitions % consumers.Count;
            for (int i = 0; i < consumers.Count; i++)
            {
                int start = per * i + Math.Min(i, extra), length = per + (i < extra ? 1 : 0);
                for (int p = start; p < start + length; p++) result[consumers[i]].Add(new TopicPartition(topic, p));
            }
        }
    }

    private static void RoundRobin(IReadOnlyList<GroupMember> members, IReadOnlyDictionary<string, int> topics,
        Dictionary<GroupMember, HashSet<TopicPartition>> result)
    {
        int next = 0;
        foreach (var tp in AllPartitions(topics))
        {
            if (!members.Any(m => m.Subscribes(tp.Topic))) continue;
            while (!members[next % members.Count].Subscribes(tp.Topic)) next++;
            result[members[next % members.Count]].Add(tp);
            next++;
        }
    }

    private static void Sticky(IReadOnlyList<GroupMember> members, IReadOnlyDictionary<string, int> topics,
        Dictionary<GroupMember, HashSet<TopicPartition>> result)
    {
        var all = AllPartitions(topics).Where(tp => members.Any(m => m.Subscribes(tp.Topic))).ToList();
        var unassigned = new List<TopicPartition>();
        foreach (var tp in all)
        {
            var previous = members.FirstOrDefault(m => m.Target.Contains(tp) && m.Subscribes(tp.Topic));
            if (previous is null) unassigned.Add(tp);
            else result[previous].Add(tp);
        }

        // At most `extra` members may hold floor+1 partitions; the rest hold floor. Shed from the most loaded first.
        int floor = all.Count / members.Count, extra = all.Count % members.Count;
        var byLoad = members.OrderByDescending(m => result[m].Count).ThenBy(m => m.MemberId, StringComparer.Ordinal).ToList();
        for (int i = 0; i < byLoad.Count; i++)
        {
            int cap = floor + (i < extra ? 1 : 0);
            var owned = result[byLoad[i]];
            foreach (var tp in owned.OrderByDescending(t => t.Topic, StringComparer.Ordinal).ThenByDescending(t => t.Partition.Value)
                         .Take(Math.Max(0, owned.Count - cap)).ToList())
            {
                owned.Remove(tp);
                unassigned.Add(tp);
            }
        }

        foreach (var tp in unassigned.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition.Value))
        {
            var taker = members.Where(m => m.Subscribes(tp.Topic)).OrderBy(m => result[m].Count).First();
            result[taker].Add(tp);
        }
    }

    private static IEnumerable<TopicPartition> AllPartitions(IReadOnlyDictionary<string, int> topics) =>
        topics.OrderBy(t => t.Key, StringComparer.Ordinal)
            .SelectMany(t => Enumerable.Range(0, t.Value).Select(p => new TopicPartition(t.Key, p)));
}
