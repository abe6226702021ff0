using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>Reads a corpus for the model commands, reporting every skipped record with its file and line.</summary>
internal static class CorpusLoading
{
    public static List<CorpusRecord> Read(string path, string textField)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist");
        var reader = new CorpusReader(new CorpusReaderOptions { TextField = textField },
            problem => Console.Error.WriteLine($"warning: skipped {problem}"));
        var records = reader.Read(path).ToList();
        if (reader.ProblemCount > 0) Console.Error.WriteLine($"warning: {reader.ProblemCount} record(s) skipped");
        if (records.Count == 0) throw new InvalidDataException($"corpus {path} holds no usable documents");
        return records;
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
