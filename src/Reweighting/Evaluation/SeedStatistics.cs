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
}
