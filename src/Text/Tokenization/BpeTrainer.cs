using System.Text;

namespace Reweighting.Text.Tokenization;

/// <summary>Options for learning a byte-level BPE vocabulary.</summary>
/// <param name="VocabSize">Total ids wanted: 256 byte tokens + learned merges + special tokens.</param>
/// <param name="MinPairFrequency">Stop early when the most frequent pair occurs fewer times than this.</param>
/// <param name="SpecialTokens">Special tokens appended after the learned tokens, in this order.</param>
public sealed record BpeTrainerOptions(int VocabSize, int MinPairFrequency = 2, IReadOnlyList<string>? SpecialTokens = null)
{
    /// <summary>The special tokens to add; &lt;|endoftext|&gt; unless given.</summary>
    public IReadOnlyList<string> EffectiveSpecialTokens => SpecialTokens ?? [BpeTokenizer.EndOfText];
}

/// <summary>Where training stands: words counted so far, or merges learned out of the target.</summary>
/// <param name="Phase">"counting" while reading the corpus, "merging" while learning merges, "done" at the end.</param>
/// <param name="Done">Documents read (counting) or merges learned (merging).</param>
/// <param name="Total">Merges wanted (merging); 0 while counting.</param>
/// <param name="UniqueWords">Distinct pre-tokenised words seen so far.</param>
public readonly record struct BpeTrainingProgress(string Phase, long Done, long Total, long UniqueWords);

/// <summary>Learns a byte-level BPE vocabulary from text: count pre-tokenised words, then merge the most frequent adjacent pair repeatedly.</summary>
/// <remarks>
/// Deterministic by construction: word counts do not depend on document order, and equal pair counts are broken by
/// the byte-wise lexicographic order of (left token, right token), smallest first. Pair counts are updated
/// incrementally, touching only the words that contain the merged pair.
/// </remarks>
public static class BpeTrainer
{
    /// <summary>Trains a tokenizer with <paramref name="vocabSize"/> ids (256 bytes + merges + &lt;|endoftext|&gt;).</summary>
    public static BpeTokenizer Train(IEnumerable<string> texts, int vocabSize, IProgress<BpeTrainingProgress>? progress = null, CancellationToken cancellationToken = default) =>
        Train(texts, new BpeTrainerOptions(vocabSize), progress, cancellationToken);

    /// <summary>Trains a tokenizer with the given options.</summary>
    /// <exception cref="ArgumentException">The vocabulary size cannot hold the 256 byte tokens and the special tokens.</exception>
    public static BpeTokenizer Train(IEnumerable<string> texts, BpeTrainerOptions options, IProgress<BpeTrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentNullException.ThrowIfNull(options);
        var specials = options.EffectiveSpecialTokens;
        if (options.VocabSize < 256 + specials.Count)
            throw new ArgumentException($"vocabulary size {options.VocabSize} is below the minimum {256 + specials.Count} (256 byte tokens + {specials.Count} special)", nameof(options));
        if (specials.Distinct().Count() != specials.Count || specials.Any(string.IsNullOrEmpty))
            throw new ArgumentException("special tokens must be distinct and non-empty", nameof(options));

        var wordCounts = CountWords(texts, progress, cancellationToken);
        var state = new MergeState(wordCounts);
        var wanted = options.VocabSize - 256 - specials.Count;
        var merges = state.Learn(wanted, Math.Max(1, options.MinPairFrequency), progress, cancellationToken);

        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var id = 0; id < state.Tokens.Count; id++) vocabulary[ByteLevelAlphabet.Spell(state.Tokens[id])] = id;
        var specialIds = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in specials) specialIds[special] = state.Tokens.Count + specialIds.Count;
        var mergeNames = merges.Select(m => (ByteLevelAlphabet.Spell(state.Tokens[m.Left]), ByteLevelAlphabet.Spell(state.Tokens[m.Right]))).ToList();
        progress?.Report(new BpeTrainingProgress("done", merges.Count, wanted, wordCounts.Count));
        return new BpeTokenizer(vocabulary, mergeNames, specialIds);
    }

    private static Dictionary<string, long> CountWords(IEnumerable<string> texts, IProgress<BpeTrainingProgress>? progress, CancellationToken ct)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        long documents = 0;
        foreach (var text in texts)
        {
            if (text is null) continue;
            var span = text.AsSpan();
            for (var i = 0; i < span.Length;)
            {
                var end = Gpt2PreTokenizer.NextEnd(span, i);
                var word = span[i..end];
                if (lookup.TryGetValue(word, out var n)) lookup[word] = n + 1;
                else lookup[word] = 1;
                i = end;
            }
            if (++documents % 10_000 == 0)
            {
                ct.ThrowIfCancellationRequested();
                progress?.Report(new BpeTrainingProgress("counting", documents, 0, counts.Count));
            }
        }
        progress?.Report(new BpeTrainingProgress("counting", documents, 0, counts.Count));
        return counts;
    }

    /// <summary>Words as symbol arrays with their frequencies, pair counts, and which words hold each pair.</summary>
    private sealed class MergeState
    {
        private readonly int[][] _symbols;
        private readonly int[] _lengths;
        private readonly long[] _frequencies;
        private readonly int[] _visited;
        private readonly Dictionary<long, long> _pairCounts = new();
        private readonly Dictionary<long, List<int>> _pairWords = new();
        private readonly Dictionary<string, int> _idsByBytes = new(StringComparer.Ordinal);
        private readonly PriorityQueue<long, (long Count, int Left, int Right)> _queue;

        public List<byte[]> Tokens { get; } = new();

        public MergeState(Dictionary<string, long> wordCounts)
        {
            foreach (var b in ByteLevelAlphabet.BaseVocabularyOrder) AddToken([b]);
            var byteIds = new int[256];
            for (var id = 0; id < 256; id++) byteIds[Tokens[id][0]] = id;

            // Sorting the words makes every internal order independent of how the corpus was read.
            var words = wordCounts.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
            _symbols = new int[words.Length][];
            _lengths = new int[words.Length];
            _frequencies = new long[words.Length];
            _visited = new int[words.Length];
            for (var w = 0; w < words.Length; w++)
            {
                var bytes = Encoding.UTF8.GetBytes(words[w].Key);
                _symbols[w] = bytes.Select(b => byteIds[b]).ToArray();
                _lengths[w] = bytes.Length;
                _frequencies[w] = words[w].Value;
                for (var k = 0; k + 1 < bytes.Length; k++)
                {
                    var key = BpeTokenizer.PairKey(_symbols[w][k], _symbols[w][k + 1]);
                    _pairCounts[key] = _pairCounts.GetValueOrDefault(key) + words[w].Value;
                    AddWord(key, w);
                }
            }
            _queue = new PriorityQueue<long, (long, int, int)>(Comparer<(long Count, int Left, int Right)>.Create(ComparePriority));
            foreach (var (key, count) in _pairCounts) _queue.Enqueue(key, (count, Left(key), Right(key)));
        }

        public List<(int Left, int Right)> Learn(int wanted, int minFrequency, IProgress<BpeTrainingProgress>? progress, CancellationToken ct)
        {
            var merges = new List<(int, int)>();
            var newTokens = 0;
            var touched = new Dictionary<long, long>();
            var stamp = 0;
            while (newTokens < wanted && _queue.TryDequeue(out var key, out var priority))
            {
                if (_pairCounts.GetValueOrDefault(key) != priority.Count) continue; // stale entry
                if (priority.Count < minFrequency) break;
                int left = priority.Left, right = priority.Right;
                var merged = AddToken([.. Tokens[left], .. Tokens[right]], out var isNew);
                if (isNew) newTokens++;
                merges.Add((left, right));

                touched.Clear();
                stamp++;
                foreach (var w in _pairWords[key])
                {
                    if (_visited[w] == stamp) continue;
                    _visited[w] = stamp;
                    MergeInWord(w, left, right, merged, touched);
                }
                _pairWords.Remove(key);
                foreach (var (pair, before) in touched)
                {
                    var now = _pairCounts.GetValueOrDefault(pair);
                    if (now == 0) { _pairCounts.Remove(pair); continue; }
                    if (now != before) _queue.Enqueue(pair, (now, Left(pair), Right(pair)));
                }

                if (merges.Count % 200 == 0)
                {
                    ct.ThrowIfCancellationRequested();
                    progress?.Report(new BpeTrainingProgress("merging", newTokens, wanted, _symbols.Length));
                }
            }
            return merges;
        }

        private void MergeInWord(int w, int left, int right, int merged, Dictionary<long, long> touched)
        {
            var s = _symbols[w];
            var n = _lengths[w];
            var found = false;
            for (var k = 0; k + 1 < n && !found; k++) found = s[k] == left && s[k + 1] == right;
            if (!found) return;

            // Withdraw the word's pairs, merge left to right, then add its new pairs back: simple and exact,
            // and words are short, so the cost is a few lookups per affected word.
            var f = _frequencies[w];
            for (var k = 0; k + 1 < n; k++) Change(BpeTokenizer.PairKey(s[k], s[k + 1]), -f, touched);
            var m = 0;
            for (var k = 0; k < n;)
            {
                if (k + 1 < n && s[k] == left && s[k + 1] == right) { s[m++] = merged; k += 2; }
                else s[m++] = s[k++];
            }
            _lengths[w] = m;
            for (var k = 0; k + 1 < m; k++)
            {
                var key = BpeTokenizer.PairKey(s[k], s[k + 1]);
                Change(key, f, touched);
                if (s[k] == merged || s[k + 1] == merged) AddWord(key, w);
            }
        }

        private void Change(long key, long delta, Dictionary<long, long> touched)
        {
            var current = _pairCounts.GetValueOrDefault(key);
            touched.TryAdd(key, current);
            _pairCounts[key] = current + delta;
        }

        private void AddWord(long key, int w)
        {
            if (!_pairWords.TryGetValue(key, out var list)) _pairWords[key] = list = new List<int>();
            if (list.Count == 0 || list[^1] != w) list.Add(w);
        }

        private int AddToken(byte[] bytes) => AddToken(bytes, out _);

        private int AddToken(byte[] bytes, out bool isNew)
        {
            // Two merge paths can spell the same bytes ("a"+"bc" and "ab"+"c"); the token keeps its first id.
            var spelled = ByteLevelAlphabet.Spell(bytes);
            if (_idsByBytes.TryGetValue(spelled, out var existing)) { isNew = false; return existing; }
            _idsByBytes[spelled] = Tokens.Count;
            Tokens.Add(bytes);
            isNew = true;
            return Tokens.Count - 1;
        }

        private int ComparePriority((long Count, int Left, int Right) a, (long Count, int Left, int Right) b)
        {
            if (a.Count != b.Count) return b.Count.CompareTo(a.Count); // most frequent first
            var byLeft = Tokens[a.Left].AsSpan().SequenceCompareTo(Tokens[b.Left]);
            return byLeft != 0 ? byLeft : Tokens[a.Right].AsSpan().SequenceCompareTo(Tokens[b.Right]);
        }

        private static int Left(long key) => (int)(key >> 32);
        private static int Right(long key) => (int)(uint)key;
    }
}
