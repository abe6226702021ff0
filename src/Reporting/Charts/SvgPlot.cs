using System.Globalization;
using System.Net;
using System.Text;

namespace Reweighting.Reporting.Charts;

/// <summary>One SVG chart: a plot area with x and y axes (ticks, grid, titles) and a clip path; marks are appended
/// by the chart types. Coordinates are written with two decimals, invariant culture.</summary>
internal sealed class SvgPlot
{
    public const double Width = 720, Height = 380;
    private const double Left = 72, Right = 20, Top = 16, Bottom = 52;
    private static int Ids;

    private readonly StringBuilder _marks = new();
    private readonly string _id;
    private readonly string _title;

    public Scale X { get; }
    public Scale Y { get; }
    public string XTitle { get; }
    public string YTitle { get; }

    public static double PlotLeft => Left;
    public static double PlotRight => Width - Right;
    public static double PlotTop => Top;
    public static double PlotBottom => Height - Bottom;

    public SvgPlot(string id, string title, Scale x, Scale y, string xTitle, string yTitle)
    {
        _id = $"{id}-{Interlocked.Increment(ref Ids)}";
        _title = title;
        (X, Y, XTitle, YTitle) = (x, y, xTitle, yTitle);
    }

    /// <summary>A scale spanning the plot's width.</summary>
    public static Scale XScale(IEnumerable<double> values, bool log = false, bool includeZero = false) => Scale.Fit(values, PlotLeft, PlotRight, log, includeZero);

    /// <summary>A scale spanning the plot's height (upwards).</summary>
    public static Scale YScale(IEnumerable<double> values, bool log = false, bool includeZero = false) => Scale.Fit(values, PlotBottom, PlotTop, log, includeZero);

    /// <summary>Appends raw SVG markup inside the clipped plot area.</summary>
    public void Add(string markup) => _marks.Append(markup).Append('\n');

    public override string ToString()
    {
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"plot\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Esc(_title)}\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<title>{Esc(_title)}</title>\n");
        svg.Append(CultureInfo.InvariantCulture,
            $"<defs><clipPath id=\"clip-{_id}\"><rect x=\"{N(PlotLeft)}\" y=\"{N(PlotTop)}\" width=\"{N(PlotRight - PlotLeft)}\" height=\"{N(PlotBottom - PlotTop)}\"/></clipPath></defs>\n");
        svg.Append("<g class=\"axis x-axis\">\n");
        foreach (var (value, label) in X.Ticks())
        {
            var px = X.Map(value);
            svg.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{N(px)}\" y1=\"{N(PlotTop)}\" x2=\"{N(px)}\" y2=\"{N(PlotBottom)}\"/><line class=\"tick\" x1=\"{N(px)}\" y1=\"{N(PlotBottom)}\" x2=\"{N(px)}\" y2=\"{N(PlotBottom + 5)}\"/><text class=\"tick-label\" x=\"{N(px)}\" y=\"{N(PlotBottom + 18)}\" text-anchor=\"middle\">{Esc(label)}</text>\n");
        }
        svg.Append(CultureInfo.InvariantCulture,
            $"<line class=\"axis-line\" x1=\"{N(PlotLeft)}\" y1=\"{N(PlotBottom)}\" x2=\"{N(PlotRight)}\" y2=\"{N(PlotBottom)}\"/><text class=\"axis-title\" x=\"{N((PlotLeft + PlotRight) / 2)}\" y=\"{N(Height - 10)}\" text-anchor=\"middle\">{Esc(XTitle)}</text>\n</g>\n");
        svg.Append("<g class=\"axis y-axis\">\n");
        foreach (var (value, label) in Y.Ticks())
        {
            var py = Y.Map(value);
            svg.Append(CultureInfo.InvariantCulture,
                $"<line class=\"grid\" x1=\"{N(PlotLeft)}\" y1=\"{N(py)}\" x2=\"{N(PlotRight)}\" y2=\"{N(py)}\"/><line class=\"tick\" x1=\"{N(PlotLeft - 5)}\" y1=\"{N(py)}\" x2=\"{N(PlotLeft)}\" y2=\"{N(py)}\"/><text class=\"tick-label\" x=\"{N(PlotLeft - 8)}\" y=\"{N(py + 4)}\" text-anchor=\"end\">{Esc(label)}</text>\n");
        }
        svg.Append(CultureInfo.InvariantCulture,
            $"<line class=\"axis-line\" x1=\"{N(PlotLeft)}\" y1=\"{N(PlotTop)}\" x2=\"{N(PlotLeft)}\" y2=\"{N(PlotBottom)}\"/><text class=\"axis-title\" transform=\"translate(16 {N((PlotTop + PlotBottom) / 2)}) rotate(-90)\" text-anchor=\"middle\">{Esc(YTitle)}</text>\n</g>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<g class=\"marks\" clip-path=\"url(#clip-{_id})\">\n");
        svg.Append(_marks);
        svg.Append("</g>\n</svg>");
        return svg.ToString();
    }

    /// <summary>A coordinate or value for an attribute: invariant, at most 2 decimals for pixels.</summary>
    public static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A data value for an attribute, round-trippable.</summary>
    public static string V(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    public static string Esc(string? text) => WebUtility.HtmlEncode(text ?? "");
}
