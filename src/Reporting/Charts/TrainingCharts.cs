using System.Text;
using Reweighting.Contracts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>The charts of training runs: loss curves, meta-EM weight distributions, and phi trajectories.</summary>
internal static class TrainingCharts
{
    public const string NoRuns = "No training runs recorded yet.";

    /// <summary>Uniform runs are the reference (black, dashed); weighted runs get palette colours in run order.</summary>
    public static (string Colour, bool Dashed) Style(ReportData data, TrainingRun run)
    {
        if (IsUniform(run)) return (Palette.Reference, true);
        var index = data.Runs.Where(r => !IsUniform(r)).ToList().IndexOf(run);
        return (Palette.SeriesColour(Math.Max(index, 0)), false);
    }

    public static bool IsUniform(TrainingRun run) => string.Equals(run.Strategy, "uniform", StringComparison.OrdinalIgnoreCase);

    public static string RunLegend(TrainingRun run) => $"{run.RunId} ({run.Strategy})";

    /// <summary>Loss over steps, one line per run.</summary>
    public static string Curves(ReportData data, string metric, string id, string title, string yTitle)
    {
        if (data.Runs.Count == 0) return Figure.Note(id, title, NoRuns);
        var series = new List<LineSeries>();
        long drawn = 0, recorded = 0;
        foreach (var run in data.Runs)
        {
            var m = data.Metrics.FirstOrDefault(s => s.RunId == run.RunId && s.Name == metric);
            if (m is null) continue;
            var (colour, dashed) = Style(data, run);
            drawn += m.Points.Count;
            recorded += m.RecordedPoints;
            series.Add(new LineSeries(run.RunId, RunLegend(run), colour, dashed, m.Points.Select(p => ((double)p.Step, p.Value)).ToList(), "run-line",
                $" data-run=\"{Esc(run.RunId)}\" data-strategy=\"{Esc(run.Strategy)}\" data-metric=\"{Esc(metric)}\""));
        }
        if (series.Count == 0) return Figure.Note(id, title, $"No run has recorded {metric} yet.");
        var missing = data.Runs.Count - series.Count;
        var caption = $"Metric \"{metric}\" per run over training steps; the uniform run is the black dashed reference." +
                      (missing > 0 ? $" {missing} run(s) recorded no {metric}." : "");
        var size = drawn == recorded
            ? $"All {recorded:N0} recorded points of {series.Count} run(s)."
            : $"{drawn:N0} of {recorded:N0} recorded points of {series.Count} run(s) (every n-th step and the last).";
        return LineChart.Render(id, title, "step", yTitle, series, caption, size);
    }

    /// <summary>Meta-EM weight histograms, one per run with phi, and notes for the runs whose weights cannot be recomputed.</summary>
    public static string Weights(ReportData data)
    {
        const string id = "chart-weights";
        const string title = "Weight distributions per strategy";
        var html = new StringBuilder();
        if (data.Runs.Count == 0) return Figure.Note(id, title, NoRuns);
        if (data.Weights.Count == 0)
            html.Append(Figure.Note(id, title, data.Sample.Count == 0
                ? "No scored documents yet: there is nothing to weigh."
                : "No run has meta-learned cluster parameters (phi), so no per-document weights can be recomputed; the database stores no per-sample weights."));
        for (var i = 0; i < data.Weights.Count; i++)
        {
            var w = data.Weights[i];
            var caption = $"Meta-EM weight u(s) = Σ_k γ_k(s)·exp(−λ_k‖s − c_k‖²) of each sampled document under run {w.RunId}'s latest phi (step {w.PhiStep:N0}), " +
                          $"with s the document's statistics under {w.FeatureMap}. In training these raw weights are normalised over each batch and capped at 2/M; " +
                          "the database stores no per-sample weights, so this is recomputed from the scores and phi.";
            html.Append(HistogramChart.Render($"{id}-{i + 1}", $"Meta-EM weights of run {w.RunId} ({w.Strategy})", "weight", w.Weights, "weight u(s)",
                caption, Figure.SampleSize(w.Weights.Count, data.TotalDocuments), attributes: $" data-run=\"{Esc(w.RunId)}\""));
        }
        var others = data.Runs.Where(r => data.Weights.All(w => w.RunId != r.RunId)).ToList();
        if (others.Count > 0)
        {
            html.Append("<ul class=\"notes weight-notes\">");
            foreach (var run in others)
                html.Append($"<li data-run=\"{Esc(run.RunId)}\">{Esc(RunLegend(run))}: ").Append(Esc(IsUniform(run)
                    ? "uniform weights — every document of a batch weighs the same."
                    : "no phi recorded; this strategy's weights depend on each batch's losses, which are not stored, so they are not shown.")).Append("</li>");
            html.Append("</ul>\n");
        }
        return html.ToString();
    }

    /// <summary>λ_k and π_k over steps for every run with phi, and its centres at the first and latest step.</summary>
    public static string PhiTrajectories(ReportData data)
    {
        const string id = "chart-phi";
        const string title = "Meta-learned cluster parameters";
        var runs = data.Runs.Where(r => data.Phi.Any(p => p.RunId == r.RunId)).ToList();
        if (runs.Count == 0)
            return Figure.Note(id, title, data.Runs.Count == 0 ? NoRuns : "No run has recorded cluster parameters (phi): only meta-em runs do.");
        var html = new StringBuilder();
        for (var i = 0; i < runs.Count; i++)
        {
            var run = runs[i];
            var history = data.Phi.Where(p => p.RunId == run.RunId).ToList();
            var k = history.Max(h => h.Lambdas.Length);
            var size = $"All {history.Count:N0} recorded phi snapshot(s) of run {run.RunId}.";
            foreach (var (param, symbol, pick, logY) in new (string, string, Func<PhiSnapshot, double[]>, bool)[]
                     { ("lambda", "λ_k (sharpness)", h => h.Lambdas, true), ("pi", "π_k (prior)", h => h.Pis, false) })
            {
                var series = Enumerable.Range(0, k).Select(c => new LineSeries($"{run.RunId}-{param}-{c}", $"component {c}", Palette.SeriesColour(c), false,
                        history.Where(h => pick(h).Length > c).Select(h => ((double)h.Step, pick(h)[c])).ToList(), "phi-line",
                        $" data-run=\"{Esc(run.RunId)}\" data-param=\"{param}\" data-component=\"{c}\""))
                    .ToList();
                html.Append(LineChart.Render($"{id}-{param}-{i + 1}", $"{symbol} of run {run.RunId}", "step", symbol, series,
                    $"{symbol} of each meta-EM component over training steps (the first point is phi initialised from the GMM).", size, logY));
            }
            html.Append(CentresTable(run, history[0], history[^1]));
        }
        return html.ToString();
    }

    private static string CentresTable(TrainingRun run, PhiSnapshot first, PhiSnapshot last)
    {
        var html = new StringBuilder();
        html.Append($"<table class=\"phi-centres\" data-run=\"{Esc(run.RunId)}\"><caption>Centres c_k of run {Esc(run.RunId)} in the GMM's feature space: step {first.Step:N0} ({Source(first)}) and step {last.Step:N0} ({Source(last)})</caption>");
        html.Append("<thead><tr><th>component</th><th>first centre</th><th>latest centre</th><th>first λ</th><th>latest λ</th><th>first π</th><th>latest π</th></tr></thead><tbody>");
        for (var c = 0; c < last.Lambdas.Length; c++)
        {
            string Centre(PhiSnapshot p) => c < p.Centres.Length ? "(" + string.Join(", ", p.Centres[c].Select(v => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture))) + ")" : "–";
            string At(double[] a) => c < a.Length ? Scale.Format(a[c]) : "–";
            html.Append($"<tr><td>{c}</td><td>{Centre(first)}</td><td>{Centre(last)}</td><td>{At(first.Lambdas)}</td><td>{At(last.Lambdas)}</td><td>{At(first.Pis)}</td><td>{At(last.Pis)}</td></tr>");
        }
        html.Append("</tbody></table>\n");
        return html.ToString();
    }

    private static string Source(PhiSnapshot p) => p.Source == ClusterParameterSource.GmmInit ? "initialised from the GMM" : "meta update";
}
