using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using ZstdSharp;

namespace Reweighting.Text.Corpus;

/// <summary>Streams documents from JSONL (plain, gzip or zstd), Parquet and plain-text files, or directories or globs of
/// them, reporting every skipped record.</summary>
/// <remarks>
/// Files are read line by line (Parquet: a row group at a time) and never loaded whole (except one-document-per-file
/// text, one document at a time); compressed files are decompressed as streams. Blank lines hold no record and are passed
/// over. Every other line or row either becomes a record or is reported through the callback and <see cref="Problems"/>
/// with its file and line (or row): invalid JSON, invalid UTF-8, a missing, empty or non-string text field. A file cut
/// short is reported where it ends. Directories are walked recursively in ordinal order of relative path, so a corpus
/// always reads in the same order; files with other extensions are reported and skipped.
/// </remarks>
public sealed class CorpusReader
{
    /// <summary>At most this many problems are kept in <see cref="Problems"/>; the callback sees them all.</summary>
    public const int MaxKeptProblems = 10_000;

    // ".json.gz" and ".json.zst" hold JSON lines in Dolma's layout.
    private static readonly string[] JsonlExtensions =
        [".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz", ".jsonl.zst", ".ndjson.zst", ".json.gz", ".json.zst"];
    private static readonly string[] TextExtensions = [".txt", ".text", ".txt.gz", ".txt.zst"];
    private static readonly string[] ParquetExtensions = [".parquet"];

    private readonly CorpusReaderOptions _options;
    private readonly Action<CorpusProblem>? _onProblem;
    private readonly List<CorpusProblem> _problems = new();

    /// <summary>Creates a reader; <paramref name="onProblem"/> hears about each skipped record as it happens.</summary>
    public CorpusReader(CorpusReaderOptions? options = null, Action<CorpusProblem>? onProblem = null)
    {
        _options = options ?? CorpusReaderOptions.Default;
        if (string.IsNullOrEmpty(_options.TextField)) throw new ArgumentException("the text field name is empty", nameof(options));
        _onProblem = onProblem;
    }

    /// <summary>The first <see cref="MaxKeptProblems"/> skipped records, in the order met.</summary>
    public IReadOnlyList<CorpusProblem> Problems => _problems;

    /// <summary>How many records were skipped in all.</summary>
    public long ProblemCount { get; private set; }

    /// <summary>The corpus files a path names in reading order: the file itself, every file below a directory, or the
    /// files matching a glob (see <see cref="CorpusFiles.Resolve"/>).</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path, or nothing matches the glob.</exception>
    public static IReadOnlyList<string> ListFiles(string path) => CorpusFiles.Resolve(path).Files;

    /// <summary>Whether a path names a corpus: an existing file or directory, or a glob matching at least one file.</summary>
    public static bool Exists(string path)
    {
        if (File.Exists(path) || Directory.Exists(path)) return true;
        if (!CorpusFiles.IsGlob(path)) return false;
        try { return CorpusFiles.Resolve(path).Files.Count > 0; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    /// <summary>Reads every record under a file, directory or glob, lazily.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path (thrown at the call, not on enumeration).</exception>
    public IEnumerable<CorpusRecord> Read(string path) => ReadFiles(CorpusFiles.Resolve(path));

    /// <summary>The texts of <see cref="Read"/>, for tokenizer training.</summary>
    public IEnumerable<string> ReadTexts(string path) => Read(path).Select(r => r.Text);

    private IEnumerable<CorpusRecord> ReadFiles(CorpusFiles corpus)
    {
        foreach (var file in corpus.Files)
        {
            var relative = corpus.Relative(file);
            var kind = Kind(file, explicitlyNamed: corpus.IsSingleFile);
            if (kind is null)
            {
                var known = JsonlExtensions.Concat(ParquetExtensions).Concat(TextExtensions);
                Report(file, $"skipped: not a corpus file (expected {string.Join(", ", known)})");
                continue;
            }
            var records = kind switch
            {
                FileKind.Jsonl => ReadLines(file, relative, json: true),
                FileKind.Parquet => new ParquetShard(file, relative, _options, Report).Read(),
                _ when _options.PlainText == PlainTextLayout.DocumentPerLine => ReadLines(file, relative, json: false),
                _ => ReadWholeFile(file, relative),
            };
            foreach (var record in records) yield return record;
        }
    }

    private IEnumerable<CorpusRecord> ReadLines(string file, string relative, bool json)
    {
        var stream = TryOpen(file);
        if (stream is null) yield break;
        var counted = new CountingStream(stream);
        using var lines = new Utf8LineReader(counted);
        while (true)
        {
            CorpusRecord? record;
            try
            {
                if (!lines.TryReadLine(out var line))
                {
                    CheckGzipLength(file, counted.BytesRead, lines.LineNumber);
                    yield break;
                }
                record = json ? ParseJsonLine(line, file, relative, lines.LineNumber) : ParseTextLine(line, file, relative, lines.LineNumber);
            }
            catch (EndOfStreamException e) when (IsZstd(file))
            {
                Report($"{file}:{lines.LineNumber + 1}",
                    $"the zstd stream ends mid-frame ({e.Message}): the file is truncated and records after line " +
                    $"{lines.LineNumber} are missing");
                yield break;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ZstdException)
            {
                Report($"{file}:{lines.LineNumber + 1}", $"cannot read past this point (truncated or corrupt file?): {e.Message}");
                yield break;
            }
            if (record is not null) yield return record;
        }
    }

    private IEnumerable<CorpusRecord> ReadWholeFile(string file, string relative)
    {
        byte[] bytes;
        try
        {
            using var stream = TryOpen(file);
            if (stream is null) yield break;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            bytes = memory.ToArray();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ZstdException)
        {
            Report(file, $"cannot read (truncated or corrupt file?): {e.Message}");
            yield break;
        }
        var body = bytes.AsSpan();
        if (body.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) body = body[3..];
        if (!Utf8.IsValid(body)) { Report(file, "not valid UTF-8"); yield break; }
        var text = Encoding.UTF8.GetString(body);
        if (string.IsNullOrWhiteSpace(text)) { Report(file, "empty document"); yield break; }
        yield return new CorpusRecord(relative, text, null, file);
    }

    private CorpusRecord? ParseTextLine(ReadOnlySpan<byte> line, string file, string relative, long lineNumber)
    {
        if (IsBlank(line)) return null;
        if (!Utf8.IsValid(line)) { Report($"{file}:{lineNumber}", "not valid UTF-8"); return null; }
        return new CorpusRecord($"{relative}:{lineNumber}", Encoding.UTF8.GetString(line), null, $"{file}:{lineNumber}");
    }

    private CorpusRecord? ParseJsonLine(ReadOnlySpan<byte> line, string file, string relative, long lineNumber)
    {
        if (IsBlank(line)) return null;
        var source = $"{file}:{lineNumber}";
        // The JSON reader checks UTF-8 only where it decodes strings, and then throws a non-JSON exception.
        if (!Utf8.IsValid(line)) { Report(source, "not valid UTF-8"); return null; }
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(line);
            document = JsonDocument.ParseValue(ref reader);
            // ParseValue stops after one value; anything but whitespace after it makes the line invalid.
            if (reader.Read()) { document.Dispose(); Report(source, "invalid JSON: more than one value on the line"); return null; }
        }
        catch (JsonException e)
        {
            Report(source, $"invalid JSON: {e.Message}");
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { Report(source, $"expected a JSON object, found {Describe(root.ValueKind)}"); return null; }
            if (!root.TryGetProperty(_options.TextField, out var textElement)) { Report(source, $"no \"{_options.TextField}\" field"); return null; }
            if (textElement.ValueKind != JsonValueKind.String) { Report(source, $"\"{_options.TextField}\" is {Describe(textElement.ValueKind)}, not a string"); return null; }
            var text = textElement.GetString()!;
            if (string.IsNullOrWhiteSpace(text)) { Report(source, $"\"{_options.TextField}\" is empty"); return null; }
            var id = Scalar(root, _options.IdField) is { Length: > 0 } given ? given : $"{relative}:{lineNumber}";
            var domain = Scalar(root, _options.DomainField) is { Length: > 0 } d ? d : null;
            return new CorpusRecord(id, text, domain, source) { Json = _options.KeepJson ? root.GetRawText() : null, Fields = Extra(root) };
        }
    }

    private Dictionary<string, string>? Extra(JsonElement root)
    {
        Dictionary<string, string>? fields = null;
        foreach (var field in _options.ExtraFields ?? [])
        {
            if (Scalar(root, field) is { } value) (fields ??= new())[field] = value;
        }
        return fields;
    }

    private static string? Scalar(JsonElement root, string field)
    {
        if (string.IsNullOrEmpty(field) || !root.TryGetProperty(field, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number => value.GetRawText(),
            _ => null,
        };
    }

    /// <summary>Reports a gzip file whose data ends short of the length its trailer records.</summary>
    /// <remarks>
    /// .NET's GZipStream ends quietly when compressed data stops mid-stream, so a file cut at a line boundary would
    /// lose records unseen. The trailer's last four bytes hold the (last member's) uncompressed length mod 2^32.
    /// </remarks>
    private void CheckGzipLength(string file, long bytesRead, long lines)
    {
        if (!file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return;
        try
        {
            using var raw = File.OpenRead(file);
            if (raw.Length < 18) { Report(file, "gzip file too short to be complete (truncated?)"); return; }
            raw.Seek(-4, SeekOrigin.End);
            Span<byte> size = stackalloc byte[4];
            raw.ReadExactly(size);
            if (BitConverter.ToUInt32(size) != (uint)bytesRead)
                Report($"{file}:{lines + 1}", $"decompressed {bytesRead} bytes but the gzip trailer records a different length: the file is probably truncated (or is multi-member) and records after line {lines} may be missing");
        }
        catch (IOException e)
        {
            Report(file, $"cannot check the gzip trailer: {e.Message}");
        }
    }

    private Stream? TryOpen(string file)
    {
        try
        {
            Stream stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            if (file.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return new GZipStream(stream, CompressionMode.Decompress);
            return IsZstd(file) ? new DecompressionStream(stream) : stream;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Report(file, $"cannot open: {e.Message}");
            return null;
        }
    }

    private static bool IsZstd(string file) => file.EndsWith(".zst", StringComparison.OrdinalIgnoreCase);

    private enum FileKind { Jsonl, Text, Parquet }

    private static FileKind? Kind(string file, bool explicitlyNamed)
    {
        var name = file.ToLowerInvariant();
        if (JsonlExtensions.Any(name.EndsWith)) return FileKind.Jsonl;
        if (ParquetExtensions.Any(name.EndsWith)) return FileKind.Parquet;
        if (TextExtensions.Any(name.EndsWith)) return FileKind.Text;
        // A file named on its own is read as text whatever its extension; inside a directory, only known kinds.
        return explicitlyNamed ? FileKind.Text : null;
    }

    private void Report(string source, string reason)
    {
        var problem = new CorpusProblem(source, reason);
        ProblemCount++;
        if (_problems.Count < MaxKeptProblems) _problems.Add(problem);
        _onProblem?.Invoke(problem);
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r')) return false;
        return true;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.Null => "null",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => "a number",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
