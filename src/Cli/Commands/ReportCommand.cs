using System.CommandLine;
using System.Text.Json;
using Reweighting.Contracts;
using Reweighting.Reporting;
using Reweighting.Text.IO;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight report --out report.html`: one self-contained HTML page of charts over the score database.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var output = new Option<FileInfo>("--out") { Description = "HTML file to write (replaced atomically)", Required = true };
        var runs = new Option<string[]>("--run")
        {
            Description = "Include only this training run (repeatable; default: every run)",
            AllowMultipleArgumentsPerToken = true,
        };
        var maxPoints = new Option<int>("--max-points")
        {
            Description = "Most documents plotted; beyond it a seeded random sample is drawn",
            DefaultValueFactory = _ => new ReportOptions().MaxScatterPoints,
        };
        maxPoints.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0) r.AddError("--max-points must be a positive number");
        });
        var seed = new Option<long>("--seed") { Description = "Seed of the document sample", DefaultValueFactory = _ => new ReportOptions().Seed };
        var title = new Option<string>("--title") { Description = "Page title", DefaultValueFactory = _ => "Reweighting report" };
        var json = new Option<bool>("--json") { Description = "Print what was written as JSON" };

        var command = new Command("report",
            "Write an HTML report: documents by label with the GMM's ellipses, label mix per domain, loss histograms, " +
            "meta-EM weights, training and validation loss per run, and the meta-learned cluster parameters. " +
            "Self-contained (inline SVG and CSS): it opens offline.")
            { output, runs, maxPoints, seed, title, json, db, verbose };
        command.SetAction(async (parse, ct) =>
        {
            var target = parse.GetValue(output)!;
            if (OutputProblem(target) is { } problem)
            {
                Console.Error.WriteLine($"error: --out {target}: {problem}");
                return 1;
            }
            var options = new ReportOptions
            {
                RunIds = parse.GetValue(runs) is { Length: > 0 } ids ? ids : null,
                MaxScatterPoints = parse.GetValue(maxPoints),
                Seed = parse.GetValue(seed),
            };
            return await StoreCommandLine.RunAsync(parse, db, verbose, migrate: true, async (database, _, token) =>
            {
                if (!parse.GetValue(json)) Console.Error.WriteLine($"reading {database.Description} ...");
                var data = await ReportData.LoadAsync(database.DataSource, options, token);
                var html = ReportRenderer.RenderPage(data, parse.GetValue(title)!);
                try
                {
                    AtomicFile.WriteAllText(target.FullName, html);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"error: cannot write {target.FullName}: {ex.Message}");
                    return 1;
                }
                Describe(target.FullName, html.Length, data, parse.GetValue(json));
                return 0;
            }, ct);
        });
        return command;
    }

    /// <summary>Why the report cannot be written there, or null; checked before the database is opened.</summary>
    private static string? OutputProblem(FileInfo target)
    {
        if (Directory.Exists(target.FullName)) return "is a directory; give a file name such as report.html";
        var directory = target.Directory;
        if (directory is null || !directory.Exists) return $"directory {directory?.FullName ?? "(none)"} does not exist";
        return null;
    }

    private static void Describe(string path, int characters, ReportData data, bool json)
    {
        var runs = data.Runs.Select(r => new { run_id = r.RunId, strategy = r.Strategy }).ToArray();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                path,
                bytes = new FileInfo(path).Length,
                documents = data.TotalDocuments,
                plotted = data.Sample.Count,
                seed = data.Options.Seed,
                gmm_version = data.Gmm?.Model.Version,
                gmm_components = data.Gmm?.Model.Parameters.Components,
                runs,
                runs_with_phi = data.Weights.Select(w => w.RunId).ToArray(),
            }));
            return;
        }
        Console.WriteLine($"wrote {path} ({new FileInfo(path).Length / 1024.0:N0} KiB, {characters:N0} characters)");
        Console.WriteLine(data.TotalDocuments == 0
            ? "  documents: none scored yet"
            : $"  documents: {Plotted(data)}; labels: {string.Join(", ", data.LabelMix.GroupBy(c => c.Label).OrderBy(g => g.Key).Select(g => $"{g.Key.ToWire()} {g.Sum(c => c.Documents):N0}"))}");
        Console.WriteLine(data.Gmm is { } gmm
            ? $"  GMM: version {gmm.Model.Version} ({gmm.Model.Parameters.Components} components, {gmm.StoredVersions} version(s) stored)"
            : "  GMM: none stored yet");
        Console.WriteLine(runs.Length == 0
            ? "  runs: none recorded yet"
            : $"  runs: {string.Join(", ", runs.Select(r => $"{r.run_id} ({r.strategy})"))}; meta-EM weights for {data.Weights.Count} run(s)");
    }

    private static string Plotted(ReportData data) =>
        data.IsSampled ? $"{data.Sample.Count:N0} of {data.TotalDocuments:N0} plotted (seed {data.Options.Seed})" : $"all {data.TotalDocuments:N0} plotted";
}
