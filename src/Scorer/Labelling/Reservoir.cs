namespace Reweighting.Scorer.Labelling;

/// <summary>A uniform random sample of fixed capacity over a stream of items (a document's statistics), by
/// Vitter's Algorithm R: the first <c>capacity</c> items fill it; item t (0-based) then replaces a random slot with
/// probability capacity / (t + 1). Seeded, so the same stream in the same order gives the same sample.</summary>
/// <remarks>Not thread-safe; <see cref="ReservoirLabeller"/> guards it.</remarks>
public sealed class Reservoir<T>
{
    private readonly T[] _items;
    private readonly Random _random;
    private int _count;

    public Reservoir(int capacity, int seed)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "a reservoir holds at least one item");
        _items = new T[capacity];
        _random = new Random(seed);
    }

    /// <summary>Most items held.</summary>
    public int Capacity => _items.Length;

    /// <summary>Items held now: min(seen, capacity).</summary>
    public int Count => _count;

    /// <summary>Items the sample stands for: every item offered, plus those a reseed said it represents.</summary>
    public long Seen { get; private set; }

    /// <summary>Offers one item to the sample.</summary>
    public void Add(T item)
    {
        if (_count < _items.Length) _items[_count++] = item;
        else
        {
            var slot = _random.NextInt64(Seen + 1);
            if (slot < _items.Length) _items[slot] = item;
        }
        Seen++;
    }

    /// <summary>Replaces the content with <paramref name="sample"/>, a uniform sample (at most capacity items) of
    /// <paramref name="population"/> items seen before; later items continue Algorithm R from there.</summary>
    public void Reseed(IReadOnlyList<T> sample, long population)
    {
        if (sample.Count > _items.Length) throw new ArgumentException($"{sample.Count} items exceed the capacity of {_items.Length}");
        // Algorithm R's invariant: the reservoir is full once capacity items were seen, else it holds them all.
        if (sample.Count != Math.Min(population, _items.Length))
            throw new ArgumentException($"a uniform sample of {population} items in a reservoir of {_items.Length} holds {Math.Min(population, _items.Length)}, not {sample.Count}");
        for (var i = 0; i < sample.Count; i++) _items[i] = sample[i];
        _count = sample.Count;
        Seen = population;
    }

    /// <summary>A copy of the items held.</summary>
    public T[] Snapshot() => _items.AsSpan(0, _count).ToArray();
}
