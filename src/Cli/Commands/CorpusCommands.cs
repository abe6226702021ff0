using System.CommandLine;
using System.Text.Json;
using Reweighting.Text.Corpus;
using Reweighting.Text.Corpus.Corruption;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight corpus sample|corrupt|split`: the project's sample corpus, labelled noisy corpora for the
/// noise-detection and reweighting evaluations, and domain-filtered stream/holdout splits of a real corpus.</summary>
internal static class CorpusCommands
{
    private const int ProblemsShown = 20;

    public static Command Create() =>
        new("corpus", "Corpus tools: a deterministic sample corpus, labelled noise injection, stream/holdout splits")
        {
            SampleCommand(), CorruptCommand(), SplitCommand(),
        };

    private static Command SampleCommand()
    {
        var output = new Option<string>("--out") { Description = "JSONL to write (.jsonl, or .jsonl.gz to compress)", Required = true };
        var documents = new Option<int>("--documents") { Description = "Documents to generate", DefaultValueFactory = _ => 2000 };
        var noise = new Option<double>("--noise") { Description = "Share replaced by labelled noise (0: a clean corpus without labels)", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "Seed of the text and of the noise", DefaultValueFactory = _ => 1 };
        var command = new Command("sample", "Write the project's deterministic sample corpus (" + string.Join(", ", SampleCorpus.Domains) +
                                            "), with labelled noise injected as by `corpus corrupt`") { output, documents, noise, seed };
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var n = parse.GetValue(documents);
            var fraction = parse.GetValue(noise);
            if (n < 1) throw new ArgumentException("--documents must be at least 1");
            if (fraction is < 0 or > 1 || double.IsNaN(fraction)) throw new ArgumentException("--noise must be between 0 and 1");
            var path = parse.GetValue(output)!;
            var summary = WriteSample(path, n, fraction, parse.GetValue(seed));
            if (summary is not null)
                Console.Error.WriteLine($"{summary.Documents:N0} documents ({string.Join(", ", SampleCorpus.Domains)}), {summary.Corrupted:N0} replaced by noise: " +
                                        string.Join(", ", summary.PerFamily.Select(f => $"{f.Key} {f.Value}")));
            else Console.Error.WriteLine($"{n:N0} clean documents ({string.Join(", ", SampleCorpus.Domains)})");
            Console.Error.WriteLine($"wrote {path}");
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the sample corpus of <paramref name="documents"/> documents to <paramref name="path"/> (JSONL, or
    /// .jsonl.gz), with <paramref name="fraction"/> of them replaced by labelled noise as `corpus corrupt` does; returns
    /// the corruption's summary, or null for a clean corpus (fraction 0).</summary>
    internal static CorruptionSummary? WriteSample(string path, int documents, double fraction, int seed)
    {
        var clean = fraction > 0 ? Path.Combine(Path.GetTempPath(), $"reweight-sample-{Guid.NewGuid():N}.jsonl") : path;
        try
        {
            Text.IO.AtomicFile.Write(clean, stream =>
            {
                using var gzip = clean.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true) : null;
                using var writer = new StreamWriter(gzip ?? stream, new System.Text.UTF8Encoding(false), leaveOpen: true);
                foreach (var r in SampleCorpus.Generate(documents, seed))
                    writer.WriteLine(JsonSerializer.Serialize(new { id = r.Id, domain = r.Domain, source = r.Source, text = r.Text }));
            });
            return fraction > 0 ? new CorpusCorruptor(new CorruptionOptions(fraction, seed)).Run(clean, path) : null;
        }
        finally
        {
            if (fraction > 0 && File.Exists(clean)) File.Delete(clean);
        }
    }

    private static Command CorruptCommand()
    {
        var input = new Option<string>("--in") { Description = "Clean corpus: " + CorpusFieldOptions.Formats, Required = true };
        var output = new Option<string>("--out") { Description = "Labelled JSONL to write (.jsonl, or .jsonl.gz to compress)", Required = true };
        var fraction = new Option<double>("--fraction") { Description = "Share of documents to replace by noise, 0 to 1", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "Seed for the choice of documents, families and noisy texts", DefaultValueFactory = _ => 0 };
        var families = new Option<string?>("--families")
        {
            Description = $"Comma-separated noise families to use (default: {string.Join(",", NoiseFamilies.All.Select(f => f.Name))};" +
                          $" held out of the default, by name only: {string.Join(",", NoiseFamilies.HeldOut.Select(f => f.Name))})",
        };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary on stdout" };
        var command = new Command("corrupt",
            "Replace a seeded fraction of documents by generated noise; every record gets label (clean|noisy) and noise_type")
        {
            input, output, fraction, seed, families, json,
        };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var options = new CorruptionOptions(
                parse.GetValue(fraction), parse.GetValue(seed),
                parse.GetValue(families)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                fields.Reader(parse));
            var corruptor = new CorpusCorruptor(options);
            var shown = 0;
            var display = new ConsoleProgress();
            var summary = corruptor.Run(parse.GetValue(input)!, parse.GetValue(output)!, problem =>
            {
                if (shown++ < ProblemsShown) Console.Error.WriteLine($"skipped {problem}");
            }, new ProgressLine(display));
            if (summary.SkippedRecords > ProblemsShown) Console.Error.WriteLine($"... {summary.SkippedRecords - ProblemsShown} more skipped records not shown");

            Console.Error.WriteLine($"corrupted {summary.Corrupted:N0} of {summary.Documents:N0} documents (vocabulary {summary.VocabularySize:N0} words):");
            foreach (var (name, count) in summary.PerFamily) Console.Error.WriteLine($"  {name,-14} {count,10:N0}");
            Console.Error.WriteLine($"wrote {parse.GetValue(output)}");
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    out_path = parse.GetValue(output),
                    documents = summary.Documents,
                    noisy = summary.Corrupted,
                    per_family = summary.PerFamily,
                    skipped_records = summary.SkippedRecords,
                    vocabulary = summary.VocabularySize,
                }));
            return 0;
        }));
        return command;
    }

    private static Command SplitCommand()
    {
        var input = new Option<string>("--in")
        {
            Description = "Corpus file or directory (.jsonl, .jsonl.gz, .txt; directories recursively)", Required = true,
        };
        var output = new Option<string>("--out")
        {
            Description = "JSONL for the stream, the documents not held out (.jsonl, or .jsonl.gz)", Required = true,
        };
        var holdoutOutput = new Option<string>("--holdout-out")
        {
            Description = "JSONL for the held-out documents, e.g. the clean reference or validation set (.jsonl, or .jsonl.gz)",
            Required = true,
        };
        var holdout = new Option<double>("--holdout")
        {
            Description = "Expected share of the kept documents held out, 0 to 1", DefaultValueFactory = _ => 0.15,
        };
        var domains = new Option<string?>("--domains") { Description = "Comma-separated domains to keep (default: every document)" };
        var maxDocuments = new Option<long?>("--max-documents")
        {
            Description = "Keep at most this many matching documents, the first in reading order",
        };
        var seed = new Option<int>("--seed")
        {
            Description = "Seed of the id hash that decides each document's side", DefaultValueFactory = _ => 0,
        };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary on stdout" };
        var command = new Command("split",
            "Keep the documents of some domains and split them by a seeded hash of their id into a stream and a holdout; " +
            "every JSONL field of a record is kept")
        {
            input, output, holdoutOutput, holdout, domains, maxDocuments, seed, json,
        };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var inputPath = parse.GetValue(input)!;
            if (!CorpusReader.Exists(inputPath)) throw new FileNotFoundException($"corpus {inputPath} does not exist");
            var wanted = parse.GetValue(domains)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var reader = fields.Reader(parse);
            var splitter = new CorpusSplitter(
                new CorpusSplitOptions(parse.GetValue(holdout), parse.GetValue(seed), wanted, parse.GetValue(maxDocuments), reader));
            var shown = 0;
            var summary = splitter.Run(inputPath, parse.GetValue(output)!, parse.GetValue(holdoutOutput)!, problem =>
            {
                if (shown++ < ProblemsShown) Console.Error.WriteLine($"skipped {problem}");
            }, new SplitProgressLine(new ConsoleProgress()));
            if (summary.SkippedRecords > ProblemsShown)
                Console.Error.WriteLine($"... {summary.SkippedRecords - ProblemsShown} more skipped records not shown");
            if (summary.DuplicateIds > 0)
                Console.Error.WriteLine($"warning: {summary.DuplicateIds:N0} kept record(s) repeat an earlier id (one id, one side)");
            Console.Error.WriteLine($"kept {summary.Stream + summary.Holdout:N0} of {summary.Read:N0} documents: " +
                                    $"{summary.Stream:N0} in the stream, {summary.Holdout:N0} held out");
            foreach (var (domain, (stream, held)) in summary.PerDomain)
                Console.Error.WriteLine($"  {(domain.Length == 0 ? "(no domain)" : domain),-14} {stream,8:N0} stream {held,8:N0} holdout");
            Console.Error.WriteLine($"wrote {parse.GetValue(output)} and {parse.GetValue(holdoutOutput)}");
            if (parse.GetValue(json))
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    out_path = parse.GetValue(output),
                    holdout_path = parse.GetValue(holdoutOutput),
                    read = summary.Read,
                    stream = summary.Stream,
                    holdout = summary.Holdout,
                    per_domain = summary.PerDomain.ToDictionary(d => d.Key, d =>
                        new { stream = d.Value.Stream, holdout = d.Value.Holdout }),
                    duplicate_ids = summary.DuplicateIds,
                    skipped_records = summary.SkippedRecords,
                }));
            return 0;
        }));
        return command;
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool and print out of order).</summary>
    private sealed class ProgressLine(ConsoleProgress display) : IProgress<CorruptionProgress>
    {
        public void Report(CorruptionProgress value) => display.Report(value.Phase == CorruptionPhase.Counting
            ? $"counting: {value.Documents:N0} documents"
            : $"writing: {value.Documents:N0} / {value.Total:N0} documents", force: value.Documents == value.Total);
    }

    /// <summary>Reports the documents written so far, synchronously.</summary>
    private sealed class SplitProgressLine(ConsoleProgress display) : IProgress<long>
    {
        public void Report(long value) => display.Report($"splitting: {value:N0} documents written");
    }
}
