using Npgsql;
using Reweighting.Contracts;
using Reweighting.Scorer.Labelling;
using Reweighting.Storage.Writing;

namespace Reweighting.Scorer.Tests;

/// <summary>Statistics drawn from three well-separated clusters, and helpers to store and observe them as committed rows.</summary>
internal static class LabellingTestData
{
    public const string ScorerModel = "proxy-test";

    /// <summary>Cluster centres in (loss mean, loss variance) and their share of documents: two typical clusters
    /// (easy, hard) holding 80 % and an atypical one (noisy) far above both. Neither typical cluster may come near half
    /// the sample, or the atypical rule would see one typical component and call it hard.</summary>
    public static readonly (double Mean, double Variance, double Share, SampleLabel Label)[] Clusters =
    [
        (2.0, 1.0, 0.40, SampleLabel.Easy),
        (4.0, 2.0, 0.40, SampleLabel.Hard),
        (7.0, 6.0, 0.20, SampleLabel.Noisy),
    ];

    public static readonly WriteRetryOptions FastRetry = new() { MaxRetries = 2, BaseDelay = TimeSpan.FromMilliseconds(5) };

    /// <summary>Options for small, fast fits.</summary>
    public static LabellingOptions Options(int warmUp = 300, int refitEvery = 200, int capacity = 1_000) => new()
    {
        ScorerModel = ScorerModel,
        WarmUpDocuments = warmUp,
        RefitEveryDocuments = refitEvery,
        ReservoirCapacity = capacity,
        FitRestarts = 2,
        Seed = 7,
        Components = 3,
        FeatureSetting = "raw-std", // the clusters are drawn in (loss mean, loss variance)
    };

    /// <summary><paramref name="count"/> statistics with the cluster each came from.</summary>
    public static List<(double Mean, double Variance, SampleLabel Truth)> Draw(int count, int seed)
    {
        var rng = new Random(seed);
        var result = new List<(double, double, SampleLabel)>(count);
        for (var i = 0; i < count; i++)
        {
            var u = rng.NextDouble();
            var c = u < Clusters[0].Share ? 0 : u < Clusters[0].Share + Clusters[1].Share ? 1 : 2;
            var spread = c == 2 ? 0.3 : 0.1;
            result.Add((Clusters[c].Mean + spread * Gaussian(rng), Math.Max(0, Clusters[c].Variance + spread * Gaussian(rng)), Clusters[c].Label));
        }
        return result;
    }

    /// <summary>Score rows as a pipeline commits them before the first fit: provisional, no GMM version.</summary>
    public static List<SampleScore> ProvisionalRows(IEnumerable<(double Mean, double Variance, SampleLabel Truth)> stats, string prefix, Guid? batch = null)
    {
        var id = batch ?? Guid.NewGuid();
        return stats.Select((s, i) => new SampleScore($"{prefix}-{i:D6}", ScorerModel, 100, 400, s.Mean, s.Variance, [],
            Reweighting.Scorer.ProvisionalVerdict.Label, 0, null, id, DateTimeOffset.UnixEpoch.AddDays(1))).ToList();
    }

    /// <summary>Stores rows through the bulk writer, as the pipeline does.</summary>
    public static async Task StoreAsync(NpgsqlDataSource db, IReadOnlyList<SampleScore> rows) =>
        await new ScoreBatchWriter(db, FastRetry).WriteAsync(new ScoreBatch(rows[0].BatchId, [], rows, []));

    /// <summary>Observes statistics one by one, as committed rows of a stream.</summary>
    public static void ObserveAll(ReservoirLabeller labeller, IEnumerable<(double Mean, double Variance, SampleLabel Truth)> stats)
    {
        foreach (var s in stats) labeller.ObserveStatistics(s.Mean, s.Variance);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
