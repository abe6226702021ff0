using System.Text;
using Reweighting.Contracts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>A histogram of labelled values, the bars of each bin stacked by label. Bins are equal-width (in log space on
/// a log axis) between the 0.5th and 99.5th percentiles, so a few extreme documents do not squash the rest; values
/// beyond are counted in the outermost bins and the caption says how many.</summary>
internal static class HistogramChart
{
    private const int Bins = 30;

    /// <param name="id">Element id of the figure.</param>
    /// <param name="title">Heading.</param>
    /// <param name="feature">data-feature of the bars (loss-mean, loss-variance, weight).</param>
    /// <param name="values">Label and value of each document.</param>
    /// <param name="xTitle">Axis title.</param>
    /// <param name="caption">What the values are.</param>
    /// <param name="sampleSize">The sample-size sentence.</param>
    /// <param name="log">Logarithmic bins and axis (non-positive values are left out and counted in the caption).</param>
    /// <param name="attributes">Extra attributes for every bar (e.g. data-run).</param>
    public static string Render(string id, string title, string feature, IReadOnlyList<(SampleLabel Label, double Value)> values, string xTitle,
        string caption, string sampleSize, bool log = false, string attributes = "")
    {
        var usable = values.Where(v => double.IsFinite(v.Value) && (!log || v.Value > 0)).ToList();
        var dropped = values.Count - usable.Count;
        if (usable.Count == 0) return Figure.Note(id, title, "No values to count.");

        Func<double, double> t = log ? Math.Log10 : v => v;
        var sorted = usable.Select(v => t(v.Value)).Order().ToArray();
        var lo = Quantile(sorted, 0.005);
        var hi = Quantile(sorted, 0.995);
        if (!(hi > lo)) (lo, hi) = (sorted[0], sorted[^1]);
        if (!(hi > lo)) (lo, hi) = (lo - 0.5, hi + 0.5);
        var width = (hi - lo) / Bins;
        var counts = new long[Bins, 3];
        var clamped = 0;
        foreach (var (label, value) in usable)
        {
            var tv = t(value);
            if (tv < lo || tv > hi) clamped++;
            counts[Math.Clamp((int)Math.Floor((tv - lo) / width), 0, Bins - 1), (int)label]++;
        }
        Func<double, double> edge = log ? e => Math.Pow(10, e) : e => e;

        var x = log ? new Scale(edge(lo), edge(hi), PlotLeft, PlotRight, log: true) : new Scale(lo, hi, PlotLeft, PlotRight);
        var tallest = Enumerable.Range(0, Bins).Max(b => counts[b, 0] + counts[b, 1] + counts[b, 2]);
        var y = new Scale(0, tallest * 1.05, PlotBottom, PlotTop);
        var plot = new SvgPlot(id, title, x, y, xTitle, "documents");
        var marks = new StringBuilder();
        for (var b = 0; b < Bins; b++)
        {
            double from = edge(lo + b * width), to = edge(lo + (b + 1) * width);
            var x0 = x.Map(from) + 0.5;
            var x1 = x.Map(to) - 0.5;
            long below = 0;
            foreach (var label in Palette.Labels)
            {
                var n = counts[b, (int)label];
                if (n == 0) continue;
                var top = y.Map(below + n);
                var bottom = y.Map(below);
                marks.Append($"<rect class=\"bar hist-bin label-{label.ToWire()}\" x=\"{N(x0)}\" y=\"{N(top)}\" width=\"{N(Math.Max(x1 - x0, 0.5))}\" height=\"{N(bottom - top)}\" fill=\"{Palette.Of(label)}\" data-feature=\"{feature}\" data-label=\"{label.ToWire()}\" data-from=\"{V(from)}\" data-to=\"{V(to)}\" data-count=\"{n}\"{attributes}><title>{label.ToWire()}: {n:N0} in [{Scale.Format(from)}, {Scale.Format(to)})</title></rect>\n");
                below += n;
            }
        }
        plot.Add(marks.ToString());

        var notes = new StringBuilder(caption);
        notes.Append($" {Bins} {(log ? "logarithmic" : "equal-width")} bins between the 0.5th and 99.5th percentiles, stacked by label");
        notes.Append(clamped > 0 ? $"; {clamped:N0} values beyond them are counted in the outermost bins." : ".");
        if (dropped > 0) notes.Append($" {dropped:N0} non-positive or non-finite values are not shown.");
        var present = Palette.Labels.Where(l => usable.Any(v => v.Label == l));
        return Figure.Render(id, title, plot.ToString(), Figure.LabelLegend(present), notes.ToString(), sampleSize);
    }

    private static double Quantile(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var i = (int)Math.Floor(pos);
        return i + 1 < sorted.Length ? sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
    }
}
