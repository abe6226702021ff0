using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>Reads a corpus for the model commands, reporting every skipped record with its file and line (or row).</summary>
internal static class CorpusLoading
{
    public static List<CorpusRecord> Read(string path, CorpusReaderOptions? options = null)
    {
        var progress = new ConsoleProgress();
        var records = new List<CorpusRecord>();
        foreach (var record in Stream(path, options))
        {
            records.Add(record);
            if (records.Count % 10_000 == 0) progress.Report($"reading {path}: {records.Count} documents");
        }
        if (records.Count == 0) throw new InvalidDataException($"corpus {path} holds no usable documents");
        return records;
    }

    /// <summary>The corpus's records one at a time (a corpus larger than memory streams through), each skipped record
    /// reported on stderr as it is met and the count at the end.</summary>
    /// <exception cref="FileNotFoundException">Nothing exists at the path, or nothing matches the glob (at the call).</exception>
    public static IEnumerable<CorpusRecord> Stream(string path, CorpusReaderOptions? options = null)
    {
        if (!CorpusReader.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist (or no file matches it)");
        var reader = new CorpusReader(options, problem => Console.Error.WriteLine($"warning: skipped {problem}"));
        return Counted(reader, reader.Read(path));
    }

    private static IEnumerable<CorpusRecord> Counted(CorpusReader reader, IEnumerable<CorpusRecord> records)
    {
        foreach (var record in records) yield return record;
        if (reader.ProblemCount > 0) Console.Error.WriteLine($"warning: {reader.ProblemCount} record(s) skipped");
    }

    public static List<long[]> Encode(BpeTokenizer tokenizer, IReadOnlyList<CorpusRecord> records, ConsoleProgress progress, string what)
    {
        var result = new List<long[]>(records.Count);
        foreach (var r in records)
        {
            result.Add(tokenizer.Encode(r.Text).Select(i => (long)i).ToArray());
            if (result.Count % 500 == 0) progress.Report($"tokenising {what}: {result.Count}/{records.Count} documents");
        }
        progress.Report($"tokenised {what}: {records.Count} documents, {result.Sum(d => (long)d.Length)} tokens", force: true);
        return result;
    }

    /// <summary>A stable 1-in-<paramref name="every"/> split by document id, so reruns hold out the same documents.</summary>
    public static bool IsHeldOut(string id, int every)
    {
        uint h = 2166136261;
        foreach (var c in id) h = (h ^ c) * 16777619; // FNV-1a: stable across processes, unlike string.GetHashCode
        return h % (uint)every == 0;
    }
}
