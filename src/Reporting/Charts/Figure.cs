using System.Text;
using Reweighting.Contracts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>A legend entry: a swatch (a filled square or a line, dashed or not) and its text.</summary>
internal sealed record LegendEntry(string Key, string Text, string Colour, bool Line = false, bool Dashed = false);

/// <summary>The HTML around a chart: heading, the SVG, the legend, and a caption saying what is drawn and from how much data.</summary>
internal static class Figure
{
    public static string Render(string id, string title, string svg, IReadOnlyList<LegendEntry> legend, string caption, string? sampleSize = null)
    {
        var html = new StringBuilder();
        html.Append($"<figure class=\"chart\" id=\"{Esc(id)}\" data-chart=\"{Esc(id)}\">\n<h3>{Esc(title)}</h3>\n{svg}\n");
        if (legend.Count > 0)
        {
            html.Append("<ul class=\"legend\">");
            foreach (var entry in legend) html.Append(Entry(entry));
            html.Append("</ul>\n");
        }
        html.Append("<figcaption>");
        if (sampleSize is not null) html.Append($"<span class=\"sample-size\">{Esc(sampleSize)}</span> ");
        html.Append(Esc(caption)).Append("</figcaption>\n</figure>\n");
        return html.ToString();
    }

    /// <summary>A section's note where there is nothing to draw.</summary>
    public static string Note(string id, string title, string text) =>
        $"<figure class=\"chart empty\" id=\"{Esc(id)}\" data-chart=\"{Esc(id)}\">\n<h3>{Esc(title)}</h3>\n<p class=\"note\">{Esc(text)}</p>\n</figure>\n";

    public static IReadOnlyList<LegendEntry> LabelLegend(IEnumerable<SampleLabel>? labels = null) =>
        (labels ?? Palette.Labels).Select(l => new LegendEntry("label-" + l.ToWire(), l.ToWire(), Palette.Of(l))).ToList();

    private static string Entry(LegendEntry e)
    {
        var swatch = e.Line
            ? $"<svg class=\"swatch\" width=\"28\" height=\"12\" aria-hidden=\"true\"><line x1=\"1\" y1=\"6\" x2=\"27\" y2=\"6\" stroke=\"{e.Colour}\" stroke-width=\"2.5\"{(e.Dashed ? " stroke-dasharray=\"6 3\"" : "")}/></svg>"
            : $"<svg class=\"swatch\" width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" fill=\"{e.Colour}\"/></svg>";
        return $"<li class=\"legend-item\" data-series=\"{Esc(e.Key)}\">{swatch} {Esc(e.Text)}</li>";
    }

    /// <summary>"5,000 of 1,806,223 documents", or "all 120 documents".</summary>
    public static string SampleSize(long drawn, long total, string noun = "documents") =>
        drawn >= total ? $"All {total:N0} {noun}." : $"{drawn:N0} of {total:N0} {noun} (seeded random sample).";
}
