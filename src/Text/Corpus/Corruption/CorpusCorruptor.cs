using System.IO.Compression;
using System.Text.Encodings.Web;
using System.Text.Json;
using Reweighting.Text.IO;

namespace Reweighting.Text.Corpus.Corruption;

/// <summary>Replaces a seeded sample of a corpus's documents by generated noise and writes the whole corpus, labelled, as JSONL.</summary>
/// <remarks>
/// Two passes over the input: the first counts documents and collects a vocabulary, the second streams records out,
/// so memory holds the vocabulary and one byte per document, never the texts. Every output record has
/// <c>id</c>, <c>domain</c>, <c>text</c>, <c>label</c> (<c>clean</c> or <c>noisy</c>) and <c>noise_type</c> (null when
/// clean). Each noisy text comes from its own random source seeded by (seed, position), so it does not depend on the
/// others. Output is gzip-compressed when the path ends in .gz and is replaced atomically.
/// </remarks>
public sealed class CorpusCorruptor
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>How many documents pass between progress reports.</summary>
    public const int ProgressInterval = 10_000;

    private readonly CorruptionOptions _options;
    private readonly IReadOnlyList<NoiseFamily> _families;

    /// <summary>Creates a corruptor after validating its options.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public CorpusCorruptor(CorruptionOptions options)
    {
        options.Validate();
        _options = options;
        _families = NoiseFamilies.Select(options.Families);
    }

    /// <summary>Reads <paramref name="input"/>, writes the labelled corpus to <paramref name="output"/>, and says what it did.</summary>
    /// <param name="input">A corpus file or directory, as <see cref="CorpusReader"/> reads it.</param>
    /// <param name="output">The JSONL file to write (.jsonl or .jsonl.gz).</param>
    /// <param name="onProblem">Hears about each skipped input record once.</param>
    /// <param name="progress">Told every <see cref="ProgressInterval"/> documents of each pass, and at the end of each.</param>
    /// <exception cref="InvalidDataException">The input holds no usable documents or changed between the two passes.</exception>
    public CorruptionSummary Run(string input, string output, Action<CorpusProblem>? onProblem = null, IProgress<CorruptionProgress>? progress = null)
    {
        var readerOptions = _options.Reader ?? CorpusReaderOptions.Default;
        var firstPass = new CorpusReader(readerOptions, onProblem);
        var vocabulary = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long count = 0;
        foreach (var record in firstPass.Read(input))
        {
            if (++count % ProgressInterval == 0) progress?.Report(new CorruptionProgress(CorruptionPhase.Counting, count, null));
            if (vocabulary.Count >= CorruptionOptions.MaxVocabulary) continue;
            foreach (var word in NoiseFamily.Words(record.Text))
                if (vocabulary.Count < CorruptionOptions.MaxVocabulary && seen.Add(word)) vocabulary.Add(word);
        }
        if (count % ProgressInterval != 0) progress?.Report(new CorruptionProgress(CorruptionPhase.Counting, count, null));
        if (count == 0) throw new InvalidDataException($"no documents in {input} ({firstPass.ProblemCount} skipped)");
        if (count > Array.MaxLength) throw new InvalidDataException($"{count} documents are more than one run can corrupt");

        var assignment = Assign((int)count);
        var perFamily = _families.ToDictionary(f => f.Name, _ => 0L);
        long written = 0;
        AtomicFile.Write(output, file =>
        {
            using var stream = output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)
                ? new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true)
                : (Stream)new NonClosingStream(file);
            using var json = new Utf8JsonWriter(stream, WriterOptions);
            // The first pass already reported every problem; the second must not repeat them.
            foreach (var record in new CorpusReader(readerOptions).Read(input))
            {
                if (written >= count) throw new InvalidDataException($"{input} changed while being corrupted (more documents on the second pass)");
                var familyIndex = assignment[written];
                NoiseFamily? family = familyIndex == 0 ? null : _families[familyIndex - 1];
                var text = family is null ? record.Text : family.Generate(
                    new NoiseInput(record.Text, vocabulary, Math.Clamp(record.Text.Length, 256, 8192)),
                    new Random(DocumentSeed(_options.Seed, written)));
                if (family is not null) perFamily[family.Name]++;
                WriteRecord(json, record, text, family);
                json.Flush();
                json.Reset();
                stream.WriteByte((byte)'\n');
                if (++written % ProgressInterval == 0) progress?.Report(new CorruptionProgress(CorruptionPhase.Writing, written, count));
            }
        });
        if (written % ProgressInterval != 0) progress?.Report(new CorruptionProgress(CorruptionPhase.Writing, written, count));
        if (written != count) throw new InvalidDataException($"{input} changed while being corrupted ({count} documents, then {written})");
        return new CorruptionSummary(count, perFamily.Values.Sum(), perFamily, firstPass.ProblemCount, vocabulary.Count);
    }

    /// <summary>Per document: 0 for clean, else 1 + the index of its family.</summary>
    /// <remarks>
    /// A partial Fisher–Yates shuffle draws exactly round(fraction × N) positions; the families, in a seeded order,
    /// are dealt round-robin over the drawn positions so their counts differ by at most one.
    /// </remarks>
    internal byte[] Assign(int count)
    {
        var random = new Random(_options.Seed);
        var take = (int)Math.Round(_options.Fraction * count, MidpointRounding.AwayFromZero);
        var positions = new int[count];
        for (var i = 0; i < count; i++) positions[i] = i;
        for (var i = 0; i < take; i++)
        {
            var j = random.Next(i, count);
            (positions[i], positions[j]) = (positions[j], positions[i]);
        }
        var order = Enumerable.Range(0, _families.Count).ToArray();
        random.Shuffle(order);
        var assignment = new byte[count];
        for (var i = 0; i < take; i++) assignment[positions[i]] = (byte)(order[i % order.Length] + 1);
        return assignment;
    }

    /// <summary>A well-mixed 32-bit seed for one document (SplitMix64 finaliser over seed and position).</summary>
    internal static int DocumentSeed(int seed, long position)
    {
        var z = unchecked(((ulong)(uint)seed << 32) ^ (ulong)position) + 0x9E3779B97F4A7C15UL;
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (int)(z ^ (z >> 31));
    }

    private static void WriteRecord(Utf8JsonWriter json, CorpusRecord record, string text, NoiseFamily? family)
    {
        json.WriteStartObject();
        json.WriteString("id", record.Id);
        if (record.Domain is null) json.WriteNull("domain"); else json.WriteString("domain", record.Domain);
        json.WriteString("text", text);
        json.WriteString("label", family is null ? "clean" : "noisy");
        if (family is null) json.WriteNull("noise_type"); else json.WriteString("noise_type", family.Name);
        json.WriteEndObject();
    }

    /// <summary>Lets the JSON writer's owner dispose its stream without closing the atomic writer's file.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        public override void WriteByte(byte value) => inner.WriteByte(value);
    }
}
