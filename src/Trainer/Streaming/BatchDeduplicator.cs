namespace Reweighting.Trainer.Streaming;

/// <summary>Remembers the ids of the most recent scored batches so a resent batch (the scorer's outbox resends with the
/// same id after a crash) is not trained twice. Bounded: resends arrive soon after the original, so the last
/// <c>capacity</c> ids suffice; the ids travel with checkpoints.</summary>
public sealed class BatchDeduplicator(int capacity)
{
    private readonly int capacity = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "must be positive");
    private readonly HashSet<Guid> seen = [];
    private readonly Queue<Guid> order = new();

    /// <summary>Ids remembered.</summary>
    public int Count => seen.Count;

    /// <summary>True the first time an id is seen (then remembered), false for a repeat.</summary>
    public bool FirstSight(Guid batchId)
    {
        if (!seen.Add(batchId)) return false;
        order.Enqueue(batchId);
        while (order.Count > capacity) seen.Remove(order.Dequeue());
        return true;
    }

    /// <summary>Whether the id was seen (and is still remembered).</summary>
    public bool Contains(Guid batchId) => seen.Contains(batchId);

    /// <summary>The remembered ids, oldest first.</summary>
    public IReadOnlyList<Guid> Save() => [.. order];

    /// <summary>Restores ids saved by <see cref="Save"/>.</summary>
    public void Load(IEnumerable<Guid> ids)
    {
        seen.Clear();
        order.Clear();
        foreach (var id in ids) FirstSight(id);
    }
}
