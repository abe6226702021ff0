namespace Reweighting.Modeling.Training;

/// <summary>Training sequences cut from documents joined by an end-of-text token. The order is a seeded
/// permutation per epoch, and sequence i is a pure function of (seed, i): a resumed run reads exactly the
/// data the uninterrupted run would have.</summary>
public sealed class TokenStream
{
    private readonly long[] _tokens;
    private readonly int _length;
    private readonly ulong _seed;
    private readonly int _chunks;
    private readonly Dictionary<long, int[]> _permutations = new();
    private readonly long[] _documentStarts;

    /// <param name="documents">Token ids of each document.</param>
    /// <param name="endOfText">Separator appended after each document.</param>
    /// <param name="sequenceLength">Inputs per sequence; each chunk holds one more token for the last target.</param>
    /// <param name="seed">Seed of the per-epoch order.</param>
    public TokenStream(IEnumerable<IReadOnlyList<long>> documents, long endOfText, int sequenceLength, ulong seed)
    {
        var all = new List<long>();
        var starts = new List<long>();
        foreach (var d in documents)
        {
            starts.Add(all.Count);
            all.AddRange(d);
            all.Add(endOfText);
        }
        _tokens = all.ToArray();
        _documentStarts = starts.ToArray();
        _length = sequenceLength;
        this._seed = seed;
        _chunks = (_tokens.Length - 1) / sequenceLength;
        if (_chunks < 1)
            throw new ArgumentException($"the corpus has {_tokens.Length} tokens, too few for one sequence of {sequenceLength}");
    }

    /// <summary>Sequences per epoch.</summary>
    public int SequencesPerEpoch => _chunks;

    /// <summary>Inputs (and targets) per sequence.</summary>
    public int SequenceLength => _length;

    public long TokenCount => _tokens.Length;

    /// <summary>The index-th training sequence: (inputs, targets) of the sequence length each.</summary>
    public (long[] Inputs, long[] Targets) Sequence(long index)
    {
        var epoch = index / _chunks;
        var chunk = Permutation(epoch)[index % _chunks];
        var start = chunk * _length;
        return (_tokens[start..(start + _length)], _tokens[(start + 1)..(start + _length + 1)]);
    }

    /// <summary>Which documents (by their position in the constructor's list) the index-th sequence's targets come
    /// from, with how many target tokens each contributes (a document's end-of-text token counts as its own).</summary>
    public IReadOnlyList<(int Document, int Tokens)> Composition(long index)
    {
        var chunk = Permutation(index / _chunks)[index % _chunks];
        long first = (long)chunk * _length + 1, end = first + _length; // target positions [first, end)
        var result = new List<(int, int)>();
        var doc = Array.BinarySearch(_documentStarts, first);
        if (doc < 0) doc = ~doc - 1;
        for (var position = first; position < end; doc++)
        {
            var docEnd = doc + 1 < _documentStarts.Length ? _documentStarts[doc + 1] : _tokens.Length;
            var take = (int)(Math.Min(end, docEnd) - position);
            result.Add((doc, take));
            position += take;
        }
        return result;
    }

    /// <summary>A batch of consecutive sequences starting at <paramref name="first"/>, row-major (B, T).</summary>
    public (long[] Inputs, long[] Targets) Batch(long first, int batchSize)
    {
        var inputs = new long[batchSize * _length];
        var targets = new long[batchSize * _length];
        for (var b = 0; b < batchSize; b++)
        {
            var (x, y) = Sequence(first + b);
            x.CopyTo(inputs, b * _length);
            y.CopyTo(targets, b * _length);
        }
        return (inputs, targets);
    }

    private int[] Permutation(long epoch)
    {
        lock (_permutations)
        {
            if (_permutations.TryGetValue(epoch, out var p)) return p;
            p = Enumerable.Range(0, _chunks).ToArray();
            // A fixed mix of seed and epoch (HashCode is randomised per process, so it cannot be used here).
            var mixed = (_seed + 1) * 0x9E3779B97F4A7C15UL ^ (ulong)(epoch + 1) * 0xBF58476D1CE4E5B9UL;
            new Random((int)(mixed ^ (mixed >> 32))).Shuffle(p);
            if (_permutations.Count > 4) _permutations.Clear();
            return _permutations[epoch] = p;
        }
    }
}
