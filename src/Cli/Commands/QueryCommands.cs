using System.CommandLine;
using Reweighting.Contracts;
using Reweighting.Storage.Queries;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight query noisy|hard|easy|summary`: what people most often ask the score database.</summary>
internal static class QueryCommands
{
    public static Command Create()
    {
        var query = new Command("query", "Query labelled documents (the same views are there for psql and BI tools)");
        foreach (var label in new[] { SampleLabel.Noisy, SampleLabel.Hard, SampleLabel.Easy })
            query.Subcommands.Add(LabelCommand(label));
        query.Subcommands.Add(SummaryCommand());
        return query;
    }

    private static Command LabelCommand(SampleLabel label)
    {
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var format = StoreCommandLine.FormatOption("table", "json", "csv");
        var domain = new Option<string?>("--domain") { Description = "Only documents of this domain" };
        var limit = new Option<int>("--limit") { Description = "Most rows to show (most confident first)", DefaultValueFactory = _ => 20 };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0) r.AddError("--limit must be a positive number");
        });

        var command = new Command(label.ToWire(), $"Documents whose latest label is {label.ToWire()}, most confident first")
            { domain, limit, format, db, verbose };
        command.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: true, async (database, _, token) =>
        {
            var rows = await new LabelledDocumentQueries(database.DataSource)
                .ListAsync(label, parse.GetValue(domain), parse.GetValue(limit), token);
            ResultFormatter.Write(parse.GetValue(format)!,
                ["document_id", "domain", "loss_mean", "loss_variance", "loss_per_byte", "confidence", "n_tokens", "scorer_model",
                 "gmm_version", "snippet"],
                rows.Select(r => new object?[] { r.DocumentId, r.Domain, r.LossMean, r.LossVariance, r.LossPerByte, r.LabelConfidence,
                                                 r.TokenCount, r.ScorerModel, r.GmmVersion, r.Snippet }));
            return 0;
        }, ct));
        return command;
    }

    private static Command SummaryCommand()
    {
        var db = StoreCommandLine.DbOption();
        var verbose = StoreCommandLine.VerboseOption();
        var format = StoreCommandLine.FormatOption("table", "json", "csv");
        var command = new Command("summary", "Documents per label and domain, with each label's share of its domain") { format, db, verbose };
        command.SetAction((parse, ct) => StoreCommandLine.RunAsync(parse, db, verbose, migrate: true, async (database, _, token) =>
        {
            var rows = await new LabelledDocumentQueries(database.DataSource).SummaryAsync(token);
            ResultFormatter.Write(parse.GetValue(format)!,
                ["domain", "label", "documents", "share", "avg_loss_mean", "avg_confidence"],
                rows.Select(r => new object?[] { r.Domain, r.Label.ToWire(), r.Documents, r.Share, r.AvgLossMean, r.AvgConfidence }));
            return 0;
        }, ct));
        return command;
    }
}
