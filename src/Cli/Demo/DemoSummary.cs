using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Models;
using Reweighting.Storage.Queries;
using Reweighting.Text.Corpus;

namespace Reweighting.Cli.Demo;

/// <summary>What the demo found, read back from PostgreSQL.</summary>
internal sealed record DemoOutcome(
    ScoringOutcome Scoring,
    long StoredDocuments,
    IReadOnlyList<(string Domain, string Label, long Documents, double Share)> LabelMix,
    NoiseMatch? Match,
    IReadOnlyList<(string Id, string? Domain, double Confidence, double LossMean, double LossVariance, string Snippet, string Truth)> Noisiest,
    IReadOnlyList<RunLosses> Runs,
    int GmmVersions);

/// <summary>How the scorer's <c>noisy</c> label matches the injected noise.</summary>
internal sealed record NoiseMatch(long Injected, long LabelledNoisy, long Both, long Documents, IReadOnlyDictionary<string, (long Injected, long Found)> PerFamily)
{
    public double Precision => LabelledNoisy == 0 ? 0 : (double)Both / LabelledNoisy;
    public double Recall => Injected == 0 ? 0 : (double)Both / Injected;
    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
    public double BaseRate => Documents == 0 ? 0 : (double)Injected / Documents;
}

/// <summary>One training run's validation losses: by step (all domains) and the last one per domain.</summary>
internal sealed record RunLosses(TrainingRunOutcome Run, IReadOnlyList<(long Step, double Loss)> Curve, IReadOnlyDictionary<string, double> FinalByDomain, double? NoisyWeightShare)
{
    public double? Final => Curve.Count == 0 ? null : Curve[^1].Loss;
}

internal static class DemoSummary
{
    public static async Task<DemoOutcome> ReadAsync(string connection, DemoCorpus corpus, ScoringOutcome scoring, IReadOnlyList<TrainingRunOutcome> runs, CancellationToken ct)
    {
        await using var db = NpgsqlDataSource.Create(connection);
        var documents = new LabelledDocumentQueries(db);
        var stored = await documents.CountAsync(ct);
        var versions = (await new GmmModelStore(db).VersionsAsync(ct)).Count;

        // The label_summary view, '(all)' last for the table.
        var mix = (await documents.SummaryAsync(ct))
            .OrderBy(r => r.Domain == "(all)").ThenBy(r => r.Domain, StringComparer.Ordinal).ThenBy(r => r.Label)
            .Select(r => (r.Domain, r.Label.ToWire(), r.Documents, (double)r.Share)).ToList();

        var match = corpus.Truth is { } truth ? Match(truth, await documents.LatestLabelsAsync(ct)) : null;

        var noisiest = (await documents.MostConfidentNoisyAsync(5, ct)).Select(d =>
        {
            var truthText = corpus.Truth is null ? "" : corpus.Truth.TryGetValue(d.DocumentId, out var t) ? t.Noisy ? $"injected {t.NoiseType}" : "clean" : "";
            return (d.DocumentId, d.Domain, d.LabelConfidence, d.LossMean, d.LossVariance, d.Snippet, truthText);
        }).ToList();

        var metrics = new TrainingMetricQueries(db);
        var losses = new List<RunLosses>();
        foreach (var run in runs)
        {
            var valid = await metrics.ValidationLossesAsync(run.RunId, ct);
            losses.Add(new RunLosses(run, valid.Curve, valid.FinalByDomain, null));
        }
        return new DemoOutcome(scoring, stored, mix, match, noisiest, losses, versions);
    }

    /// <summary>How the stored labels match the injected noise, over the documents the ground truth knows.</summary>
    private static NoiseMatch Match(IReadOnlyDictionary<string, CorpusLabel> truth, IReadOnlyList<(string DocumentId, SampleLabel Label)> labels)
    {
        long injected = 0, labelled = 0, both = 0, documents = 0;
        var families = new Dictionary<string, (long Injected, long Found)>();
        foreach (var (id, label) in labels)
        {
            if (!truth.TryGetValue(id, out var t)) continue;
            documents++;
            var noisy = label == SampleLabel.Noisy;
            if (noisy) labelled++;
            if (!t.Noisy) continue;
            injected++;
            if (noisy) both++;
            var family = t.NoiseType ?? "unknown";
            var (i, f) = families.GetValueOrDefault(family);
            families[family] = (i + 1, f + (noisy ? 1 : 0));
        }
        return new NoiseMatch(injected, labelled, both, documents, families);
    }

    public static void Print(DemoOutcome o, DemoSettings settings, string queryHint, string report, TimeSpan elapsed)
    {
        var w = Console.Out;
        w.WriteLine();
        w.WriteLine("== Summary ==========================================================================");
        w.WriteLine($"Documents scored and stored in PostgreSQL: {o.StoredDocuments:N0} ({o.Scoring.DeadLetters} malformed records dead-lettered), " +
                    $"{o.Scoring.Batches} scored batches, {o.GmmVersions} GMM versions; {o.Scoring.Documents / Math.Max(1e-3, o.Scoring.Elapsed.TotalSeconds):F0} documents/s");
        w.WriteLine();
        w.WriteLine("Label mix per domain:");
        w.WriteLine($"  {"domain",-10} {"easy",14} {"hard",14} {"noisy",14}");
        foreach (var domain in o.LabelMix.Select(m => m.Domain).Distinct())
        {
            string Cell(string label) => o.LabelMix.FirstOrDefault(m => m.Domain == domain && m.Label == label) is { Documents: > 0 } c
                ? $"{c.Documents,5} ({c.Share * 100,5:F1}%)" : $"{0,5} ({0,5:F1}%)";
            w.WriteLine($"  {domain,-10} {Cell("easy"),14} {Cell("hard"),14} {Cell("noisy"),14}");
        }
        w.WriteLine();
        if (o.Match is { } m)
        {
            w.WriteLine($"'noisy' vs the injected noise: {m.Both} of {m.LabelledNoisy} documents labelled noisy were injected noise (precision {m.Precision:P1}; " +
                        $"{m.BaseRate:P1} of the stream is injected), {m.Both} of {m.Injected} injected found (recall {m.Recall:P1}), F1 {m.F1:F3}");
            w.WriteLine("  recall per noise family: " + string.Join(", ", m.PerFamily.OrderBy(f => f.Key).Select(f => $"{f.Key} {f.Value.Found}/{f.Value.Injected}")));
        }
        else w.WriteLine("'noisy' vs injected noise: the corpus carries no \"label\" ground truth, so the match is not measured.");
        w.WriteLine();
        w.WriteLine("Noisiest documents (most confident 'noisy'):");
        foreach (var d in o.Noisiest)
            w.WriteLine($"  {d.Id,-14} {d.Domain ?? "-",-9} conf {d.Confidence:F2} mean {d.LossMean,6:F2} var {d.LossVariance,7:F2} {(d.Truth.Length > 0 ? "[" + d.Truth + "] " : "")}{Clip(d.Snippet, 60)}");
        w.WriteLine();
        w.WriteLine("Validation loss on clean held-out documents (lower is better):");
        var uniform = o.Runs.FirstOrDefault(r => r.Run.Name == "uniform");
        var steps = o.Runs.SelectMany(r => r.Curve.Select(c => c.Step)).Distinct().Order().ToList();
        w.WriteLine($"  {"step",6} " + string.Join(" ", o.Runs.Select(r => $"{r.Run.Name,12}")));
        foreach (var step in steps)
            w.WriteLine($"  {step,6} " + string.Join(" ", o.Runs.Select(r => r.Curve.Where(c => c.Step == step).Select(c => $"{c.Loss,12:F4}").FirstOrDefault() ?? $"{"-",12}")));
        foreach (var run in o.Runs.Where(r => r != uniform))
        {
            if (uniform?.Final is not { } u || run.Final is not { } v) continue;
            w.WriteLine($"  {run.Run.Name} vs uniform after {run.Run.Steps} steps: {v:F4} vs {u:F4} ({v - u:+0.0000;-0.0000}); " +
                        "per domain: " +
                        string.Join(", ", run.FinalByDomain.Where(d => uniform.FinalByDomain.ContainsKey(d.Key)).OrderBy(d => d.Key)
                            .Select(d => $"{d.Key} {d.Value - uniform.FinalByDomain[d.Key]:+0.000;-0.000}")));
        }
        w.WriteLine("  (filter: uniform training without the documents the scorer labelled noisy. One seed of one short run; " +
                    "`reweight eval reweighting` measures the differences over seeds, with confidence intervals)");
        w.WriteLine();
        w.WriteLine($"SQL to run next (the rows stay in {(settings.Database is null ? "the private cluster" : "your database")}; prefix commands with {queryHint}):");
        var prefix = settings.Database is null ? $"{queryHint} ./reweight" : "./reweight";
        var db = settings.Database is null ? "" : " --db \"...\"";
        w.WriteLine($"  {prefix} query summary{db}");
        w.WriteLine($"  {prefix} query noisy --limit 20{db}");
        w.WriteLine("  -- in psql or a BI tool on the same database:");
        w.WriteLine("  SELECT domain, label, documents, share FROM label_summary ORDER BY domain, label;");
        w.WriteLine("  SELECT document_id, domain, loss_mean, loss_variance, label_confidence, snippet FROM noisy_documents ORDER BY label_confidence DESC LIMIT 20;");
        w.WriteLine("  SELECT run_id, step, value FROM training_metrics WHERE name = 'valid_loss' ORDER BY run_id, step;");
        w.WriteLine("  SELECT run_id, step, source, centres, lambdas, pis FROM cluster_parameters ORDER BY run_id, step;");
        w.WriteLine();
        w.WriteLine($"Charts (GMM clustering in the (mean, variance) plane, label mix, loss curves, phi): {report}");
        w.WriteLine($"  {(settings.Database is null ? queryHint + " " : "")}./reweight report --out report.html   rebuilds it from the database");
        w.WriteLine();
        w.WriteLine($"Done in {elapsed:mm\\:ss}.");
    }

    private static string Clip(string text, int chars)
    {
        var flat = string.Concat(text.Select(c => char.IsControl(c) ? ' ' : c));
        return flat.Length <= chars ? flat : flat[..(chars - 1)] + "…";
    }
}
