using Reweighting.Contracts;

namespace Reweighting.Reporting;

/// <summary>Draws a GMM's components in the raw (loss mean, loss variance) plane. The mixture lives in a feature space
/// (a transform of the variance, then standardisation), where a component's 2-sigma contour is an ellipse; its image in
/// raw coordinates is traced by mapping sampled points of that ellipse through the inverse feature map.</summary>
internal static class GmmEllipses
{
    /// <summary>Radius of the contour in standard deviations.</summary>
    public const double Sigmas = 2;

    public static IReadOnlyList<ComponentEllipse> Trace(GmmModel model, int segments = 96)
    {
        var p = model.Parameters;
        // A per-byte mixture lives in the (loss per byte, bytes per token) plane, not this one: nothing to draw.
        if (p.Dimensions != 2 || p.Transform == FeatureTransform.PerByte) return [];
        var ellipses = new List<ComponentEllipse>(p.Components);
        for (var k = 0; k < p.Components; k++)
        {
            var m = p.Means[k];
            var s = p.Covariances[k];
            // Cholesky factor L of the 2 x 2 covariance: x = m + 2 L (cos t, sin t) traces the 2-sigma contour.
            var l11 = Math.Sqrt(Math.Max(s[0][0], 0));
            var l21 = l11 > 0 ? s[1][0] / l11 : 0;
            var l22 = Math.Sqrt(Math.Max(s[1][1] - l21 * l21, 0));
            var outline = new List<StatPoint>(segments + 1);
            for (var i = 0; i <= segments; i++)
            {
                var t = 2 * Math.PI * i / segments;
                var (u, v) = (Sigmas * Math.Cos(t), Sigmas * Math.Sin(t));
                outline.Add(ToRaw(p, m[0] + l11 * u, m[1] + l21 * u + l22 * v));
            }
            ellipses.Add(new ComponentEllipse(k, model.LabelMap[k], p.Weights[k], ToRaw(p, m[0], m[1]), outline));
        }
        return ellipses;
    }

    /// <summary>The inverse of <see cref="Gmm.StatFeatures.Apply"/>: undo the standardisation, then the transform.</summary>
    public static StatPoint ToRaw(GmmParameters p, double feature0, double feature1)
    {
        if (p.StandardizeMean is { } mu && p.StandardizeStd is { } sd)
        {
            feature0 = feature0 * sd[0] + mu[0];
            feature1 = feature1 * sd[1] + mu[1];
        }
        var variance = p.Transform switch
        {
            FeatureTransform.Raw => feature1,
            FeatureTransform.LogVariance => Math.Exp(feature1),
            _ => throw new ArgumentOutOfRangeException(nameof(p), p.Transform, "unknown feature transform"),
        };
        return new StatPoint(feature0, variance);
    }
}
