namespace Reweighting.Gmm;

/// <summary>Log-space arithmetic that neither overflows nor underflows.</summary>
public static class LogMath
{
    /// <summary>log(sum_i exp(v_i)), computed around the maximum so huge or tiny terms stay finite.</summary>
    public static double LogSumExp(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return double.NegativeInfinity;
        var max = double.NegativeInfinity;
        foreach (var v in values) if (v > max) max = v;
        if (double.IsNegativeInfinity(max) || double.IsPositiveInfinity(max)) return max;
        var sum = 0.0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
