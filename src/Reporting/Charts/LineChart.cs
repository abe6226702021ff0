using System.Text;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>One line of a line chart.</summary>
/// <param name="Key">Identifies the line in the legend (data-series).</param>
/// <param name="Legend">Legend text.</param>
/// <param name="Colour">Stroke colour.</param>
/// <param name="Dashed">Drawn dashed (the reference run).</param>
/// <param name="Points">(x, y), ordered by x.</param>
/// <param name="CssClass">Class of the path besides "line".</param>
/// <param name="Attributes">Data attributes of the path, already formatted (leading space).</param>
internal sealed record LineSeries(string Key, string Legend, string Colour, bool Dashed, IReadOnlyList<(double X, double Y)> Points, string CssClass, string Attributes);

/// <summary>Lines over steps with a shared legend; short series get point markers, so a single recorded value still shows.</summary>
internal static class LineChart
{
    private const int MarkerLimit = 40;

    public static string Render(string id, string title, string xTitle, string yTitle, IReadOnlyList<LineSeries> series, string caption, string sampleSize,
        bool logY = false)
    {
        var drawn = series.Where(s => s.Points.Count > 0).ToList();
        if (drawn.Count == 0) return Figure.Note(id, title, "Nothing recorded yet.");
        var all = drawn.SelectMany(s => s.Points).ToList();
        logY = logY && all.All(p => p.Y > 0);
        var x = XScale(all.Select(p => p.X));
        var y = YScale(all.Select(p => p.Y), log: logY);
        var plot = new SvgPlot(id, title, x, y, xTitle, yTitle);
        foreach (var s in drawn)
        {
            var d = string.Join(' ', s.Points.Select((p, i) => $"{(i == 0 ? 'M' : 'L')}{N(x.Map(p.X))},{N(y.Map(p.Y))}"));
            var dash = s.Dashed ? " stroke-dasharray=\"8 4\"" : "";
            var marks = new StringBuilder();
            marks.Append($"<path class=\"line {s.CssClass}\" d=\"{d}\" fill=\"none\" stroke=\"{s.Colour}\" stroke-width=\"2\"{dash} data-series=\"{Esc(s.Key)}\" data-points=\"{s.Points.Count}\"{s.Attributes}><title>{Esc(s.Legend)}</title></path>\n");
            if (s.Points.Count <= MarkerLimit)
                foreach (var p in s.Points)
                    marks.Append($"<circle class=\"marker\" cx=\"{N(x.Map(p.X))}\" cy=\"{N(y.Map(p.Y))}\" r=\"3\" fill=\"{s.Colour}\" data-series=\"{Esc(s.Key)}\" data-x=\"{V(p.X)}\" data-y=\"{V(p.Y)}\"/>\n");
            plot.Add(marks.ToString());
        }
        var legend = drawn.Select(s => new LegendEntry(s.Key, s.Legend, s.Colour, Line: true, Dashed: s.Dashed)).ToList();
        return Figure.Render(id, title, plot.ToString(), legend, caption, sampleSize);
    }
}
