using Npgsql;
using Reweighting.Contracts;
using Reweighting.Storage.Models;

namespace Reweighting.Reporting;

/// <summary>Everything a report draws, read from the score database in one go: a seeded sample of the scored documents,
/// exact label counts, the newest GMM, and the training runs with their curves, phi history and meta-EM weights.</summary>
public sealed record ReportData
{
    /// <summary>When the data was read.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The options it was read with.</summary>
    public required ReportOptions Options { get; init; }

    /// <summary>Scored documents with a document row (the labelled_documents view).</summary>
    public required long TotalDocuments { get; init; }

    /// <summary>The plotted sample of scored documents: all of them, or <see cref="ReportOptions.MaxScatterPoints"/> drawn with the seed.</summary>
    public required IReadOnlyList<ScoredPoint> Sample { get; init; }

    /// <summary>Exact documents per (domain, label).</summary>
    public required IReadOnlyList<LabelCount> LabelMix { get; init; }

    /// <summary>The newest GMM version, or null before the first fit.</summary>
    public required GmmSnapshot? Gmm { get; init; }

    /// <summary>The runs included, oldest first.</summary>
    public required IReadOnlyList<TrainingRun> Runs { get; init; }

    /// <summary>Training and validation loss per run (metrics "loss" and "valid_loss"), and meta-em's predicted validation
    /// improvement U_t ("meta_predicted_improvement").</summary>
    public required IReadOnlyList<MetricSeries> Metrics { get; init; }

    /// <summary>Stored phi of the included runs, by run and step.</summary>
    public required IReadOnlyList<PhiSnapshot> Phi { get; init; }

    /// <summary>Meta-EM weights of the sampled documents under each run's latest phi (runs with phi only).</summary>
    public required IReadOnlyList<RunWeights> Weights { get; init; }

    /// <summary>Whether the plotted documents are a sample rather than all of them.</summary>
    public bool IsSampled => Sample.Count < TotalDocuments;

    /// <summary>Reads the report's data. Throws <see cref="ArgumentException"/> when <see cref="ReportOptions.RunIds"/>
    /// names a run that is not recorded.</summary>
    public static async Task<ReportData> LoadAsync(NpgsqlDataSource db, ReportOptions options, CancellationToken ct)
    {
        options.Validate();
        var generatedAt = DateTimeOffset.UtcNow;
        var runs = await ReportQueries.RunsAsync(db, ct);
        if (options.RunIds is { } wanted)
        {
            var unknown = wanted.Where(id => runs.All(r => r.Run.RunId != id)).Distinct().ToArray();
            if (unknown.Length > 0)
                throw new ArgumentException($"unknown run id{(unknown.Length > 1 ? "s" : "")}: {string.Join(", ", unknown)}" +
                    (runs.Count == 0 ? " (no training run is recorded)" : $"; recorded runs: {string.Join(", ", runs.Select(r => r.Run.RunId))}"));
            runs = runs.Where(r => wanted.Contains(r.Run.RunId)).ToList();
        }
        var runIds = runs.Select(r => r.Run.RunId).ToArray();

        var labelMix = await ReportQueries.LabelMixAsync(db, ct);
        var sample = await ReportQueries.SampleAsync(db, options.MaxScatterPoints, options.Seed, ct);
        var store = new GmmModelStore(db);
        var gmms = new List<GmmModel>();
        foreach (var version in await store.VersionsAsync(ct))
            if (await store.GetAsync(version, ct) is { } model) gmms.Add(model);
        var newest = gmms.Count == 0 ? null : gmms.MaxBy(g => g.Version)!;
        string[] names = ["loss", "valid_loss", "meta_predicted_improvement"];
        var metrics = await ReportQueries.MetricsAsync(db, runIds, names, options.MaxLinePoints, ct);
        var phi = await ReportQueries.PhiAsync(db, runIds, ct);

        var weights = new List<RunWeights>();
        foreach (var (run, config) in runs)
        {
            var history = phi.Where(p => p.RunId == run.RunId).ToList();
            if (RunWeighting.Compute(run, config, history, gmms, sample) is { } w) weights.Add(w);
        }

        return new ReportData
        {
            GeneratedAt = generatedAt,
            Options = options,
            TotalDocuments = labelMix.Sum(c => c.Documents),
            Sample = sample,
            LabelMix = labelMix,
            Gmm = newest is null ? null : new GmmSnapshot(newest, GmmEllipses.Trace(newest), gmms.Count),
            Runs = runs.Select(r => r.Run).ToList(),
            Metrics = metrics,
            Phi = phi,
            Weights = weights,
        };
    }
}
