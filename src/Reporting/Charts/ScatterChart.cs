using System.Text;
using Reweighting.Contracts;
using static Reweighting.Reporting.Charts.SvgPlot;

namespace Reweighting.Reporting.Charts;

/// <summary>The (loss mean, loss variance) scatter of the sampled documents, coloured by label, with the newest GMM's
/// components as 2-sigma ellipses mapped back from its feature space.</summary>
internal static class ScatterChart
{
    public const string Id = "chart-scatter";
    private const string Title = "Documents in the (loss mean, loss variance) plane";

    public static string Render(ReportData data)
    {
        if (data.Sample.Count == 0)
            return Figure.Note(Id, Title, "No scored documents yet: the scatter appears once the scorer has stored labelled scores.");

        // The variance axis is logarithmic when the GMM works on ln variance (its ellipses are then ellipse-like), or
        // when the variances span more than three decades.
        var positive = data.Sample.Select(p => p.LossVariance).Where(v => v > 0).ToArray();
        var logY = positive.Length > 0 && (data.Gmm?.Model.Parameters.Transform == FeatureTransform.LogVariance || positive.Max() / positive.Min() > 1e3);
        var x = XScale(data.Sample.Select(p => p.LossMean));
        var y = YScale(data.Sample.Select(p => p.LossVariance), log: logY);
        var plot = new SvgPlot(Id, Title, x, y, "loss mean (nats per token)", logY ? "loss variance (log scale)" : "loss variance");

        var marks = new StringBuilder();
        foreach (var p in data.Sample)
        {
            var label = p.Label.ToWire();
            marks.Append($"<circle class=\"point label-{label}\" cx=\"{N(x.Map(p.LossMean))}\" cy=\"{N(y.Map(p.LossVariance))}\" r=\"2.6\" fill=\"{Palette.Of(p.Label)}\" data-id=\"{Esc(p.DocumentId)}\" data-label=\"{label}\" data-mean=\"{V(p.LossMean)}\" data-variance=\"{V(p.LossVariance)}\"><title>{Esc(p.DocumentId)} ({label}): mean {V(p.LossMean)}, variance {V(p.LossVariance)}</title></circle>\n");
        }
        plot.Add(marks.ToString());

        var caption = new StringBuilder("Each dot is a document's latest score, coloured by its label. ");
        if (data.Gmm is { } gmm)
        {
            foreach (var e in gmm.Ellipses)
            {
                var d = string.Join(' ', e.Outline.Select((q, i) => $"{(i == 0 ? 'M' : 'L')}{N(x.Map(q.LossMean))},{N(y.Map(Math.Max(q.LossVariance, 0)))}")) + " Z";
                var label = e.Label.ToWire();
                plot.Add($"<path class=\"gmm-ellipse label-{label}\" d=\"{d}\" fill=\"none\" stroke=\"{Palette.Of(e.Label)}\" stroke-width=\"2\" stroke-dasharray=\"7 3\" data-component=\"{e.Component}\" data-label=\"{label}\" data-version=\"{gmm.Model.Version}\" data-weight=\"{V(e.Weight)}\"><title>GMM v{gmm.Model.Version} component {e.Component} ({label}, weight {e.Weight:0.###})</title></path>");
                plot.Add($"<circle class=\"gmm-centre label-{label}\" cx=\"{N(x.Map(e.Centre.LossMean))}\" cy=\"{N(y.Map(e.Centre.LossVariance))}\" r=\"5\" fill=\"white\" stroke=\"{Palette.Of(e.Label)}\" stroke-width=\"2.5\" data-component=\"{e.Component}\"/>");
            }
            var p = gmm.Model.Parameters;
            var space = p.Transform == FeatureTransform.LogVariance ? "(mean, ln variance)" : "(mean, variance)";
            if (p.Transform == FeatureTransform.PerByte)
            {
                caption.Append($"The labels come from GMM version {gmm.Model.Version} ({p.Components} components, the newest of {gmm.StoredVersions} stored), " +
                               "fitted on (loss per byte, bytes per token): its components are not drawn in this plane.");
            }
            else
            {
                caption.Append($"Dashed outlines: the 2-sigma ellipses of the {p.Components} components of GMM version {gmm.Model.Version} (the newest of {gmm.StoredVersions} stored, fitted on {gmm.Model.SampleCount:N0} documents), ");
                caption.Append($"traced in its feature space {space}{(p.StandardizeMean is null ? "" : ", standardised")} and mapped back to raw coordinates; white dots are component means.");
            }
        }
        else
        {
            caption.Append("No GMM version is stored yet, so no component ellipses are drawn.");
        }

        var legend = Figure.LabelLegend().ToList();
        if (data.Gmm is not null) legend.Add(new LegendEntry("gmm-ellipse", "GMM 2-sigma ellipse (colour: component label)", "#555555", Line: true, Dashed: true));
        return Figure.Render(Id, Title, plot.ToString(), legend, caption.ToString(), Figure.SampleSize(data.Sample.Count, data.TotalDocuments));
    }
}
