namespace Reweighting.Trainer.Streaming;

/// <summary>Remembers the ids of the most recent scored batches so a resent batch (the scorer's outbox resends with the
/// same id after a crash) is not trained twice. Bounded: resends arrive soon after the original, so the last
/// <c>capacity</c> ids suffice; the ids travel with checkpoints.</summary>
public sealed class BatchDeduplicator(int capacity)
{
    private readonly int _capacity = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "must be positive");
    private readonly HashSet<Guid> _seen = [];
    private readonly Queue<Guid> _order = new();

    /// <summary>Ids remembered.</summary>
    public int Count => _seen.Count;

    /// <summary>True the first time an id is seen (then remembered), false for a repeat.</summary>
    public bool FirstSight(Guid batchId)
    {
        if (!_seen.Add(batchId)) return false;
        _order.Enqueue(batchId);
        while (_order.Count > _capacity) _seen.Remove(_order.Dequeue());
        return true;
    }

    /// <summary>Whether the id was seen (and is still remembered).</summary>
    public bool Contains(Guid batchId) => _seen.Contains(batchId);

    /// <summary>The remembered ids, oldest first.</summary>
    public IReadOnlyList<Guid> Save() => [.. _order];

    /// <summary>Restores ids saved by <see cref="Save"/>.</summary>
    public void Load(IEnumerable<Guid> ids)
    {
        _seen.Clear();
        _order.Clear();
        foreach (var id in ids) FirstSight(id);
    }
}
