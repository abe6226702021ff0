using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Text.IO;

namespace Reweighting.Text.Corpus;

/// <summary>How <see cref="CorpusSplitter"/> filters and splits a corpus.</summary>
/// <param name="HoldoutFraction">Expected share of the kept documents that go to the holdout file, 0 to 1.</param>
/// <param name="Seed">Seed of the id hash: another seed draws another holdout.</param>
/// <param name="Domains">Keep only documents whose domain is one of these (null: every document).</param>
/// <param name="MaxDocuments">Keep at most this many of the matching documents, the first in reading order (null: all).</param>
/// <param name="Reader">Field names for reading the input (the domain field among them).</param>
public sealed record CorpusSplitOptions(
    double HoldoutFraction = 0.15,
    int Seed = 0,
    IReadOnlyList<string>? Domains = null,
    long? MaxDocuments = null,
    CorpusReaderOptions? Reader = null)
{
    /// <summary>Checks the options; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public CorpusSplitOptions Validate()
    {
        if (HoldoutFraction is < 0 or > 1 || double.IsNaN(HoldoutFraction))
            throw new ArgumentException($"the holdout fraction must be between 0 and 1, got {HoldoutFraction}");
        if (MaxDocuments is < 1) throw new ArgumentException($"the document limit must be at least 1, got {MaxDocuments}");
        if (Domains is { Count: 0 }) throw new ArgumentException("the domain filter names no domain");
        return this;
    }
}

/// <summary>What a split did.</summary>
/// <param name="Read">Usable records read (before the domain filter).</param>
/// <param name="Stream">Documents written to the stream file.</param>
/// <param name="Holdout">Documents written to the holdout file.</param>
/// <param name="PerDomain">Written documents per domain ("" for records without one): (stream, holdout).</param>
/// <param name="DuplicateIds">Kept records whose id an earlier kept record already had (both land on the same side).</param>
/// <param name="SkippedRecords">Input records the reader could not use (not written).</param>
public sealed record CorpusSplitSummary(
    long Read,
    long Stream,
    long Holdout,
    IReadOnlyDictionary<string, (long Stream, long Holdout)> PerDomain,
    long DuplicateIds,
    long SkippedRecords);

/// <summary>Filters a corpus by domain and splits it by a seeded hash of each document's id into a stream and a holdout
/// (for example the training stream and the clean reference set), keeping every field of each JSONL record.</summary>
/// <remarks>
/// A document's side depends only on its id and the seed, so the split is deterministic, the two sides are disjoint by id,
/// and a document keeps its side when the corpus grows or is filtered differently. Two passes over the input: the first
/// finds the domains present (so a domain filter naming an absent domain fails before anything is written), the second
/// streams records out. Both outputs are replaced atomically and gzip-compressed when their path ends in .gz.
/// </remarks>
public sealed class CorpusSplitter
{
    /// <summary>Name under which documents without a domain are counted.</summary>
    public const string NoDomain = "";

    /// <summary>How many written documents pass between progress reports.</summary>
    public const int ProgressInterval = 1_000;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CorpusSplitOptions _options;
    private readonly CorpusReaderOptions _reader;

    /// <summary>Creates a splitter after validating its options.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public CorpusSplitter(CorpusSplitOptions options)
    {
        _options = options.Validate();
        _reader = (options.Reader ?? CorpusReaderOptions.Default) with { KeepJson = true };
    }

    /// <summary>Where a document falls in [0, 1) for this seed: it is held out when this is below the holdout fraction.</summary>
    public static double Position(string id, int seed)
    {
        var h = 14695981039346656037UL; // FNV-1a 64: stable across processes, unlike string.GetHashCode
        foreach (var c in id) h = unchecked((h ^ c) * 1099511628211UL);
        // SplitMix64's finaliser, so that ids differing in one character spread over the whole range.
        var z = unchecked(h ^ ((ulong)(uint)seed * 0x9E3779B97F4A7C15UL));
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Reads <paramref name="input"/> and writes its kept documents to <paramref name="streamOutput"/> or
    /// <paramref name="holdoutOutput"/>.</summary>
    /// <param name="input">A corpus file or directory, as <see cref="CorpusReader"/> reads it.</param>
    /// <param name="streamOutput">JSONL (.jsonl or .jsonl.gz) for the documents not held out.</param>
    /// <param name="holdoutOutput">JSONL (.jsonl or .jsonl.gz) for the held-out documents.</param>
    /// <param name="onProblem">Hears about each skipped input record once.</param>
    /// <param name="progress">Told the documents written so far, every <see cref="ProgressInterval"/> and at the end.</param>
    /// <exception cref="ArgumentException">The domain filter names a domain the corpus does not hold (the message lists those it does),
    /// or the two outputs are the same file.</exception>
    /// <exception cref="InvalidDataException">No document is left to write.</exception>
    public CorpusSplitSummary Run(string input, string streamOutput, string holdoutOutput, Action<CorpusProblem>? onProblem = null,
        IProgress<long>? progress = null)
    {
        if (string.Equals(Path.GetFullPath(streamOutput), Path.GetFullPath(holdoutOutput), StringComparison.Ordinal))
            throw new ArgumentException($"the stream and the holdout would both be written to {streamOutput}");
        var firstPass = new CorpusReader(_reader with { KeepJson = false }, onProblem);
        var present = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var record in firstPass.Read(input))
            present[record.Domain ?? NoDomain] = present.GetValueOrDefault(record.Domain ?? NoDomain) + 1;
        if (present.Count == 0) throw new InvalidDataException($"no documents in {input} ({firstPass.ProblemCount} skipped)");
        var wanted = _options.Domains?.ToHashSet(StringComparer.Ordinal);
        var missing = wanted?.Where(d => !present.ContainsKey(d)).Order(StringComparer.Ordinal).ToList();
        if (missing is { Count: > 0 })
            throw new ArgumentException($"{input} holds no document of domain {string.Join(", ", missing.Select(d => $"'{d}'"))} " +
                                        $"(field \"{_reader.DomainField}\"; present: {Describe(present)})");

        var perDomain = new SortedDictionary<string, (long Stream, long Holdout)>(StringComparer.Ordinal);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        long kept = 0, held = 0, duplicates = 0;
        AtomicFile.Write(streamOutput, streamFile => AtomicFile.Write(holdoutOutput, holdoutFile =>
        {
            using var stream = new JsonLines(streamFile, streamOutput);
            using var holdout = new JsonLines(holdoutFile, holdoutOutput);
            // The first pass already reported every problem; the second must not repeat them.
            foreach (var record in new CorpusReader(_reader).Read(input))
            {
                if (wanted is not null && (record.Domain is null || !wanted.Contains(record.Domain))) continue;
                if (kept >= _options.MaxDocuments) break;
                if (!ids.Add(record.Id)) duplicates++;
                var isHeld = Position(record.Id, _options.Seed) < _options.HoldoutFraction;
                (isHeld ? holdout : stream).Write(Serialise(record));
                var domain = record.Domain ?? NoDomain;
                var (s, h) = perDomain.GetValueOrDefault(domain);
                perDomain[domain] = isHeld ? (s, h + 1) : (s + 1, h);
                if (isHeld) held++;
                if (++kept % ProgressInterval == 0) progress?.Report(kept);
            }
            if (kept == 0) throw new InvalidDataException($"no document of {input} is left to write");
        }));
        if (kept % ProgressInterval != 0) progress?.Report(kept);
        return new CorpusSplitSummary(present.Values.Sum(), kept - held, held,
            perDomain.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal), duplicates, firstPass.ProblemCount);
    }

    /// <summary>"code 453, docs 439, (no domain) 2": domains and counts for messages.</summary>
    public static string Describe(IReadOnlyDictionary<string, long> domains) =>
        string.Join(", ", domains.Select(d => $"{(d.Key == NoDomain ? "(no domain)" : d.Key)} {d.Value}"));

    /// <summary>The record as one JSON line: its own object when it came from JSONL (with an id added when the id was derived
    /// from file and line), else id, text and domain.</summary>
    private string Serialise(CorpusRecord record)
    {
        if (record.Json is { } json)
        {
            var node = JsonNode.Parse(json)!.AsObject();
            if (node.ContainsKey(_reader.IdField)) return json;
            node[_reader.IdField] = record.Id;
            return node.ToJsonString(new JsonSerializerOptions { Encoder = WriterOptions.Encoder });
        }
        var o = new JsonObject { [_reader.IdField] = record.Id, [_reader.TextField] = record.Text };
        if (record.Domain is not null) o[_reader.DomainField] = record.Domain;
        return o.ToJsonString(new JsonSerializerOptions { Encoder = WriterOptions.Encoder });
    }

    /// <summary>Writes one JSON object per line to an atomic writer's stream, compressed when the target ends in .gz.</summary>
    private sealed class JsonLines : IDisposable
    {
        private readonly GZipStream? _gzip;
        private readonly StreamWriter _writer;

        public JsonLines(Stream file, string target)
        {
            _gzip = target.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true)
                : null;
            _writer = new StreamWriter((Stream?)_gzip ?? file, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        }

        public void Write(string line) => _writer.WriteLine(line);

        public void Dispose()
        {
            _writer.Dispose();
            _gzip?.Dispose();
        }
    }
}
