using Confluent.Kafka;

namespace Reweighting.InProcessKafka;

// Subscription, group events and the local assignment. Group events run on the consumer's thread with the
// cluster lock released, mirroring Confluent's RebalanceCallback: the handler's result is applied with
// Assign/Unassign (eager) or IncrementalAssign/IncrementalUnassign (cooperative), Assign calls inside a handler
// are an error, and a handler's exception unassigns everything and is rethrown from Consume or Close.
public sealed partial class InProcessConsumer<TKey, TValue>
{
    private int _assignCallCount;
    private Exception? _handlerException;

    /// <inheritdoc/>
    public void Subscribe(string topic) => Subscribe([topic]);

    /// <summary>Joins (or updates the subscription in) the group; topics starting with '^' are regular expressions.</summary>
    public void Subscribe(IEnumerable<string> topics)
    {
        ThrowIfDisposed();
        var list = topics.ToList();
        if (list.Count == 0) throw KafkaErrors.Exception(ErrorCode.Local_InvalidArg, "empty subscription");
        lock (Gate)
        {
            _subscription = list;
            foreach (var topic in list.Where(t => !t.StartsWith('^') && _cluster.Topic(t) is null))
            {
                if (_settings.AllowAutoCreateTopics && _cluster.Options.AutoCreateTopics)
                    _cluster.CreateTopicUnderLock(topic, InProcessKafkaCluster.AutoCreatedPartitions);
                else
                    _consumerErrors.Enqueue(new Error(ErrorCode.UnknownTopicOrPart,
                        $"Subscribed topic not available: {topic}: {KafkaErrors.Reason(ErrorCode.UnknownTopicOrPart)}"));
            }
            if (_member is { InGroup: true } current)
            {
                current.LeaveRequested = false;
                current.Subscription = list;
                Group.Rebalance();
            }
            else if (_member is { Lost: not null } lost)
            {
                lost.Subscription = list; // rejoins once it has reported the loss
            }
            else
            {
                JoinGroup();
            }
            _cluster.Signal();
        }
    }

    /// <summary>Leaves the group at the next poll, after revoking the assignment there.</summary>
    public void Unsubscribe()
    {
        ThrowIfDisposed();
        lock (Gate)
        {
            _subscription = [];
            if (_member is { InGroup: true }) _member.LeaveRequested = true;
            else _member = null;
            _cluster.Signal();
        }
    }

    /// <inheritdoc/>
    public void Assign(TopicPartition partition) => Assign([partition]);

    /// <inheritdoc/>
    public void Assign(TopicPartitionOffset partition) => Assign([partition]);

    /// <inheritdoc/>
    public void Assign(IEnumerable<TopicPartition> partitions) => Assign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset)));

    /// <summary>Replaces the whole assignment; Offset.Unset/Stored start from the committed offset.</summary>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        ThrowIfDisposed();
        _assignCallCount++;
        lock (Gate) ReplaceAssignment(partitions.ToList());
    }

    /// <inheritdoc/>
    public void IncrementalAssign(IEnumerable<TopicPartition> partitions) =>
        IncrementalAssign(partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset)));

    /// <summary>Adds partitions; one already assigned is a Local_Conflict error.</summary>
    public void IncrementalAssign(IEnumerable<TopicPartitionOffset> partitions)
    {
        ThrowIfDisposed();
        _assignCallCount++;
        lock (Gate) AddAssignment(partitions.ToList());
    }

    /// <summary>Removes partitions; one not assigned is a Local_Conflict error.</summary>
    public void IncrementalUnassign(IEnumerable<TopicPartition> partitions)
    {
        ThrowIfDisposed();
        _assignCallCount++;
        lock (Gate) RemoveAssignment(partitions.ToList(), commit: _settings.EnableAutoCommit);
    }

    /// <inheritdoc/>
    public void Unassign()
    {
        ThrowIfDisposed();
        _assignCallCount++;
        lock (Gate) RemoveAssignment(_cursors.Select(c => c.Partition).ToList(), commit: _settings.EnableAutoCommit);
    }

    // ---------------------------------------------------------------- local assignment (under Gate)

    private void ReplaceAssignment(List<TopicPartitionOffset> partitions)
    {
        RemoveAssignment(_cursors.Select(c => c.Partition).ToList(), commit: _settings.EnableAutoCommit);
        AddAssignment(partitions);
    }

    private void AddAssignment(List<TopicPartitionOffset> partitions)
    {
        if (partitions.FirstOrDefault(p => Find(p.TopicPartition) is not null) is { } duplicate)
            throw KafkaErrors.Exception(ErrorCode.Local_Conflict, $"{duplicate.TopicPartition} is already part of the current assignment");
        _cursors.AddRange(partitions.Select(p => new PartitionCursor(p.TopicPartition, p.Offset)));
        _cluster.Signal();
    }

    /// <summary>Drops partitions; like librdkafka, commits their stored offsets first when auto-commit is on.</summary>
    private void RemoveAssignment(List<TopicPartition> partitions, bool commit)
    {
        var removed = new List<PartitionCursor>();
        foreach (var tp in partitions)
        {
            var cursor = Find(tp) ?? throw KafkaErrors.Exception(ErrorCode.Local_Conflict, $"{tp} is not part of the current assignment");
            removed.Add(cursor);
        }
        if (commit && StoredOffsetsToCommit(removed) is { Count: > 0 } offsets) TryCommit(offsets);
        _cursors.RemoveAll(removed.Contains);
    }

    // ---------------------------------------------------------------- group events

    private void JoinGroup()
    {
        var joining = new GroupMember(_cluster.NextMemberId(_settings.ClientId), _subscription, _settings.Strategy,
            _settings.MaxPollInterval, _settings.SessionTimeout, _cluster.Now) { InPoll = _member?.InPoll ?? false };
        _member = joining;
        if (Group.Accepts(joining)) Group.Join(joining);
        else _consumerErrors.Enqueue(KafkaErrors.Create(ErrorCode.InconsistentGroupProtocol,
            $"group {_settings.GroupId} uses a different rebalance protocol"));
    }

    private bool GroupEventsDue() =>
        _member is not null && _member.HasEventsDue(Group.Cooperative, Group.BarrierOpen);

    private void ServeGroupEvents()
    {
        while (true)
        {
            Action? groupEvent;
            lock (Gate)
            {
                _cluster.Maintain();
                groupEvent = NextGroupEvent();
            }
            if (groupEvent is null) break;
            groupEvent();
        }
        if (TakeHandlerException() is { } ex) throw ex;
    }

    private Action? NextGroupEvent()
    {
        if (_member is not { } m) return null;
        var group = Group;
        if (m.Lost is { } reason)
        {
            var lost = Sorted(m.Owned);
            m.Owned.Clear();
            m.Lost = null;
            return () =>
            {
                RevokeEvent(lost, isLost: true);
                lock (Gate)
                {
                    if (ReferenceEquals(_member, m) && _subscription.Count > 0) JoinGroup();
                    else if (ReferenceEquals(_member, m)) _member = null;
                    _cluster.Signal();
                }
                if (reason == LostReason.MaxPollIntervalExceeded)
                    throw new ConsumeException(EmptyRecord(null, Partition.Any, Offset.Unset), KafkaErrors.Create(ErrorCode.Local_MaxPollExceeded,
                        $"the application did not poll within max.poll.interval.ms ({_settings.MaxPollInterval.TotalMilliseconds} ms); partitions were lost and the consumer rejoined"));
            };
        }
        if (!m.InGroup) return null;
        if (m.LeaveRequested)
        {
            var all = Sorted(m.Owned);
            return () =>
            {
                if (all.Count > 0) RevokeEvent(all, isLost: false);
                lock (Gate)
                {
                    group.Revoked(m, all);
                    group.Leave(m);
                    if (ReferenceEquals(_member, m)) _member = null;
                    _cluster.Signal();
                }
            };
        }
        if (m.PendingRevoke.Count > 0)
        {
            // Eager revokes the whole assignment; cooperative only what moves.
            var revoked = Sorted(group.Cooperative ? m.PendingRevoke : m.Owned);
            return () =>
            {
                RevokeEvent(revoked, isLost: false);
                lock (Gate)
                {
                    group.Revoked(m, revoked);
                    _cluster.Signal();
                }
            };
        }
        if (m.AssignPending && group.BarrierOpen)
        {
            var assigned = group.TakeAssignment(m);
            _cluster.Signal();
            return () => AssignEvent(assigned);
        }
        return null;
    }

    /// <summary>Leaves the group for Close: revoke (or report lost) on this thread, commit if auto, then leave.</summary>
    private void LeaveGroup()
    {
        GroupMember? leaving;
        List<TopicPartition> partitions = [];
        bool isLost = false;
        lock (Gate)
        {
            leaving = _member;
            if (leaving is { Lost: not null })
            {
                isLost = true;
                partitions = Sorted(leaving.Owned);
                leaving.Owned.Clear();
                leaving.Lost = null;
            }
            else if (leaving is { InGroup: true })
            {
                partitions = Sorted(leaving.Owned);
            }
        }
        if (leaving is not null && partitions.Count > 0) RevokeEvent(partitions, isLost);
        lock (Gate)
        {
            if (leaving is { InGroup: true })
            {
                Group.Revoked(leaving, partitions);
                Group.Leave(leaving);
            }
            _member = null;
            if (_cursors.Count > 0) RemoveAssignment(_cursors.Select(c => c.Partition).ToList(), commit: _settings.EnableAutoCommit);
            _cluster.Signal();
        }
    }

    private void RevokeEvent(List<TopicPartition> partitions, bool isLost)
    {
        try
        {
            CheckCooperativeHandlers();
            var handler = isLost ? _wiring.PartitionsLost ?? _wiring.PartitionsRevoked : _wiring.PartitionsRevoked;
            if (handler is not null)
            {
                List<TopicPartitionOffset> withPositions;
                lock (Gate) withPositions = partitions.Select(tp => new TopicPartitionOffset(tp, Find(tp)?.Position ?? Offset.Unset)).ToList();
                _assignCallCount = 0;
                _ = handler(this, withPositions); // what it returns is ignored, as in Confluent 2.x
                if (_assignCallCount > 0)
                    throw new InvalidOperationException("Assign/Unassign must not be called in the partitions revoked handler");
            }
            lock (Gate)
            {
                var local = _settings.Cooperative
                    ? partitions.Where(tp => Find(tp) is not null).ToList()
                    : _cursors.Select(c => c.Partition).ToList();
                RemoveAssignment(local, commit: _settings.EnableAutoCommit && !isLost);
            }
        }
        catch (Exception ex)
        {
            UnassignAfterHandlerFailure(ex);
        }
    }

    private void AssignEvent(List<TopicPartition> partitions)
    {
        try
        {
            CheckCooperativeHandlers();
            List<TopicPartitionOffset> assignTo;
            if (_wiring.PartitionsAssigned is not { } handler)
            {
                assignTo = partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Unset)).ToList();
            }
            else
            {
                _assignCallCount = 0;
                assignTo = (handler(this, partitions.ToList()) ?? []).ToList();
                if (_assignCallCount > 0)
                    throw new InvalidOperationException("(Incremental)Assign/Unassign must not be called in the partitions assigned handler");
            }
            lock (Gate)
            {
                if (_settings.Cooperative)
                {
                    var given = partitions.OrderBy(t => t).ToList();
                    var returned = assignTo.Select(t => t.TopicPartition).OrderBy(t => t).ToList();
                    if (!given.SequenceEqual(returned))
                        throw new InvalidOperationException("The partitions assigned handler must not return a different set of topic partitions than it was provided");
                    AddAssignment(assignTo);
                }
                else
                {
                    ReplaceAssignment(assignTo);
                }
            }
        }
        catch (Exception ex)
        {
            UnassignAfterHandlerFailure(ex);
        }
    }

    private void CheckCooperativeHandlers()
    {
        if (_settings.Cooperative && _wiring.RevokedOrLostHandlerIsFunc)
            throw new InvalidOperationException(
                "Neither revoked nor lost partition handlers may return an updated assignment when a COOPERATIVE assignor is in use");
    }

    private void UnassignAfterHandlerFailure(Exception ex)
    {
        lock (Gate) RemoveAssignment(_cursors.Select(c => c.Partition).ToList(), commit: false);
        _handlerException ??= ex;
    }

    private Exception? TakeHandlerException()
    {
        var ex = _handlerException;
        _handlerException = null;
        return ex;
    }

    private static List<TopicPartition> Sorted(IEnumerable<TopicPartition> partitions) =>
        partitions.OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Partition.Value).ToList();
}
