using System.Text.Json;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.MetaEm;

namespace Reweighting.Reporting;

/// <summary>The per-document meta-EM weights a run's phi gives. The database stores no per-sample weights, but a
/// meta-EM weight is a function of the document's statistics and phi alone (before the per-batch normalisation and
/// cap), so it can be recomputed: u(s) = sum_k gamma_k(s) exp(-lambda_k ||f(s) - c_k||^2) with f the GMM feature map.</summary>
internal static class RunWeighting
{
    public static RunWeights? Compute(TrainingRun run, string? configJson, IReadOnlyList<PhiSnapshot> history, IReadOnlyList<GmmModel> gmms,
        IReadOnlyList<ScoredPoint> sample)
    {
        if (history.Count == 0 || sample.Count == 0) return null;
        var latest = history[^1];
        var k = latest.Lambdas.Length;
        if (k == 0 || latest.Centres.Length != k || latest.Centres.Any(c => c.Length != StatFeatures.Dimensions)) return null;
        var phi = new ClusterPhi(latest.Centres.SelectMany(c => c).ToArray(),
            latest.Lambdas.Select(l => Math.Log(Math.Max(l, 1e-300))).ToArray(),
            latest.Pis.Select(p => Math.Log(Math.Max(p, 1e-300))).ToArray());

        var (features, described) = FeatureMap(configJson, history, gmms);
        var x = new double[sample.Count * StatFeatures.Dimensions]; // (M, 2)
        for (var i = 0; i < sample.Count; i++)
            features.Apply(sample[i].LossMean, sample[i].LossVariance, x.AsSpan(i * StatFeatures.Dimensions, StatFeatures.Dimensions));
        var logU = phi.Weigh(x).LogRawWeights;
        var weights = sample.Select((p, i) => (p.Label, Math.Exp(logU[i]))).ToArray();
        return new RunWeights(run.RunId, run.Strategy, latest.Step, described, weights);
    }

    /// <summary>phi lives in the feature space of the GMM it was initialised from. That GMM is found by its means, which
    /// the initial phi copies; else the run's configured GmmVersion; else the newest stored GMM is assumed.</summary>
    private static (StatFeatures Features, string Description) FeatureMap(string? configJson, IReadOnlyList<PhiSnapshot> history,
        IReadOnlyList<GmmModel> allGmms)
    {
        // phi is defined on (loss mean, loss variance): a per-byte labelling GMM never initialised it.
        var gmms = allGmms.Where(g => g.Parameters.Transform != FeatureTransform.PerByte).ToList();
        var init = history.FirstOrDefault(h => h.Source == ClusterParameterSource.GmmInit);
        if (init is not null)
        {
            foreach (var gmm in gmms)
                if (SameCentres(gmm.Parameters.Means, init.Centres))
                    return (StatFeatures.FromParameters(gmm.Parameters), $"the feature map of GMM version {gmm.Version} (matched by the initial centres)");
        }
        if (ConfiguredVersion(configJson) is { } configured && gmms.FirstOrDefault(g => g.Version == configured) is { } pinned)
            return (StatFeatures.FromParameters(pinned.Parameters), $"the feature map of GMM version {pinned.Version} (the run's configured version)");
        if (gmms.Count > 0)
        {
            var newest = gmms.MaxBy(g => g.Version)!;
            return (StatFeatures.FromParameters(newest.Parameters),
                $"the feature map of the newest GMM version {newest.Version} (assumed: the run's initial GMM is not stored)");
        }
        return (new StatFeatures(FeatureTransform.Raw), "raw (loss mean, loss variance) (assumed: no GMM is stored)");
    }

    private static bool SameCentres(double[][] means, double[][] centres)
    {
        if (means.Length != centres.Length) return false;
        for (var k = 0; k < means.Length; k++)
        {
            if (means[k].Length != centres[k].Length) return false;
            for (var j = 0; j < means[k].Length; j++)
                if (Math.Abs(means[k][j] - centres[k][j]) > 1e-9 * Math.Max(1, Math.Abs(means[k][j]))) return false;
        }
        return true;
    }

    private static int? ConfiguredVersion(string? configJson)
    {
        if (string.IsNullOrEmpty(configJson)) return null;
        try
        {
            using var doc = JsonDocument.Parse(configJson);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty("GmmVersion", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n)
                ? n
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
