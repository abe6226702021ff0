namespace Reweighting.Evaluation;

/// <summary>Summaries of one quantity over repeated runs (one per seed): its mean, its sample standard deviation and
/// the half-width of a two-sided 95% confidence interval for the mean.</summary>
public static class SeedStatistics
{
    /// <summary>The mean and the sample standard deviation (n − 1 in the denominator; 0 for a single value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> xs)
    {
        var mean = xs.Average();
        var std = xs.Count > 1 ? Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1)) : 0;
        return (mean, std);
    }

    /// <summary>The 97.5% quantile of Student's t with <paramref name="df"/> degrees of freedom (two-sided 95%): exact
    /// to three decimals up to 10, the table's value at 15, 20 and 30 above that (conservative), the normal's beyond.</summary>
    public static double StudentT975(int df) => df switch
    {
        < 1 => throw new ArgumentOutOfRangeException(nameof(df), df, "Student's t needs at least one degree of freedom"),
        1 => 12.706, 2 => 4.303, 3 => 3.182, 4 => 2.776, 5 => 2.571, 6 => 2.447, 7 => 2.365, 8 => 2.306, 9 => 2.262, 10 => 2.228,
        <= 15 => 2.131, <= 20 => 2.086, <= 30 => 2.042, _ => 1.960,
    };

    /// <summary>Half the width of the t-based 95% confidence interval for the mean of <paramref name="xs"/>; NaN for
    /// fewer than two values.</summary>
    public static double ConfidenceHalfWidth95(IReadOnlyList<double> xs) =>
        xs.Count > 1 ? StudentT975(xs.Count - 1) * MeanStd(xs).Std / Math.Sqrt(xs.Count) : double.NaN;

    /// <summary>The ratio of two paired means, mean(a) / mean(b), with Fieller's 95% confidence interval: the values of R
    /// for which the t-interval of the paired differences a_k − R·b_k contains 0. The interval is unbounded (null) when
    /// mean(b) is not itself significantly different from 0; the ratio is NaN when mean(b) is 0 or fewer than two pairs.</summary>
    public static (double Ratio, double? Low, double? High) RatioConfidence95(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        if (a.Count != b.Count) throw new ArgumentException($"{a.Count} numerators for {b.Count} denominators");
        var n = a.Count;
        var (meanA, _) = MeanStd(a);
        var (meanB, _) = MeanStd(b);
        if (n < 2 || meanB == 0) return (double.NaN, null, null);
        double saa = 0, sab = 0, sbb = 0;
        for (var k = 0; k < n; k++)
        {
            saa += (a[k] - meanA) * (a[k] - meanA);
            sab += (a[k] - meanA) * (b[k] - meanB);
            sbb += (b[k] - meanB) * (b[k] - meanB);
        }
        var t = StudentT975(n - 1);
        var c = t * t / n / (n - 1); // t² / n, with the sample (co)variances' n − 1
        // (meanA − R meanB)² ≤ c (saa − 2R sab + R² sbb): A R² − 2B R + C ≤ 0.
        var qa = meanB * meanB - c * sbb;
        var qb = meanA * meanB - c * sab;
        var qc = meanA * meanA - c * saa;
        var discriminant = qb * qb - qa * qc;
        if (qa <= 0 || discriminant < 0) return (meanA / meanB, null, null);
        var root = Math.Sqrt(discriminant);
        return (meanA / meanB, (qb - root) / qa, (qb + root) / qa);
    }
}
