using System.Diagnostics;
using System.Text.Json;
using Reweighting.Gmm;

namespace Reweighting.Cli.Bench;

/// <summary>Fits a 3-component mixture to N synthetic (loss mean, log loss variance) points and reports the time and
/// the fit; bench/gmm.bench.sh fits the same points with scikit-learn and compares log-likelihoods and components.</summary>
internal static class GmmBenchmark
{
    public static int Run(int points, int seed, string? pointsPath, string? jsonPath)
    {
        var x = SyntheticScores.Points(points, seed);
        if (pointsPath is not null)
        {
            var bytes = new byte[x.Length * sizeof(double)];
            Buffer.BlockCopy(x, 0, bytes, 0, bytes.Length);
            File.WriteAllBytes(pointsPath, bytes);
        }
        var options = new GmmFitOptions(Components: 3, Restarts: 3, MaxIterations: 300, Tolerance: 1e-6, CovarianceRegularisation: 1e-6, Seed: seed);
        var clock = Stopwatch.StartNew();
        var fit = GaussianMixtureFitter.Fit(x, 2, options);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"EM fit of {points:N0} 2-D points, K=3, 3 restarts: {seconds:F2} s, {fit.Iterations} iterations (best restart), " +
                          $"mean log-likelihood {fit.MeanLogLikelihood:F6}, converged {fit.Converged}");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                points, seconds, threads = Environment.ProcessorCount, mean_log_likelihood = fit.MeanLogLikelihood, iterations = fit.Iterations,
                weights = fit.Parameters.Weights, means = fit.Parameters.Means, covariances = fit.Parameters.Covariances,
            }));
        return 0;
    }
}
