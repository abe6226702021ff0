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
        var rng = new Random(seed);
        // Easy (low mean), hard (higher mean, wider) and noisy (high mean, low variance) documents.
        (double W, double M0, double M1, double S0, double S1, double Rho)[] parts =
            [(0.6, 3.0, 0.5, 0.3, 0.25, 0.3), (0.3, 4.2, 1.1, 0.4, 0.3, 0.2), (0.1, 6.5, -0.5, 0.5, 0.4, -0.4)];
        var x = new double[2 * points];
        for (var i = 0; i < points; i++)
        {
            var u = rng.NextDouble();
            var p = u < parts[0].W ? parts[0] : u < parts[0].W + parts[1].W ? parts[1] : parts[2];
            double z1 = Normal(rng), z2 = Normal(rng);
            x[2 * i] = p.M0 + p.S0 * z1;
            x[2 * i + 1] = p.M1 + p.S1 * (p.Rho * z1 + Math.Sqrt(1 - p.Rho * p.Rho) * z2);
        }
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

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
