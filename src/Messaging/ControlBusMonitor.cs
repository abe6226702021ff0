namespace Reweighting.Messaging;

/// <summary>Whether the control bus delivers what its services publish. Every event published on the bus is counted
/// once when the bus accepts it and once when <see cref="ControlEventLog"/>, the consumer every control bus has, receives
/// it; an event accepted but not received within <see cref="StallAfter"/> means the bus stalled or lost it. The data
/// path never waits on the bus, so nothing else would notice: the dashboards read this to report "degraded".</summary>
public sealed class ControlBusMonitor(TimeProvider? time = null, TimeSpan? stallAfter = null)
{
    /// <summary>How long an accepted event may wait for delivery before the bus counts as stalled, unless set.</summary>
    public static readonly TimeSpan DefaultStallAfter = TimeSpan.FromSeconds(15);

    /// <summary>How long an accepted event may wait for delivery before the bus counts as stalled.</summary>
    public TimeSpan StallAfter { get; } = stallAfter ?? DefaultStallAfter;

    // Publish times of the events not yet delivered, oldest first; bounded so a dead bus cannot grow it without end.
    private const int PendingLimit = 4096;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Queue<DateTimeOffset> _pending = new();
    private long _published, _delivered, _failed;
    private DateTimeOffset? _lastDelivered;

    /// <summary>The bus accepted an event for publishing.</summary>
    public void Published()
    {
        lock (_gate)
        {
            _published++;
            if (_pending.Count == PendingLimit) _pending.Dequeue();
            _pending.Enqueue(_time.GetUtcNow());
        }
    }

    /// <summary>Publishing an event failed (the bus refused it).</summary>
    public void PublishFailed()
    {
        lock (_gate) _failed++;
    }

    /// <summary>An event reached the bus's own consumer.</summary>
    public void Delivered()
    {
        lock (_gate)
        {
            _delivered++;
            _lastDelivered = _time.GetUtcNow();
            // Events of different types are delivered concurrently, so delivery order is not publish order: any delivery
            // settles the oldest pending publish.
            _pending.TryDequeue(out _);
        }
    }

    /// <summary>The bus's delivery now.</summary>
    public ControlBusState State()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            var oldest = _pending.TryPeek(out var at) ? now - at : (TimeSpan?)null;
            var stalled = oldest is { } age && age > StallAfter;
            var detail = stalled
                ? $"{_published - _delivered} control events accepted but not delivered, the oldest {oldest!.Value.TotalSeconds:F0} s ago"
                : _failed > 0 ? $"{_failed} control events could not be published" : null;
            return new ControlBusState(stalled || _failed > 0, _published, _delivered, _failed, _lastDelivered, detail);
        }
    }
}

/// <summary>The control bus's delivery as the dashboards report it.</summary>
/// <param name="Degraded">An event waits for delivery past the monitor's stall time, or publishing failed.</param>
/// <param name="Published">Events the bus accepted.</param>
/// <param name="Delivered">Events its own consumer received.</param>
/// <param name="Failed">Events the bus refused.</param>
/// <param name="LastDelivered">When the last event was received.</param>
/// <param name="Detail">Why it is degraded, or null.</param>
public sealed record ControlBusState(bool Degraded, long Published, long Delivered, long Failed, DateTimeOffset? LastDelivered, string? Detail);
