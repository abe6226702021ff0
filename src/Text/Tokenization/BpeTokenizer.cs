using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Unicode;

namespace Reweighting.Text.Tokenization;

/// <summary>A GPT-2 style byte-level BPE tokenizer: pre-tokenise, spell each word's UTF-8 bytes, apply merges by rank.</summary>
/// <remarks>
/// Thread-safe: the word cache is concurrent and everything else is read-only after construction.
/// Text round-trips exactly through <see cref="Encode(string, bool)"/> and <see cref="Decode"/>; a lone UTF-16
/// surrogate (not valid text) is encoded as U+FFFD. Arbitrary bytes round-trip exactly through
/// <see cref="EncodeBytes"/> and <see cref="DecodeBytes"/>.
/// </remarks>
public sealed class BpeTokenizer
{
    /// <summary>GPT-2's end-of-text token.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>Words with more symbols than this merge through a priority queue instead of repeated scans.</summary>
    internal const int LongWordSymbols = 48;

    private const int CacheCapacity = 1 << 17;

    private readonly string?[] _tokens;
    private readonly byte[]?[] _tokenBytes;
    private readonly int[] _tokenByteLengths;
    private readonly Dictionary<string, int> _ids;
    private readonly (string Left, string Right)[] _merges;
    private readonly Dictionary<long, int> _mergeRanks;
    private readonly int[] _mergeResults;
    private readonly int[] _byteIds = new int[256];
    private readonly Dictionary<string, int> _specialTokens;
    private readonly string[] _specialsLongestFirst;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    private int _cacheCount;

    /// <summary>Builds a tokenizer from a vocabulary (byte-level spelled token → id), merges in rank order, and special tokens.</summary>
    /// <param name="vocabulary">Every token spelled with <see cref="ByteLevelAlphabet"/>; must include all 256 single bytes.</param>
    /// <param name="merges">Merge rules, rank 0 first; both parts and their concatenation must be in the vocabulary.</param>
    /// <param name="specialTokens">Special tokens (content → id). A vocabulary entry "&lt;|endoftext|&gt;" is special even if not listed.</param>
    /// <exception cref="ArgumentException">The parts do not form a consistent byte-level BPE tokenizer; the message says why.</exception>
    public BpeTokenizer(
        IReadOnlyDictionary<string, int> vocabulary,
        IReadOnlyList<(string Left, string Right)> merges,
        IReadOnlyDictionary<string, int>? specialTokens = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(merges);
        _specialTokens = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (content, id) in specialTokens ?? new Dictionary<string, int>())
        {
            if (string.IsNullOrEmpty(content)) throw new ArgumentException("a special token has empty content", nameof(specialTokens));
            _specialTokens[content] = id;
        }
        if (vocabulary.TryGetValue(EndOfText, out var eot)) _specialTokens.TryAdd(EndOfText, eot);

        var maxId = -1;
        foreach (var id in vocabulary.Values.Concat(_specialTokens.Values))
        {
            if (id < 0) throw new ArgumentException($"token id {id} is negative", nameof(vocabulary));
            maxId = Math.Max(maxId, id);
        }
        _tokens = new string?[maxId + 1];
        _tokenBytes = new byte[]?[maxId + 1];
        _ids = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);

        foreach (var (token, id) in vocabulary)
        {
            if (_specialTokens.TryGetValue(token, out var specialId))
            {
                if (specialId != id) throw new ArgumentException($"special token {token} has id {specialId} but the vocabulary gives it {id}", nameof(specialTokens));
                continue;
            }
            if (!ByteLevelAlphabet.TryUnspell(token, out var bytes) || bytes.Length == 0)
                throw new ArgumentException($"vocabulary token \"{token}\" (id {id}) is not spelled in GPT-2's byte-level alphabet; only byte-level BPE vocabularies are supported", nameof(vocabulary));
            Place(token, id, bytes);
        }
        foreach (var (content, id) in _specialTokens) Place(content, id, Encoding.UTF8.GetBytes(content));

        for (var b = 0; b < 256; b++)
        {
            if (!_ids.TryGetValue(ByteLevelAlphabet.ToChar((byte)b).ToString(), out _byteIds[b]))
                throw new ArgumentException($"the vocabulary has no token for byte 0x{b:X2} (\"{ByteLevelAlphabet.ToChar((byte)b)}\"); a byte-level vocabulary needs all 256", nameof(vocabulary));
        }

        _merges = new (string, string)[merges.Count];
        _mergeRanks = new Dictionary<long, int>(merges.Count, PairKeyComparer.Instance);
        _mergeResults = new int[merges.Count];
        for (var rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            if (!_ids.TryGetValue(left ?? "", out var l) || !_ids.TryGetValue(right ?? "", out var r) || _specialTokens.ContainsKey(left!) || _specialTokens.ContainsKey(right!))
                throw new ArgumentException($"merge {rank + 1} (\"{left} {right}\") names a token that is not in the vocabulary", nameof(merges));
            if (!_ids.TryGetValue(left + right, out var merged))
                throw new ArgumentException($"merge {rank + 1} (\"{left} {right}\") produces \"{left + right}\", which is not in the vocabulary", nameof(merges));
            _merges[rank] = (left!, right!);
            // A repeated merge keeps its first (lowest) rank, as GPT-2's rank table does.
            if (_mergeRanks.TryAdd(PairKey(l, r), rank)) _mergeResults[rank] = merged;
        }

        // Precomputed once: the scorer counts the bytes of every scored token.
        _tokenByteLengths = Array.ConvertAll(_tokenBytes, b => b?.Length ?? 0);
        _specialsLongestFirst = _specialTokens.Keys.OrderByDescending(s => s.Length).ThenBy(s => s, StringComparer.Ordinal).ToArray();
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

        void Place(string token, int id, byte[] bytes)
        {
            if (_tokens[id] is { } other) throw new ArgumentException($"tokens \"{other}\" and \"{token}\" share id {id}", nameof(vocabulary));
            if (!_ids.TryAdd(token, id)) throw new ArgumentException($"token \"{token}\" appears twice", nameof(vocabulary));
            _tokens[id] = token;
            _tokenBytes[id] = bytes;
        }
    }

    /// <summary>The number of token ids a model's embedding needs: the highest id plus one.</summary>
    public int VocabSize => _tokens.Length;

    /// <summary>The id of &lt;|endoftext|&gt;.</summary>
    /// <exception cref="InvalidOperationException">The vocabulary has no &lt;|endoftext|&gt; token.</exception>
    public int EndOfTextId => _specialTokens.TryGetValue(EndOfText, out var id)
        ? id
        : throw new InvalidOperationException($"this tokenizer has no {EndOfText} token");

    /// <summary>Merge rules in rank order, spelled in the byte-level alphabet.</summary>
    public IReadOnlyList<(string Left, string Right)> Merges => _merges;

    /// <summary>Special tokens (content → id).</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens => _specialTokens;

    /// <summary>Every token (byte-level spelling, or content for special tokens) → id.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _ids;

    /// <summary>The token an id stands for (byte-level spelling, or content for a special token).</summary>
    /// <exception cref="ArgumentException">The id is not in the vocabulary.</exception>
    public string IdToToken(int id) => IsKnown(id) ? _tokens[id]! : throw UnknownId(id);

    /// <summary>The id of a token spelled in the byte-level alphabet (or a special token's content), if it exists.</summary>
    public int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>Encodes text to token ids; with <paramref name="allowSpecialTokens"/>, special tokens in the text become their ids.</summary>
    public int[] Encode(string text, bool allowSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        var output = new List<int>(text.Length / 3 + 4);
        Encode(text.AsSpan(), output, allowSpecialTokens);
        return output.ToArray();
    }

    /// <summary>Encodes text and appends the ids to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> output, bool allowSpecialTokens = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!allowSpecialTokens || _specialsLongestFirst.Length == 0) { EncodeOrdinary(text, output); return; }
        while (!text.IsEmpty)
        {
            var (at, special) = FindSpecial(text);
            if (at < 0) { EncodeOrdinary(text, output); return; }
            EncodeOrdinary(text[..at], output);
            output.Add(_specialTokens[special!]);
            text = text[(at + special!.Length)..];
        }
    }

    /// <summary>Encodes arbitrary bytes; valid UTF-8 stretches are encoded as text, each run of invalid bytes as one word.</summary>
    /// <remarks><see cref="DecodeBytes"/> gives back exactly these bytes. Special tokens are not recognised here.</remarks>
    public int[] EncodeBytes(ReadOnlySpan<byte> bytes)
    {
        var output = new List<int>(bytes.Length / 3 + 4);
        var chars = ArrayPool<char>.Shared.Rent(Math.Max(1, bytes.Length));
        var symbols = new List<int>();
        try
        {
            while (!bytes.IsEmpty)
            {
                var status = Utf8.ToUtf16(bytes, chars, out var read, out var written, replaceInvalidSequences: false, isFinalBlock: true);
                EncodeOrdinary(chars.AsSpan(0, written), output);
                bytes = bytes[read..];
                if (status == System.Buffers.OperationStatus.Done) break;

                // Gather the run of invalid bytes up to the next valid character and merge it as one word.
                var invalid = 0;
                while (invalid < bytes.Length && Rune.DecodeFromUtf8(bytes[invalid..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
                    invalid += consumed;
                symbols.Clear();
                foreach (var b in bytes[..invalid]) symbols.Add(_byteIds[b]);
                output.AddRange(MergeSymbols(symbols));
                bytes = bytes[invalid..];
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
        return output.ToArray();
    }

    /// <summary>Decodes ids to text; byte sequences that are not valid UTF-8 become U+FFFD (use <see cref="DecodeBytes"/> for exact bytes).</summary>
    /// <exception cref="ArgumentException">An id is not in the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids) => Encoding.UTF8.GetString(DecodeBytes(ids));

    /// <summary>Decodes ids to text, failing instead of substituting U+FFFD when the bytes are not valid UTF-8.</summary>
    /// <exception cref="ArgumentException">An id is not in the vocabulary, or the ids spell invalid UTF-8.</exception>
    public string DecodeStrict(ReadOnlySpan<int> ids)
    {
        var bytes = DecodeBytes(ids);
        if (!Utf8.IsValid(bytes)) throw new ArgumentException("the token ids do not spell valid UTF-8 (decode them as bytes instead)", nameof(ids));
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Decodes ids to the exact bytes they stand for.</summary>
    /// <exception cref="ArgumentException">An id is not in the vocabulary.</exception>
    public byte[] DecodeBytes(ReadOnlySpan<int> ids)
    {
        var length = 0;
        foreach (var id in ids) length += IsKnown(id) ? _tokenBytes[id]!.Length : throw UnknownId(id);
        var result = new byte[length];
        var at = 0;
        foreach (var id in ids)
        {
            var piece = _tokenBytes[id]!;
            piece.CopyTo(result, at);
            at += piece.Length;
        }
        return result;
    }

    /// <summary>How many bytes <paramref name="ids"/> stand for: the length of <see cref="DecodeBytes"/>, without decoding.</summary>
    /// <exception cref="ArgumentException">An id is not in the vocabulary.</exception>
    public long CountBytes(ReadOnlySpan<int> ids)
    {
        long bytes = 0;
        foreach (var id in ids) bytes += IsKnown(id) ? _tokenByteLengths[id] : throw UnknownId(id);
        return bytes;
    }

    /// <summary>Loads a tokenizer from a directory (tokenizer.json, or encoder.json + vocab.bpe, or vocab.json + merges.txt).</summary>
    public static BpeTokenizer Load(string directory) => TokenizerDirectory.Load(directory);

    /// <summary>Saves this tokenizer to a directory as tokenizer.json (Hugging Face layout) and encoder.json + vocab.bpe (GPT-2 layout).</summary>
    public void Save(string directory) => TokenizerDirectory.Save(this, directory);

    /// <summary>Encodes one pre-tokenised word without the cache, by the plain GPT-2 procedure: the reference for tests.</summary>
    internal int[] EncodeWordReference(string word)
    {
        var symbols = Encoding.UTF8.GetBytes(word).Select(b => _byteIds[b]).ToList();
        return MergeByScanning(symbols);
    }

    /// <summary>Encodes one pre-tokenised word without the cache through the priority-queue merge used for long words.</summary>
    internal int[] EncodeWordWithQueue(string word)
    {
        var symbols = Encoding.UTF8.GetBytes(word).Select(b => _byteIds[b]).ToList();
        return MergeWithQueue(symbols);
    }

    /// <summary>Encodes text without consulting or filling the word cache (for measuring the uncached path); same ids as Encode.</summary>
    public void EncodeUncached(ReadOnlySpan<char> text, List<int> output)
    {
        var symbols = new List<int>();
        for (var i = 0; i < text.Length;)
        {
            var end = Gpt2PreTokenizer.NextEnd(text, i);
            output.AddRange(EncodeWord(text[i..end], symbols));
            i = end;
        }
    }

    private void EncodeOrdinary(ReadOnlySpan<char> text, List<int> output)
    {
        List<int>? symbols = null;
        for (var i = 0; i < text.Length;)
        {
            var end = Gpt2PreTokenizer.NextEnd(text, i);
            var word = text[i..end];
            if (!_cacheLookup.TryGetValue(word, out var ids))
            {
                ids = EncodeWord(word, symbols ??= new List<int>());
                // A bounded cache: clearing wholesale is crude but keeps memory flat on adversarial text.
                if (Interlocked.Increment(ref _cacheCount) > CacheCapacity)
                {
                    _cache.Clear();
                    Interlocked.Exchange(ref _cacheCount, 0);
                }
                _cacheLookup.TryAdd(word, ids);
            }
            output.AddRange(ids);
            i = end;
        }
    }

    private int[] EncodeWord(ReadOnlySpan<char> word, List<int> symbols)
    {
        symbols.Clear();
        Span<byte> small = stackalloc byte[256];
        var max = Encoding.UTF8.GetMaxByteCount(word.Length);
        var rented = max > small.Length ? ArrayPool<byte>.Shared.Rent(max) : null;
        try
        {
            var buffer = rented ?? small;
            var count = Encoding.UTF8.GetBytes(word, buffer);
            foreach (var b in buffer[..count]) symbols.Add(_byteIds[b]);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        return MergeSymbols(symbols);
    }

    private int[] MergeSymbols(List<int> symbols) =>
        symbols.Count > LongWordSymbols ? MergeWithQueue(symbols) : MergeByScanning(symbols);

    /// <summary>GPT-2's procedure: find the lowest-ranked adjacent pair, merge all its occurrences left to right, repeat.</summary>
    private int[] MergeByScanning(List<int> symbols)
    {
        var s = symbols.ToArray();
        var count = s.Length;
        while (count > 1)
        {
            var bestRank = int.MaxValue;
            int left = 0, right = 0;
            for (var k = 0; k < count - 1; k++)
            {
                if (_mergeRanks.TryGetValue(PairKey(s[k], s[k + 1]), out var rank) && rank < bestRank)
                {
                    bestRank = rank;
                    left = s[k];
                    right = s[k + 1];
                }
            }
            if (bestRank == int.MaxValue) break;
            var merged = _mergeResults[bestRank];
            var w = 0;
            for (var k = 0; k < count;)
            {
                if (k < count - 1 && s[k] == left && s[k + 1] == right) { s[w++] = merged; k += 2; }
                else s[w++] = s[k++];
            }
            count = w;
        }
        return count == s.Length ? s : s[..count];
    }

    /// <summary>The same merges in O(n log n) for long words: a queue of candidate pairs ordered by (rank, position).</summary>
    /// <remarks>Equivalent to <see cref="MergeByScanning"/> whenever a merge ranks after the merges that create its parts, as in every trained vocabulary.</remarks>
    private int[] MergeWithQueue(List<int> symbols)
    {
        var n = symbols.Count;
        var sym = symbols.ToArray();
        var next = new int[n];
        var prev = new int[n];
        for (var i = 0; i < n; i++) { next[i] = i + 1 < n ? i + 1 : -1; prev[i] = i - 1; }
        var queue = new PriorityQueue<(int Left, int Right, int LeftId, int RightId), (int Rank, int Position)>();
        for (var i = 0; i + 1 < n; i++) Offer(i, i + 1);

        while (queue.TryDequeue(out var c, out var priority))
        {
            // Skip entries whose symbols have changed since they were queued.
            if (sym[c.Left] != c.LeftId || next[c.Left] != c.Right || sym[c.Right] != c.RightId) continue;
            sym[c.Left] = _mergeResults[priority.Rank];
            sym[c.Right] = -1;
            next[c.Left] = next[c.Right];
            if (next[c.Left] >= 0) prev[next[c.Left]] = c.Left;
            if (prev[c.Left] >= 0) Offer(prev[c.Left], c.Left);
            if (next[c.Left] >= 0) Offer(c.Left, next[c.Left]);
        }

        var result = new List<int>(n);
        for (var i = 0; i >= 0; i = next[i]) result.Add(sym[i]);
        return result.ToArray();

        void Offer(int left, int right)
        {
            if (_mergeRanks.TryGetValue(PairKey(sym[left], sym[right]), out var rank))
                queue.Enqueue((left, right, sym[left], sym[right]), (rank, left));
        }
    }

    private (int At, string? Special) FindSpecial(ReadOnlySpan<char> text)
    {
        var best = -1;
        string? found = null;
        foreach (var special in _specialsLongestFirst)
        {
            var at = text.IndexOf(special.AsSpan(), StringComparison.Ordinal);
            if (at >= 0 && (best < 0 || at < best)) { best = at; found = special; }
        }
        return (best, found);
    }

    private bool IsKnown(int id) => (uint)id < (uint)_tokens.Length && _tokens[id] is not null;

    private ArgumentException UnknownId(int id) =>
        new($"token id {id} is not in the vocabulary (ids run from 0 to {_tokens.Length - 1})", "ids");

    internal static long PairKey(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Hashes a pair key by multiplying it out (Fibonacci hashing).</summary>
    /// <remarks>
    /// <c>long.GetHashCode</c> folds a pair key to <c>left ^ right</c>, so the pairs of a large vocabulary pile into the
    /// same buckets: with GPT-2's 50,000 merges, uncached encoding ran several times slower than with an 8,192-id one.
    /// </remarks>
    private sealed class PairKeyComparer : IEqualityComparer<long>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long x, long y) => x == y;

        public int GetHashCode(long key) => (int)(((ulong)key * 0x9E3779B97F4A7C15UL) >> 32);
    }
}
