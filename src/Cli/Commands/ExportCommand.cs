using System.CommandLine;
using System.Text.Json;
using Reweighting.Contracts;
using Reweighting.Storage.Export;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight export --out DIR --format parquet|jsonl`: the stored scores and labels as attribute files, one per
/// corpus shard, for joining to the corpus in DuckDB or Spark.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Directory to write the attribute files into", Required = true };
        var format = StoreCommandLine.FormatOption("parquet", "jsonl");
        var label = new Option<string[]>("--label")
        {
            Description = "Only documents whose latest label is this (repeatable: easy, hard, noisy)",
            Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        label.AcceptOnlyFromAmong("easy", "hard", "noisy");
        var where = new Option<string?>("--where")
        {
            Description = "SQL condition over the columns of the labelled_documents view, e.g. \"loss_mean > 4 AND domain = 'web'\" " +
                          "(run read-only)",
        };
        var rowGroup = new Option<int>("--row-group") { Description = "Rows per Parquet row group", DefaultValueFactory = _ => 100_000 };
        rowGroup.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0) r.AddError("--row-group must be a positive number");
        });
        var json = new Option<bool>("--json") { Description = "Print the files written as JSON on stdout" };
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var command = new Command("export",
            "Write every document's latest score and label (id, source file and row, statistics, label, confidence, GMM version, " +
            "scorer model) as Parquet or JSONL, one file per corpus shard in the manner of Dolma's attribute files")
            { output, format, label, where, rowGroup, json, db, verbose };
        command.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: true, async (database, _, token) =>
        {
            var options = new ScoreExportOptions(
                parse.GetValue(output)!,
                parse.GetValue(format) == "jsonl" ? ScoreExportFormat.Jsonl : ScoreExportFormat.Parquet,
                (parse.GetValue(label) ?? []).Select(SampleLabels.Parse).ToList(),
                parse.GetValue(where),
                parse.GetValue(rowGroup));
            var progress = new ConsoleProgress();
            var files = await new ScoreExporter(database.DataSource).ExportAsync(options,
                (done, total) => progress.Report($"exported {done:N0}/{total:N0} documents"), token);
            var rows = files.Sum(f => f.Rows);
            progress.Report($"exported {rows:N0} documents into {files.Count} file(s) under {options.OutputDirectory}", force: true);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    directory = options.OutputDirectory, documents = rows,
                    files = files.Select(f => new { file = f.File, source_file = f.SourceFile, documents = f.Rows }),
                }));
            }
            else
            {
                foreach (var f in files) Console.WriteLine($"{f.File}\t{f.Rows}\t{f.SourceFile ?? "(no source)"}");
            }
            return 0;
        }, ct));
        return command;
    }
}
