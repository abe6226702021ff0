using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Storage.Models;
using Reweighting.Storage.Writing;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight relabel --gmm-version V`: recompute stored labels with another stored GMM version.</summary>
internal static class RelabelCommand
{
    public static Command Create()
    {
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var format = StoreCommandLine.FormatOption("table", "json");
        var version = new Option<int>("--gmm-version") { Description = "Stored GMM version to label with", Required = true };
        var scorer = new Option<string?>("--scorer-model") { Description = "Relabel this proxy model's scores (default: the one the GMM was fitted on)" };

        var command = new Command("relabel",
            "Recompute label, responsibilities and confidence of stored scores with a stored GMM version; statistics are not touched")
            { version, scorer, format, db, verbose };
        command.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: true, async (database, loggers, token) =>
        {
            var v = parse.GetValue(version);
            var store = new GmmModelStore(database.DataSource);
            var model = await store.GetAsync(v, token);
            if (model is null)
            {
                var known = await store.VersionsAsync(token);
                Console.Error.WriteLine($"error: GMM version {v} is not stored" +
                    (known.Count == 0 ? " (no GMM has been fitted yet)" : $"; stored versions: {string.Join(", ", known)}"));
                return 1;
            }
            var labeller = GmmLabeller.FromModel(model);
            var scorerModel = parse.GetValue(scorer) ?? model.ScorerModel;
            var progress = new StderrProgress();
            var result = await new ScoreRelabeller(database.DataSource, logger: loggers.CreateLogger<ScoreRelabeller>())
                .RelabelAsync(v, scorerModel, labeller.Assign, progress, token);
            if (result.RowsRelabelled > 0) Console.Error.WriteLine();

            if (parse.GetValue(format) == "json")
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    gmm_version = result.GmmVersion,
                    scorer_model = result.ScorerModel,
                    rows = result.RowsRelabelled,
                    labels_changed = result.LabelsChanged,
                    transitions = result.Transitions.Select(t => new { from = t.Key.From.ToWire(), to = t.Key.To.ToWire(), rows = t.Value }),
                }));
            }
            else
            {
                Console.WriteLine($"relabelled {result.RowsRelabelled:N0} scores of {scorerModel} with GMM version {v}; {result.LabelsChanged:N0} labels changed");
                foreach (var ((from, to), n) in result.Transitions.OrderByDescending(t => t.Value))
                    Console.WriteLine($"  {from.ToWire(),-5} -> {to.ToWire(),-5} {n,10:N0}");
            }
            return 0;
        }, ct));
        return command;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, so its last line could land
    /// after the summary).</summary>
    private sealed class StderrProgress : IProgress<long>
    {
        public void Report(long value) => Console.Error.Write($"\rrelabelled {value:N0} scores");
    }
}
