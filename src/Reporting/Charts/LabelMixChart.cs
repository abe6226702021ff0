using System.Text;
using Reweighting.Contracts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>Label mix per domain: one horizontal bar per domain, split into each label's share (exact counts).</summary>
internal static class LabelMixChart
{
    public const string Id = "chart-label-mix";
    private const string Title = "Label mix per domain";
    private const int MaxDomains = 24;

    public static string Render(ReportData data)
    {
        if (data.LabelMix.Count == 0) return Figure.Note(Id, Title, "No scored documents yet: no labels to count.");

        var domains = data.LabelMix.GroupBy(c => c.Domain)
            .Select(g => (Domain: g.Key, Counts: Palette.Labels.ToDictionary(l => l, l => g.Where(c => c.Label == l).Sum(c => c.Documents))))
            .OrderByDescending(d => d.Counts.Values.Sum()).ThenBy(d => d.Domain, StringComparer.Ordinal)
            .ToList();
        var merged = 0;
        if (domains.Count > MaxDomains)
        {
            // The long tail becomes one bar, so the chart stays legible.
            var tail = domains.Skip(MaxDomains - 1).ToList();
            merged = tail.Count;
            domains = [.. domains.Take(MaxDomains - 1), ("(other domains)", Palette.Labels.ToDictionary(l => l, l => tail.Sum(t => t.Counts[l])))];
        }

        const double rowHeight = 26, left = 150, right = 120, width = 720;
        var height = 20 + rowHeight * domains.Count + 30;
        var svg = new StringBuilder();
        svg.Append($"<svg class=\"plot\" viewBox=\"0 0 {width} {N(height)}\" role=\"img\" aria-label=\"{Title}\"><title>{Title}</title>\n");
        var plotWidth = width - left - right;
        foreach (var share in new[] { 0.0, 0.25, 0.5, 0.75, 1.0 })
        {
            var px = left + share * plotWidth;
            svg.Append($"<g class=\"axis x-axis\"><line class=\"grid\" x1=\"{N(px)}\" y1=\"10\" x2=\"{N(px)}\" y2=\"{N(height - 28)}\"/><text class=\"tick-label\" x=\"{N(px)}\" y=\"{N(height - 12)}\" text-anchor=\"middle\">{share * 100:0}%</text></g>\n");
        }
        for (var i = 0; i < domains.Count; i++)
        {
            var (domain, counts) = domains[i];
            var total = counts.Values.Sum();
            var y = 14 + i * rowHeight;
            svg.Append($"<text class=\"category-label\" x=\"{N(left - 8)}\" y=\"{N(y + 15)}\" text-anchor=\"end\">{Esc(Shorten(domain))}</text>\n");
            var offset = 0.0;
            foreach (var label in Palette.Labels)
            {
                var n = counts[label];
                if (n == 0) continue;
                var share = n / (double)total;
                var w = share * plotWidth;
                svg.Append($"<rect class=\"bar mix-bar label-{label.ToWire()}\" x=\"{N(left + offset)}\" y=\"{N(y)}\" width=\"{N(w)}\" height=\"{N(rowHeight - 6)}\" fill=\"{Palette.Of(label)}\" data-domain=\"{Esc(domain)}\" data-label=\"{label.ToWire()}\" data-count=\"{n}\" data-share=\"{V(share)}\"><title>{Esc(domain)}: {n:N0} {label.ToWire()} ({share * 100:0.0}%)</title></rect>\n");
                offset += w;
            }
            svg.Append($"<text class=\"bar-total\" x=\"{N(left + plotWidth + 8)}\" y=\"{N(y + 15)}\">{total:N0} docs</text>\n");
        }
        svg.Append("</svg>");

        var caption = $"Share of each label among a domain's documents, from exact counts over all scored documents; documents without a domain are \"(none)\"."
                      + (merged > 0 ? $" The {merged:N0} smallest domains are merged into \"(other domains)\"." : "");
        return Figure.Render(Id, Title, svg.ToString(), Figure.LabelLegend(), caption,
            $"All {data.TotalDocuments:N0} documents in {data.LabelMix.Select(c => c.Domain).Distinct().Count():N0} domains.");
    }

    private static string Shorten(string s) => s.Length <= 22 ? s : s[..21] + "…";
}
