using System.Globalization;
using System.Text;

namespace Reweighting.Text.Tokenization;

/// <summary>A rank-encoded byte-level BPE vocabulary (the <c>.tiktoken</c> layout) and its conversion to vocabulary + merges.</summary>
/// <remarks>
/// A <c>.tiktoken</c> file lists token byte strings, base64-encoded, one per line, optionally followed by a space and the
/// token's rank; without a rank, ranks count up from 0 in line order. An optional first line <c>Capacity: N</c> is a size
/// hint. The rank is the token's id and its merge priority at once: encoding repeatedly joins the adjacent pair whose
/// concatenation has the lowest rank. There are no merge rules, so <see cref="ToTokenizer"/> derives them.
/// </remarks>
public sealed class TiktokenRanks
{
    private readonly byte[][] _tokens; // indexed by rank

    private TiktokenRanks(byte[][] tokens) => _tokens = tokens;

    /// <summary>The number of ranked tokens (special tokens are not part of a rank file).</summary>
    public int Count => _tokens.Length;

    /// <summary>The bytes of the token with a given rank.</summary>
    public ReadOnlySpan<byte> this[int rank] => _tokens[rank];

    /// <summary>Reads a rank file; <paramref name="name"/> names it in errors.</summary>
    /// <exception cref="TokenizerFormatException">A line is not base64 (with an optional rank), a rank repeats or leaves a gap,
    /// a token repeats, or a single byte has no token.</exception>
    public static TiktokenRanks Read(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var byRank = new Dictionary<int, byte[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
        var lineNumber = 0;
        var nextRank = 0;
        while (reader.ReadLine() is { } raw)
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || (lineNumber == 1 && line.StartsWith("Capacity:", StringComparison.Ordinal))) continue;
            var parts = line.Split(' ');
            byte[] bytes;
            int rank;
            try
            {
                bytes = Convert.FromBase64String(parts[0]);
                rank = parts.Length switch
                {
                    1 => nextRank,
                    2 => int.Parse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture),
                    _ => -1,
                };
            }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                rank = -1;
                bytes = [];
            }
            if (rank < 0 || bytes.Length == 0)
            {
                var found = line.Length <= 60 ? line : line[..60] + "...";
                throw new TokenizerFormatException($"{name}:{lineNumber}", $"expected \"BASE64\" or \"BASE64 RANK\", found \"{found}\"");
            }
            if (!byRank.TryAdd(rank, bytes)) throw new TokenizerFormatException($"{name}:{lineNumber}", $"rank {rank} appears twice");
            if (!seen.Add(ByteLevelAlphabet.Spell(bytes)))
                throw new TokenizerFormatException($"{name}:{lineNumber}", $"token \"{ByteLevelAlphabet.Spell(bytes)}\" appears twice");
            nextRank = rank + 1;
        }
        var tokens = new byte[byRank.Count][];
        for (var rank = 0; rank < tokens.Length; rank++)
        {
            if (!byRank.TryGetValue(rank, out tokens[rank]!))
                throw new TokenizerFormatException(name, $"ranks run from 0 to {byRank.Keys.Max()} but rank {rank} is missing");
        }
        for (var b = 0; b < 256; b++)
        {
            if (!seen.Contains(ByteLevelAlphabet.ToChar((byte)b).ToString()))
                throw new TokenizerFormatException(name, $"no token for byte 0x{b:X2}; a byte-level vocabulary needs all 256");
        }
        return new TiktokenRanks(tokens);
    }

    /// <summary>The project's tokenizer for these ranks: token id = rank, merges derived from the ranks, then the special tokens.</summary>
    /// <remarks>
    /// A token of rank r is the merge of the two parts that rank-ordered encoding of its own bytes ends with when only
    /// tokens ranked below r may form: start from single bytes, join the adjacent pair whose concatenation ranks lowest
    /// (and below r), repeat. That is how the ranked encoder itself builds the token, so the derived rule is the one it
    /// applies. Merges are listed in the rank order of their results, so merge priority follows rank as in the ranked
    /// encoder. A token that does not end in exactly two parts cannot be produced by encoding and gets no merge (it keeps
    /// its id); GPT-2's vocabulary has none.
    /// </remarks>
    /// <exception cref="TokenizerFormatException">A special token's id collides with a ranked token.</exception>
    public BpeTokenizer ToTokenizer(IReadOnlyDictionary<string, int> specialTokens, string name)
    {
        ArgumentNullException.ThrowIfNull(specialTokens);
        var spelled = Array.ConvertAll(_tokens, t => ByteLevelAlphabet.Spell(t));
        var vocabulary = new Dictionary<string, int>(spelled.Length + specialTokens.Count, StringComparer.Ordinal);
        for (var rank = 0; rank < spelled.Length; rank++) vocabulary[spelled[rank]] = rank;
        foreach (var (content, id) in specialTokens)
        {
            if (id < _tokens.Length)
                throw new TokenizerFormatException(name, $"special token {content} has id {id}, which is a ranked token's");
            vocabulary[content] = id;
        }

        var merges = new List<(string, string)>(spelled.Length);
        for (var rank = 0; rank < spelled.Length; rank++)
        {
            if (spelled[rank].Length < 2) continue;
            var parts = EncodeBelow(spelled[rank], rank, vocabulary);
            if (parts.Count == 2) merges.Add((parts[0], parts[1]));
        }
        try
        {
            return new BpeTokenizer(vocabulary, merges, specialTokens);
        }
        catch (ArgumentException e)
        {
            throw new TokenizerFormatException(name, e.Message, e);
        }
    }

    /// <summary>Rank-ordered encoding of one spelled token, allowing only tokens ranked below <paramref name="maxRank"/> to form.</summary>
    /// <remarks>Ties cannot occur (ranks are unique); among equal pairs, the leftmost joins first, as in the ranked encoder.</remarks>
    internal static List<string> EncodeBelow(string token, int maxRank, IReadOnlyDictionary<string, int> ranks)
    {
        var parts = token.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            var best = -1;
            var bestRank = maxRank;
            for (var i = 0; i + 1 < parts.Count; i++)
            {
                if (ranks.TryGetValue(parts[i] + parts[i + 1], out var r) && r < bestRank) { bestRank = r; best = i; }
            }
            if (best < 0) break;
            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }
        return parts;
    }
}
