using System.Globalization;

namespace Reweighting.Reporting.Charts;

/// <summary>Maps data values onto pixels, linearly or logarithmically (base 10), and picks readable ticks.</summary>
internal sealed class Scale
{
    private readonly double _d0, _d1, _r0, _r1;

    public bool Log { get; }
    public double Min { get; }
    public double Max { get; }

    /// <param name="min">Smallest value shown (positive for a log scale).</param>
    /// <param name="max">Largest value shown.</param>
    /// <param name="from">Pixel of <paramref name="min"/>.</param>
    /// <param name="to">Pixel of <paramref name="max"/>.</param>
    /// <param name="log">Logarithmic.</param>
    public Scale(double min, double max, double from, double to, bool log = false)
    {
        if (log && !(min > 0)) throw new ArgumentException("a log scale needs a positive minimum");
        if (!(max > min)) (min, max) = log ? (min / 2, min * 2) : (min - 0.5, min + 0.5);
        (Min, Max, Log) = (min, max, log);
        (_d0, _d1) = log ? (Math.Log10(min), Math.Log10(max)) : (min, max);
        (_r0, _r1) = (from, to);
    }

    /// <summary>A scale over the values' range with a little padding (log scales pad by a factor, linear by 5%).</summary>
    public static Scale Fit(IEnumerable<double> values, double from, double to, bool log = false, bool includeZero = false)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in values)
        {
            if (!double.IsFinite(v) || (log && v <= 0)) continue;
            lo = Math.Min(lo, v);
            hi = Math.Max(hi, v);
        }
        if (double.IsInfinity(lo)) (lo, hi) = log ? (0.1, 10) : (0, 1);
        if (includeZero && !log) lo = Math.Min(lo, 0);
        if (log) return new Scale(lo / 1.2, hi * 1.2, from, to, log: true);
        var pad = (hi - lo) * 0.05;
        return new Scale(lo == 0 && includeZero ? 0 : lo - pad, hi + pad, from, to);
    }

    public double Map(double value)
    {
        var v = Log ? Math.Log10(Math.Max(value, Min)) : value;
        return _r0 + (v - _d0) / (_d1 - _d0) * (_r1 - _r0);
    }

    /// <summary>About <paramref name="count"/> ticks at round values inside the domain.</summary>
    public IReadOnlyList<(double Value, string Label)> Ticks(int count = 6)
    {
        if (Log)
        {
            var ticks = new List<(double, string)>();
            for (var e = Math.Ceiling(_d0); e <= Math.Floor(_d1); e++) ticks.Add((Math.Pow(10, e), Format(Math.Pow(10, e))));
            if (ticks.Count >= 2) return ticks.Count > 8 ? ticks.Where((_, i) => i % 2 == 0).ToList() : ticks;
            // Less than a decade: 1-2-5 steps.
            ticks.Clear();
            for (var e = Math.Floor(_d0); e <= Math.Ceiling(_d1); e++)
                foreach (var m in new[] { 1.0, 2, 5 })
                {
                    var v = m * Math.Pow(10, e);
                    if (v >= Min && v <= Max) ticks.Add((v, Format(v)));
                }
            return ticks;
        }
        var step = NiceStep((Max - Min) / count);
        var result = new List<(double, string)>();
        for (var v = Math.Ceiling(Min / step) * step; v <= Max + step * 1e-9; v += step)
        {
            var rounded = Math.Abs(v) < step * 1e-9 ? 0 : v;
            result.Add((rounded, Format(rounded, step)));
        }
        return result;
    }

    private static double NiceStep(double raw)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var f = raw / magnitude;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
    }

    /// <summary>A tick label: as many decimals as the step needs, scientific for very large or small values.</summary>
    public static string Format(double v, double step = 0)
    {
        var a = Math.Abs(v);
        if (a != 0 && (a >= 1e6 || a < 1e-3)) return v.ToString("0.##E+0", CultureInfo.InvariantCulture);
        if (step > 0)
        {
            var decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(step) + 1e-9), 0, 6);
            return v.ToString("F" + decimals, CultureInfo.InvariantCulture);
        }
        return v.ToString("0.###", CultureInfo.InvariantCulture);
    }
}
