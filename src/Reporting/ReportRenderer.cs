using System.Text;
using Reweighting.Contracts;
using Reweighting.Reporting.Charts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting;

/// <summary>Renders report data as HTML with inline SVG charts: no scripts, no external resources, so the page opens
/// offline and can be mailed or archived as one file.</summary>
public static class ReportRenderer
{
    /// <summary>The chart sections as an HTML fragment (for embedding in another page, e.g. a dashboard).</summary>
    public static string RenderCharts(ReportData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var html = new StringBuilder();
        html.Append("<section class=\"report-section\" id=\"documents\">\n<h2>Scored documents</h2>\n");
        if (data.TotalDocuments == 0) html.Append("<p class=\"note empty-database\">No scored documents yet.</p>\n");
        html.Append(ScatterChart.Render(data));
        html.Append(LabelMixChart.Render(data));
        html.Append(StatHistograms(data));
        html.Append("</section>\n<section class=\"report-section\" id=\"training\">\n<h2>Training runs</h2>\n");
        if (data.Runs.Count == 0) html.Append($"<p class=\"note no-runs\">{TrainingCharts.NoRuns}</p>\n");
        html.Append(TrainingCharts.Curves(data, "loss", "chart-loss", "Training loss", "training loss"));
        html.Append(TrainingCharts.Curves(data, "valid_loss", "chart-valid-loss", "Validation loss", "validation loss"));
        html.Append(TrainingCharts.Weights(data));
        html.Append(TrainingCharts.PhiTrajectories(data));
        if (data.Metrics.Any(m => m.Name == "meta_predicted_improvement"))
            html.Append(TrainingCharts.Curves(data, "meta_predicted_improvement", "chart-meta-improvement",
                "meta-em: predicted validation improvement U_t per step", "U_t (nats)"));
        html.Append(RunsTable(data));
        html.Append("</section>\n");
        return html.ToString();
    }

    /// <summary>A complete, self-contained HTML document: inline CSS, the summary and every chart.</summary>
    public static string RenderPage(ReportData data, string title)
    {
        ArgumentNullException.ThrowIfNull(data);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        html.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        html.Append($"<title>{Esc(title)}</title>\n<style>\n{Stylesheet}\n</style>\n</head>\n<body>\n<header>\n<h1>{Esc(title)}</h1>\n");
        html.Append($"<p class=\"generated\">Generated {data.GeneratedAt:yyyy-MM-dd HH:mm:ss} UTC from the score database.</p>\n");
        html.Append(Summary(data));
        html.Append("</header>\n<main>\n").Append(RenderCharts(data)).Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Summary(ReportData data)
    {
        var labels = Palette.Labels.Select(l => (l, n: data.LabelMix.Where(c => c.Label == l).Sum(c => c.Documents))).ToList();
        var html = new StringBuilder("<dl class=\"summary\">");
        html.Append($"<dt>Scored documents</dt><dd data-key=\"documents\">{data.TotalDocuments:N0}</dd>");
        foreach (var (label, n) in labels)
            html.Append($"<dt>{label.ToWire()}</dt><dd data-key=\"label-{label.ToWire()}\">{n:N0}{(data.TotalDocuments > 0 ? $" ({100.0 * n / data.TotalDocuments:0.0}%)" : "")}</dd>");
        html.Append($"<dt>GMM versions</dt><dd data-key=\"gmm-versions\">{(data.Gmm is null ? "none" : $"{data.Gmm.StoredVersions:N0} (newest: {data.Gmm.Model.Version})")}</dd>");
        html.Append($"<dt>Training runs</dt><dd data-key=\"runs\">{data.Runs.Count:N0}</dd>");
        html.Append($"<dt>Plotted sample</dt><dd data-key=\"sample\">{Esc(Figure.SampleSize(data.Sample.Count, data.TotalDocuments))} Seed {data.Options.Seed}.</dd>");
        return html.Append("</dl>\n").ToString();
    }

    private static string StatHistograms(ReportData data)
    {
        const string meanId = "chart-hist-loss-mean", varianceId = "chart-hist-loss-variance";
        if (data.Sample.Count == 0)
            return Figure.Note(meanId, "Loss mean per label", "No scored documents yet.") + Figure.Note(varianceId, "Loss variance per label", "No scored documents yet.");
        var size = Figure.SampleSize(data.Sample.Count, data.TotalDocuments);
        var positive = data.Sample.Where(p => p.LossVariance > 0).Select(p => p.LossVariance).ToArray();
        var logVariance = positive.Length > 0 && (data.Gmm?.Model.Parameters.Transform == FeatureTransform.LogVariance || positive.Max() / positive.Min() > 1e3);
        return HistogramChart.Render(meanId, "Loss mean per label", "loss-mean", data.Sample.Select(p => (p.Label, p.LossMean)).ToList(),
                   "loss mean (nats per token)", "Mean token loss of the sampled documents.", size)
               + HistogramChart.Render(varianceId, "Loss variance per label", "loss-variance", data.Sample.Select(p => (p.Label, p.LossVariance)).ToList(),
                   logVariance ? "loss variance (log scale)" : "loss variance", "Variance of the token losses of the sampled documents.", size, log: logVariance);
    }

    private static string RunsTable(ReportData data)
    {
        if (data.Runs.Count == 0) return "";
        var html = new StringBuilder("<table class=\"runs\"><caption>Runs included</caption><thead><tr><th>run</th><th>strategy</th><th>model</th><th>status</th><th>started (UTC)</th><th>last loss</th><th>last valid_loss</th></tr></thead><tbody>");
        foreach (var run in data.Runs)
        {
            string Last(string metric) => data.Metrics.FirstOrDefault(m => m.RunId == run.RunId && m.Name == metric) is { Points.Count: > 0 } s
                ? $"{Scale.Format(s.Points[^1].Value)} (step {s.Points[^1].Step:N0})"
                : "–";
            html.Append($"<tr data-run=\"{Esc(run.RunId)}\"><td>{Esc(run.RunId)}</td><td>{Esc(run.Strategy)}</td><td>{Esc(run.Model)}</td><td>{Esc(run.Status)}</td><td>{run.StartedAt.UtcDateTime:yyyy-MM-dd HH:mm}</td><td>{Last("loss")}</td><td>{Last("valid_loss")}</td></tr>");
        }
        return html.Append("</tbody></table>\n").ToString();
    }

    /// <summary>The page's CSS, for a page that embeds <see cref="RenderCharts"/> (system fonts only: no network).</summary>
    public const string Stylesheet = """
        :root { color-scheme: light; }
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto; max-width: 1540px; padding: 0 24px 48px; color: #1b1b1b; background: #fff; }
        header { border-bottom: 1px solid #ddd; margin-bottom: 8px; }
        h1 { font-size: 1.6rem; margin: 20px 0 4px; }
        h2 { font-size: 1.3rem; margin: 28px 0 8px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
        h3 { font-size: 1.02rem; margin: 0 0 6px; }
        .generated { color: #555; margin: 0 0 10px; }
        dl.summary { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; margin: 0 0 16px; }
        dl.summary dt { font-weight: 600; }
        dl.summary dd { margin: 0; }
        .report-section { display: flex; flex-wrap: wrap; gap: 20px; }
        .report-section > h2, .report-section > p.note, .report-section > table, .report-section > ul.notes { flex-basis: 100%; }
        figure.chart { margin: 0; flex: 1 1 600px; max-width: 740px; border: 1px solid #e4e4e4; border-radius: 6px; padding: 12px; box-sizing: border-box; }
        svg.plot { width: 100%; height: auto; display: block; font-size: 12px; }
        .grid { stroke: #ececec; stroke-width: 1; }
        .tick, .axis-line { stroke: #444; stroke-width: 1; }
        .tick-label, .category-label, .bar-total { fill: #333; font-size: 11px; }
        .axis-title { fill: #222; font-size: 12.5px; font-weight: 600; }
        circle.point { fill-opacity: 0.55; }
        ul.legend { list-style: none; padding: 0; margin: 8px 0 4px; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 0.9rem; }
        ul.legend li { display: flex; align-items: center; gap: 6px; }
        figcaption { color: #444; font-size: 0.86rem; line-height: 1.35; margin-top: 4px; }
        .sample-size { font-weight: 600; color: #222; }
        p.note { color: #6a4a00; background: #fff8e5; border: 1px solid #f0dfa8; border-radius: 4px; padding: 8px 12px; }
        table { border-collapse: collapse; font-size: 0.9rem; margin: 8px 0; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; font-variant-numeric: tabular-nums; }
        th { background: #f6f6f6; }
        ul.notes { color: #444; font-size: 0.9rem; }
        @media print { figure.chart { break-inside: avoid; } }
        """;
}
