using Reweighting.Contracts;

namespace Reweighting.Gmm;

/// <summary>Settings of an EM fit.</summary>
/// <param name="Components">K.</param>
/// <param name="Restarts">Independent k-means++ initialisations; the fit with the best mean log-likelihood wins.</param>
/// <param name="MaxIterations">EM iterations per restart.</param>
/// <param name="Tolerance">Convergence: change of the mean log-likelihood between iterations.</param>
/// <param name="CovarianceRegularisation">Added to every covariance diagonal, keeping them positive-definite.</param>
/// <param name="Seed">Seed of the initialisations.</param>
public sealed record GmmFitOptions(int Components = 3, int Restarts = 3, int MaxIterations = 300, double Tolerance = 1e-6,
    double CovarianceRegularisation = 1e-6, int Seed = 0);

/// <summary>The outcome of a fit: the mixture, its mean log-likelihood on the data, iterations and convergence.</summary>
public sealed record GmmFit(GmmParameters Parameters, double MeanLogLikelihood, int Iterations, bool Converged, long Samples)
{
    /// <summary>Bayesian information criterion: -2 log L + p ln N with p free parameters (full covariances).</summary>
    public double Bic
    {
        get
        {
            int k = Parameters.Components, d = Parameters.Dimensions;
            var p = (k - 1) + k * d + k * d * (d + 1) / 2;
            return -2 * MeanLogLikelihood * Samples + p * Math.Log(Samples);
        }
    }
}

/// <summary>Fits a Gaussian mixture with full covariances by expectation-maximisation in log space: k-means++
/// seeding refined by a few Lloyd steps, several restarts, or a warm start from a previous fit. The E and M steps
/// run in parallel over chunks of the data with per-chunk accumulators.</summary>
public static class GaussianMixtureFitter
{
    private const int ChunkSize = 16_384;

    /// <summary>Fits K components to <paramref name="points"/> (N rows of D features, row-major).</summary>
    public static GmmFit Fit(ReadOnlySpan<double> points, int dimensions, GmmFitOptions options, FeatureTransform transform = FeatureTransform.Raw,
        GmmParameters? warmStart = null)
    {
        var data = points.ToArray();
        if (dimensions < 1 || data.Length % dimensions != 0) throw new ArgumentException($"{data.Length} values do not form rows of {dimensions}");
        var n = data.Length / dimensions;
        if (n < options.Components) throw new ArgumentException($"{n} points cannot fit {options.Components} components");
        if (data.Any(v => !double.IsFinite(v))) throw new ArgumentException("points must be finite");
        if (warmStart is not null)
        {
            if (warmStart.Components != options.Components || warmStart.Dimensions != dimensions)
                throw new ArgumentException("the warm start has a different number of components or dimensions");
            return Run(data, n, dimensions, options, transform, warmStart);
        }
        GmmFit? best = null;
        var rng = new Random(options.Seed);
        for (var r = 0; r < Math.Max(1, options.Restarts); r++)
        {
            var init = KMeansInitialisation(data, n, dimensions, options, rng, transform);
            var fit = Run(data, n, dimensions, options, transform, init);
            if (best is null || fit.MeanLogLikelihood > best.MeanLogLikelihood) best = fit;
        }
        return best!;
    }

    private static GmmFit Run(double[] x, int n, int d, GmmFitOptions o, FeatureTransform transform, GmmParameters start)
    {
        var k = o.Components;
        var resp = new double[n * k];
        var parameters = start;
        var previous = double.NegativeInfinity;
        var converged = false;
        var iteration = 0;
        double ll = double.NegativeInfinity;
        for (; iteration < o.MaxIterations; iteration++)
        {
            var mixture = GaussianMixture.FromParameters(parameters);
            ll = EStep(x, n, d, k, mixture, resp) / n;
            parameters = MStep(x, n, d, k, resp, o.CovarianceRegularisation, transform);
            if (Math.Abs(ll - previous) < o.Tolerance)
            {
                converged = true;
                break;
            }
            previous = ll;
        }
        // Report the likelihood of the parameters returned, not of those before the last M step.
        var final = GaussianMixture.FromParameters(parameters);
        ll = EStep(x, n, d, k, final, resp) / n;
        return new GmmFit(parameters, ll, iteration + 1, converged, n);
    }

    /// <summary>Responsibilities into <paramref name="resp"/>; returns the total log-likelihood.</summary>
    private static double EStep(double[] x, int n, int d, int k, GaussianMixture mixture, double[] resp)
    {
        var chunks = (n + ChunkSize - 1) / ChunkSize;
        var partial = new double[chunks];
        Parallel.For(0, chunks, c =>
        {
            Span<double> joint = stackalloc double[k];
            double sum = 0;
            var end = Math.Min(n, (c + 1) * ChunkSize);
            for (var i = c * ChunkSize; i < end; i++)
            {
                mixture.LogJoint(x.AsSpan(i * d, d), joint);
                var lse = LogMath.LogSumExp(joint);
                sum += lse;
                for (var j = 0; j < k; j++) resp[i * k + j] = Math.Exp(joint[j] - lse);
            }
            partial[c] = sum;
        });
        return partial.Sum();
    }

    private static GmmParameters MStep(double[] x, int n, int d, int k, double[] resp, double reg, FeatureTransform transform)
    {
        var chunks = (n + ChunkSize - 1) / ChunkSize;
        // Pass 1: weights and means.
        var nk = new double[chunks, k];
        var sums = new double[chunks, k * d];
        Parallel.For(0, chunks, c =>
        {
            var end = Math.Min(n, (c + 1) * ChunkSize);
            for (var i = c * ChunkSize; i < end; i++)
            for (var j = 0; j < k; j++)
            {
                var r = resp[i * k + j];
                nk[c, j] += r;
                for (var a = 0; a < d; a++) sums[c, j * d + a] += r * x[i * d + a];
            }
        });
        var counts = new double[k];
        var means = new double[k][];
        for (var j = 0; j < k; j++)
        {
            for (var c = 0; c < chunks; c++) counts[j] += nk[c, j];
            counts[j] += 10 * double.Epsilon; // an emptied component keeps finite parameters
            means[j] = new double[d];
            for (var a = 0; a < d; a++)
            {
                double s = 0;
                for (var c = 0; c < chunks; c++) s += sums[c, j * d + a];
                means[j][a] = s / counts[j];
            }
        }
        // Pass 2: covariances around the new means (deviations, not E[xx'] - mu mu', to avoid cancellation).
        var scatter = new double[chunks, k * d * d];
        Parallel.For(0, chunks, c =>
        {
            Span<double> dev = stackalloc double[d];
            var end = Math.Min(n, (c + 1) * ChunkSize);
            for (var i = c * ChunkSize; i < end; i++)
            for (var j = 0; j < k; j++)
            {
                var r = resp[i * k + j];
                for (var a = 0; a < d; a++) dev[a] = x[i * d + a] - means[j][a];
                for (var a = 0; a < d; a++)
                for (var b = 0; b <= a; b++) scatter[c, (j * d + a) * d + b] += r * dev[a] * dev[b];
            }
        });
        var covariances = new double[k][][];
        for (var j = 0; j < k; j++)
        {
            covariances[j] = new double[d][];
            for (var a = 0; a < d; a++) covariances[j][a] = new double[d];
            for (var a = 0; a < d; a++)
            for (var b = 0; b <= a; b++)
            {
                double s = 0;
                for (var c = 0; c < chunks; c++) s += scatter[c, (j * d + a) * d + b];
                covariances[j][a][b] = covariances[j][b][a] = s / counts[j] + (a == b ? reg : 0);
            }
        }
        var total = counts.Sum();
        return new GmmParameters(counts.Select(c => c / total).ToArray(), means, covariances, transform);
    }

    /// <summary>k-means++ seeding, a few Lloyd iterations, then the mixture of the hard clusters.</summary>
    private static GmmParameters KMeansInitialisation(double[] x, int n, int d, GmmFitOptions o, Random rng, FeatureTransform transform)
    {
        var k = o.Components;
        var centres = new double[k][];
        centres[0] = x.AsSpan(rng.Next(n) * d, d).ToArray();
        var dist = new double[n];
        for (var i = 0; i < n; i++) dist[i] = Squared(x, i, d, centres[0]);
        for (var j = 1; j < k; j++)
        {
            var total = dist.Sum();
            var target = rng.NextDouble() * total;
            var pick = n - 1;
            double acc = 0;
            for (var i = 0; i < n; i++)
            {
                acc += dist[i];
                if (acc >= target) { pick = i; break; }
            }
            centres[j] = x.AsSpan(pick * d, d).ToArray();
            for (var i = 0; i < n; i++) dist[i] = Math.Min(dist[i], Squared(x, i, d, centres[j]));
        }
        var assignment = new int[n];
        var resp = new double[n * k];
        for (var step = 0; step < 10; step++)
        {
            Parallel.For(0, n, i =>
            {
                var best = 0;
                var bestDist = double.MaxValue;
                for (var j = 0; j < k; j++)
                {
                    var dd = Squared(x, i, d, centres[j]);
                    if (dd < bestDist) { bestDist = dd; best = j; }
                }
                assignment[i] = best;
            });
            var sums = new double[k * d];
            var counts = new int[k];
            for (var i = 0; i < n; i++)
            {
                counts[assignment[i]]++;
                for (var a = 0; a < d; a++) sums[assignment[i] * d + a] += x[i * d + a];
            }
            for (var j = 0; j < k; j++)
                if (counts[j] > 0)
                    for (var a = 0; a < d; a++) centres[j][a] = sums[j * d + a] / counts[j];
        }
        for (var i = 0; i < n; i++) resp[i * k + assignment[i]] = 1;
        return MStep(x, n, d, k, resp, Math.Max(o.CovarianceRegularisation, 1e-6), transform);
    }

    private static double Squared(double[] x, int i, int d, double[] c)
    {
        double s = 0;
        for (var a = 0; a < d; a++)
        {
            var v = x[i * d + a] - c[a];
            s += v * v;
        }
        return s;
    }
}
