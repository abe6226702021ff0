namespace Reweighting.Gmm;

/// <summary>Synthetic per-document score statistics (loss mean, log loss variance): easy (low mean), hard (higher, wider)
/// and noisy (high mean, low variance) documents, for <c>reweight bench gmm</c> and the GMM micro-benchmark.</summary>
public static class SyntheticScores
{
    /// <summary><paramref name="count"/> 2-D points, flattened (x0, y0, x1, y1, ...).</summary>
    public static double[] Points(int count, int seed)
    {
        var rng = new Random(seed);
        (double W, double M0, double M1, double S0, double S1, double Rho)[] parts =
            [(0.6, 3.0, 0.5, 0.3, 0.25, 0.3), (0.3, 4.2, 1.1, 0.4, 0.3, 0.2), (0.1, 6.5, -0.5, 0.5, 0.4, -0.4)];
        var x = new double[2 * count];
        for (var i = 0; i < count; i++)
        {
            var u = rng.NextDouble();
            var p = u < parts[0].W ? parts[0] : u < parts[0].W + parts[1].W ? parts[1] : parts[2];
            double z1 = Normal(rng), z2 = Normal(rng);
            x[2 * i] = p.M0 + p.S0 * z1;
            x[2 * i + 1] = p.M1 + p.S1 * (p.Rho * z1 + Math.Sqrt(1 - p.Rho * p.Rho) * z2);
        }
        return x;
    }

    private static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
