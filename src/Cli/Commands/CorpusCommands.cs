using System.CommandLine;
using System.Text.Json;
using Reweighting.Text.Corpus;
using Reweighting.Text.Corpus.Corruption;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight corpus corrupt`: labelled noisy corpora for the noise-detection and reweighting evaluations.</summary>
internal static class CorpusCommands
{
    private const int ProblemsShown = 20;

    public static Command Create() =>
        new("corpus", "Corpus tools: inject labelled noise into a clean corpus") { CorruptCommand() };

    private static Command CorruptCommand()
    {
        var input = new Option<string>("--in") { Description = "Clean corpus file or directory (.jsonl, .jsonl.gz, .txt; directories recursively)", Required = true };
        var output = new Option<string>("--out") { Description = "Labelled JSONL to write (.jsonl, or .jsonl.gz to compress)", Required = true };
        var fraction = new Option<double>("--fraction") { Description = "Share of documents to replace by noise, 0 to 1", DefaultValueFactory = _ => 0.2 };
        var seed = new Option<int>("--seed") { Description = "Seed for the choice of documents, families and noisy texts", DefaultValueFactory = _ => 0 };
        var families = new Option<string?>("--families")
        {
            Description = $"Comma-separated noise families to use (default all: {string.Join(",", NoiseFamilies.All.Select(f => f.Name))})",
        };
        var textField = new Option<string>("--text-field") { Description = "JSONL field holding the text", DefaultValueFactory = _ => "text" };
        var json = new Option<bool>("--json") { Description = "Print a JSON summary on stdout" };
        var command = new Command("corrupt",
            "Replace a seeded fraction of documents by generated noise; every record gets label (clean|noisy) and noise_type")
        {
            input, output, fraction, seed, families, textField, json,
        };
        command.SetAction(parse => TokenizerCommands.Guard(() =>
        {
            var options = new CorruptionOptions(
                parse.GetValue(fraction), parse.GetValue(seed),
                parse.GetValue(families)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                new CorpusReaderOptions(TextField: parse.GetValue(textField)!));
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

    /// <summary>Reports synchronously (Progress&lt;T&gt; would post to the thread pool and print out of order).</summary>
    private sealed class ProgressLine(ConsoleProgress display) : IProgress<CorruptionProgress>
    {
        public void Report(CorruptionProgress value) => display.Report(value.Phase == CorruptionPhase.Counting
            ? $"counting: {value.Documents:N0} documents"
            : $"writing: {value.Documents:N0} / {value.Total:N0} documents", force: value.Documents == value.Total);
    }
}
