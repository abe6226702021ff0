using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Storage.Models;

namespace Reweighting.Reporting.Tests;

/// <summary>A small score database with known contents: 60 labelled documents over three domains (and none), two GMM
/// versions, and three runs (uniform, meta-em with phi, linupper without).</summary>
internal sealed class ReportTestData
{
    public const int Easy = 30, Hard = 20, Noisy = 10, Documents = Easy + Hard + Noisy;
    public const string UniformRun = "run-uniform", MetaRun = "run-meta", LinUpperRun = "run-linupper";
    public static readonly string[] Runs = [UniformRun, MetaRun, LinUpperRun];
    public static readonly long[] PhiSteps = [0, 20, 40, 60];

    public List<ScoredPoint> Points { get; } = [];
    public GmmModel Newest { get; private set; } = null!;
    public double[][] LatestCentres { get; private set; } = [];
    public double[] LatestLambdas { get; private set; } = [];
    public double[] LatestPis { get; private set; } = [];

    public int Count(SampleLabel label) => Points.Count(p => p.Label == label);

    public static async Task<ReportTestData> FillAsync(NpgsqlDataSource db)
    {
        var data = new ReportTestData();
        await data.WriteDocumentsAsync(db);
        await data.WriteGmmsAsync(db);
        await data.WriteRunsAsync(db);
        return data;
    }

    private async Task WriteDocumentsAsync(NpgsqlDataSource db)
    {
        var rng = new Random(7);
        double Normal(double mu, double sd) => mu + sd * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        void Add(SampleLabel label, int n, double mean, double logVar, Func<int, string?> domain)
        {
            for (var i = 0; i < n; i++)
                Points.Add(new ScoredPoint($"{label.ToWire()}-{i:000}", domain(i), label, Normal(mean, 0.35), Math.Exp(Normal(logVar, 0.3))));
        }
        Add(SampleLabel.Easy, Easy, 2.0, -1.0, i => i < 20 ? "wiki" : "code");
        Add(SampleLabel.Hard, Hard, 4.0, 0.3, i => i < 12 ? "web" : "wiki");
        Add(SampleLabel.Noisy, Noisy, 7.0, 1.8, i => i < 6 ? "web" : null);

        var scoredAt = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        foreach (var p in Points)
        {
            await Exec(db, "INSERT INTO documents (id, domain, source, content_hash, length_chars, snippet) VALUES ($1, $2, 'test', $3, 100, $4)",
                p.DocumentId, (object?)p.Domain ?? DBNull.Value, SHA256.HashData(Encoding.UTF8.GetBytes(p.DocumentId)), "snippet of " + p.DocumentId);
            await InsertScore(db, p, "proxy-v2", scoredAt);
        }
        // An older score by another proxy with another label: the report must plot the latest verdict only.
        await InsertScore(db, Points[0] with { Label = SampleLabel.Noisy, LossMean = 9 }, "proxy-v1", scoredAt.AddDays(-3));
    }

    private static Task InsertScore(NpgsqlDataSource db, ScoredPoint p, string scorer, DateTimeOffset at) =>
        Exec(db, """
            INSERT INTO sample_scores (document_id, scorer_model, n_tokens, loss_mean, loss_variance, responsibilities, label, label_confidence,
                                       gmm_version, batch_id, scored_at)
            VALUES ($1, $2, 64, $3, $4, $5, $6::sample_label, 0.9, 2, $7, $8)
            """,
            p.DocumentId, scorer, p.LossMean, p.LossVariance, new[] { 0.05, 0.05, 0.9 }, p.Label.ToWire(), Guid.NewGuid(), at);

    /// <summary>Version 1 is a rough start; version 2 has each label's own mean and covariance in the standardised
    /// (mean, ln variance) space, as a fit on these documents would.</summary>
    private async Task WriteGmmsAsync(NpgsqlDataSource db)
    {
        var stats = Points.Select(p => (p.LossMean, p.LossVariance)).ToList();
        var (mu, sd) = StatisticsMixture.Standardisation(stats, FeatureTransform.LogVariance);
        var features = new StatFeatures(FeatureTransform.LogVariance, mu, sd);
        var labels = new[] { SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy };
        var means = new double[3][];
        var covariances = new double[3][][];
        for (var k = 0; k < 3; k++)
        {
            var f = Points.Where(p => p.Label == labels[k]).Select(p =>
            {
                var x = new double[2];
                features.Apply(p.LossMean, p.LossVariance, x);
                return x;
            }).ToList();
            means[k] = [f.Average(x => x[0]), f.Average(x => x[1])];
            double C(int a, int b) => f.Average(x => (x[a] - means[k][a]) * (x[b] - means[k][b])) + (a == b ? 1e-3 : 0);
            covariances[k] = [[C(0, 0), C(0, 1)], [C(1, 0), C(1, 1)]];
        }
        var weights = labels.Select(l => Count(l) / (double)Documents).ToArray();
        var store = new GmmModelStore(db);
        var fitted = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        await store.SaveAsync(new GmmModel(1, "proxy-v2",
            new GmmParameters([1 / 3.0, 1 / 3.0, 1 / 3.0], [[-1, -1], [0, 0], [1, 1]], Enumerable.Range(0, 3).Select(_ => new[] { new[] { 0.5, 0.0 }, [0.0, 0.5] }).ToArray(),
                FeatureTransform.LogVariance, mu, sd), labels, 30, -3.1, fitted));
        Newest = new GmmModel(2, "proxy-v2", new GmmParameters(weights, means, covariances, FeatureTransform.LogVariance, mu, sd), labels, Documents, -2.2,
            fitted.AddHours(1));
        await store.SaveAsync(Newest);
    }

    private async Task WriteRunsAsync(NpgsqlDataSource db)
    {
        foreach (var (run, strategy) in new[] { (UniformRun, "uniform"), (MetaRun, "meta-em"), (LinUpperRun, "linupper") })
        {
            await Exec(db, "INSERT INTO training_runs (run_id, model, strategy, config, status, started_at) VALUES ($1, 'gpt-tiny', $2, '{}', 'finished', $3)",
                run, strategy, new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero).AddMinutes(Array.IndexOf(Runs, run)));
            var offset = Array.IndexOf(Runs, run) * 0.1;
            for (var step = 0; step <= 100; step += 10)
            {
                await Exec(db, "INSERT INTO training_metrics (run_id, step, name, value) VALUES ($1, $2, 'loss', $3)", run, (long)step, 5 - 0.02 * step + offset);
                await Exec(db, "INSERT INTO training_metrics (run_id, step, name, value) VALUES ($1, $2, 'tokens_per_s', 1000.0)", run, (long)step);
                if (step % 50 == 0)
                    await Exec(db, "INSERT INTO training_metrics (run_id, step, name, value) VALUES ($1, $2, 'valid_loss', $3)", run, (long)step, 5.2 - 0.015 * step + offset);
                if (strategy == "meta-em" && step > 0)
                    await Exec(db, "INSERT INTO training_metrics (run_id, step, name, value) " +
                                   "VALUES ($1, $2, 'meta_predicted_improvement', $3)", run, (long)step, 1e-3 / step);
            }
        }

        // phi of the meta-em run: initialised from GMM version 2 (its means, lambda_k = D / (2 tr Sigma_k), its weights), then three meta updates.
        var p = Newest.Parameters;
        var centres = p.Means.Select(m => m.ToArray()).ToArray();
        var lambdas = p.Covariances.Select(c => 2 / (2 * (c[0][0] + c[1][1]))).ToArray();
        var pis = p.Weights.ToArray();
        foreach (var step in PhiSteps)
        {
            if (step > 0)
            {
                lambdas = lambdas.Select((l, k) => l * (1 + 0.1 * (k + 1))).ToArray();
                pis = Normalise(pis.Select((v, k) => v * (k == 2 ? 0.8 : 1.05)).ToArray());
                centres = centres.Select(c => new[] { c[0] + 0.01, c[1] - 0.01 }).ToArray();
            }
            var grid = new double[3, 2];
            for (var k = 0; k < 3; k++) (grid[k, 0], grid[k, 1]) = (centres[k][0], centres[k][1]);
            await Exec(db, "INSERT INTO cluster_parameters (run_id, step, source, centres, lambdas, pis) VALUES ($1, $2, $3::cluster_param_source, $4, $5, $6)",
                MetaRun, step, step == 0 ? "gmm-init" : "meta", grid, lambdas, pis);
        }
        (LatestCentres, LatestLambdas, LatestPis) = (centres, lambdas, pis);
    }

    private static double[] Normalise(double[] v) => v.Select(x => x / v.Sum()).ToArray();

    private static async Task Exec(NpgsqlDataSource db, string sql, params object?[] values)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var v in values) cmd.Parameters.Add(new NpgsqlParameter { Value = v ?? DBNull.Value });
        await cmd.ExecuteNonQueryAsync();
    }
}
