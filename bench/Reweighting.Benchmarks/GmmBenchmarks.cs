using BenchmarkDotNet.Attributes;
using Reweighting.Gmm;

namespace Reweighting.Benchmarks;

/// <summary>EM fit of a 3-component full-covariance mixture to synthetic 2-D (loss mean, log variance) points, the shape of
/// a scorer's refit on its reservoir. One restart, so the figure is one EM run to tolerance 1e-6.</summary>
[MemoryDiagnoser]
public class GmmBenchmarks
{
    private double[] _points = [];

    /// <summary>Points fitted.</summary>
    [Params(10_000, 100_000)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup() => _points = SyntheticScores.Points(Points, seed: 7);

    [Benchmark(Description = "EM fit, K=3, 1 restart")]
    public double Fit()
    {
        var options = new GmmFitOptions(Components: 3, Restarts: 1, MaxIterations: 300, Tolerance: 1e-6,
            CovarianceRegularisation: 1e-6, Seed: 7);
        return GaussianMixtureFitter.Fit(_points, 2, options).MeanLogLikelihood;
    }
}
