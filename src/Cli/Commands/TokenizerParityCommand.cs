using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using TiktokenTokenizer = Microsoft.ML.Tokenizers.TiktokenTokenizer;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight tokenizer parity`: our encoder with GPT-2's vocabulary against Microsoft.ML.Tokenizers, per document.</summary>
/// <remarks>
/// Both encoders see the same text and must give the same ids. A mismatch is classified by comparing the two
/// pre-tokenisations: when they split the text differently at a supplementary-plane letter or number, the cause is known
/// (the library's regex runs on UTF-16 and sees such a character as two surrogates, not a letter; GPT-2's pattern, run by
/// Python's <c>regex</c> on code points, sees a letter, as ours does) and the mismatch is reported but not a failure.
/// The library always turns &lt;|endoftext|&gt; in the text into its special id, so ours encodes with special tokens
/// allowed here. A record the corpus reader skips
/// (invalid UTF-8, no text) is counted, not compared: neither encoder would see it in the pipeline.
/// </remarks>
internal static class TokenizerParityCommand
{
    private const int MismatchesKept = 20;

    public static Command Create()
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus file or directory (.jsonl, .jsonl.gz, .txt)", Required = true };
        var textField = new Option<string>("--text-field")
        {
            Description = "JSONL field holding the text", DefaultValueFactory = _ => "text",
        };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON on stdout" };
        var command = new Command("parity",
            "Check that our encoder gives Microsoft.ML.Tokenizers' GPT-2 ids on every document of a corpus (exit 1 on any mismatch)")
        {
            corpus, textField, json,
        };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var path = parse.GetValue(corpus)!;
            if (!File.Exists(path) && !Directory.Exists(path)) return CommandGuard.Fail($"corpus not found: {path}", 2);
            var reader = new CorpusReader(new CorpusReaderOptions(TextField: parse.GetValue(textField)!));
            var result = Compare(reader.Read(path), new ConsoleProgress());
            var summary = new
            {
                corpus = path,
                library = LibraryName,
                documents = result.Documents,
                skipped_records = reader.ProblemCount,
                megabytes = Math.Round(result.Bytes / 1e6, 2),
                tokens = result.Tokens,
                mismatched_documents = result.Mismatches.Count,
                explained_by_utf16_classification = result.Mismatches.Count - result.Unexplained,
                unexplained = result.Unexplained,
                mismatches = result.Mismatches.Take(MismatchesKept).Select(m => new
                {
                    id = m.Id, kind = m.Kind.ToString(), token = m.Token, project = m.Project, library = m.Library, context = m.Context,
                }),
                seconds = Math.Round(result.Seconds, 1),
            };
            var indented = new JsonSerializerOptions { WriteIndented = true };
            if (parse.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(summary, indented));
            else
            {
                Console.WriteLine($"{result.Documents:N0} documents ({result.Bytes / 1e6:F1} MB, {result.Tokens:N0} tokens): " +
                                  $"{result.Mismatches.Count} with different ids from {LibraryName}, {result.Unexplained} unexplained");
                if (reader.ProblemCount > 0) Console.WriteLine($"{reader.ProblemCount} skipped record(s), not compared");
                foreach (var m in result.Mismatches.Take(MismatchesKept))
                {
                    Console.WriteLine($"  {m.Id} ({m.Kind}): token {m.Token}: project [{string.Join(",", m.Project)}], " +
                                      $"library [{string.Join(",", m.Library)}] at \"{m.Context}\"");
                }
            }
            return result.Unexplained == 0 ? 0 : 1;
        }));
        return command;
    }

    /// <summary>Microsoft.ML.Tokenizers and its version, as the result names it.</summary>
    public static string LibraryName { get; } = "Microsoft.ML.Tokenizers " +
        (typeof(TiktokenTokenizer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
         ?? "?");

    /// <summary>Encodes every record with both encoders and collects the documents whose ids differ.</summary>
    internal static ParityResult Compare(IEnumerable<CorpusRecord> records, ConsoleProgress? progress = null)
    {
        var project = Gpt2Vocabulary.Create();
        var library = TiktokenTokenizer.CreateForModel("gpt2");
        var mismatches = new List<ParityMismatch>();
        var clock = Stopwatch.StartNew();
        long documents = 0, bytes = 0, tokens = 0;
        var ids = new List<int>();
        foreach (var record in records)
        {
            ids.Clear();
            project.Encode(record.Text, ids, allowSpecialTokens: true);
            var expected = library.EncodeToIds(record.Text);
            documents++;
            bytes += Encoding.UTF8.GetByteCount(record.Text);
            tokens += expected.Count;
            if (!ids.SequenceEqual(expected)) mismatches.Add(Describe(record, project, library, ids, expected));
            if (documents % 1000 == 0) progress?.Report($"{documents:N0} documents, {tokens:N0} tokens, {mismatches.Count} differ");
        }
        progress?.Report($"{documents:N0} documents, {tokens:N0} tokens, {mismatches.Count} differ", force: true);
        return new ParityResult(documents, bytes, tokens, mismatches, clock.Elapsed.TotalSeconds);
    }

    private static ParityMismatch Describe(CorpusRecord record, BpeTokenizer project, TiktokenTokenizer library, List<int> actual,
        IReadOnlyList<int> expected)
    {
        var at = 0;
        while (at < actual.Count && at < expected.Count && actual[at] == expected[at]) at++;
        var from = Math.Max(0, at - 2);
        var window = actual.Skip(from).Take(8).ToArray();
        var context = Encoding.UTF8.GetString(project.DecodeBytes(window));
        var escaped = string.Concat(context.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        var kind = Classify(record.Text, library);
        return new ParityMismatch(record.Id, kind, at, actual.Skip(at).Take(6).ToArray(), expected.Skip(at).Take(6).ToArray(), escaped);
    }

    /// <summary>Why two encodings differ: where the pre-tokenisations first split differently, and what character is there.</summary>
    internal static MismatchKind Classify(string text, TiktokenTokenizer library)
    {
        var ours = new List<(int Start, int End)>();
        for (var i = 0; i < text.Length;)
        {
            var next = Gpt2PreTokenizer.NextEnd(text, i);
            ours.Add((i, next));
            i = next;
        }
        var theirs = library.PreTokenizer!.PreTokenize(text).Select(w => (Start: w.Offset, End: w.Offset + w.Length)).ToList();
        var k = 0;
        while (k < ours.Count && k < theirs.Count && ours[k] == theirs[k]) k++;
        if (k == ours.Count && k == theirs.Count) return MismatchKind.Merges;
        // The two words that differ cover the same start; look at the characters either of them spans.
        var start = k < ours.Count ? ours[k].Start : theirs[k].Start;
        var end = Math.Max(k < ours.Count ? ours[k].End : start, k < theirs.Count ? theirs[k].End : start);
        for (var i = Math.Max(0, start - 1); i < Math.Min(text.Length, end + 1); i++)
        {
            if (!char.IsHighSurrogate(text[i]) || i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1])) continue;
            var category = CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1]));
            if (category is <= UnicodeCategory.OtherLetter or (>= UnicodeCategory.DecimalDigitNumber and <= UnicodeCategory.OtherNumber))
                return MismatchKind.SupplementaryLetterOrNumber;
        }
        return MismatchKind.PreTokenization;
    }
}

/// <summary>What a parity run compared and where the encoders disagreed.</summary>
internal sealed record ParityResult(long Documents, long Bytes, long Tokens, IReadOnlyList<ParityMismatch> Mismatches, double Seconds)
{
    /// <summary>Mismatches without a known cause: any of these fails the check.</summary>
    public int Unexplained => Mismatches.Count(m => m.Kind != MismatchKind.SupplementaryLetterOrNumber);
}

/// <summary>Where two encodings of a document part ways.</summary>
internal enum MismatchKind
{
    /// <summary>The pre-tokenisations differ at a supplementary-plane letter or number: the library reads it as two surrogates.</summary>
    SupplementaryLetterOrNumber,

    /// <summary>The pre-tokenisations differ for another reason.</summary>
    PreTokenization,

    /// <summary>The same words, different ids: the merges disagree.</summary>
    Merges,
}

/// <summary>A document whose ids differ: the first differing token, both encoders' ids from there, and the text around it.</summary>
internal sealed record ParityMismatch(string Id, MismatchKind Kind, int Token, int[] Project, int[] Library, string Context);
