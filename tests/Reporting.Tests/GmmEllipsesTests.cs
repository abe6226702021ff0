using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Reporting.Tests;

public sealed class GmmEllipsesTests
{
    [Theory]
    [InlineData(FeatureTransform.Raw, false)]
    [InlineData(FeatureTransform.Raw, true)]
    [InlineData(FeatureTransform.LogVariance, false)]
    [InlineData(FeatureTransform.LogVariance, true)]
    public void Mapping_back_inverts_the_feature_map(FeatureTransform transform, bool standardised)
    {
        double[]? mu = standardised ? [3.0, -0.5] : null, sd = standardised ? [1.5, 0.7] : null;
        var p = new GmmParameters([1.0], [[0.0, 0.0]], [[[1.0, 0.0], [0.0, 1.0]]], transform, mu, sd);
        var features = new StatFeatures(transform, mu, sd);
        Span<double> f = stackalloc double[2];
        foreach (var (mean, variance) in new[] { (2.5, 0.3), (7.0, 12.0), (0.1, 1e-4) })
        {
            features.Apply(mean, variance, f);
            var back = GmmEllipses.ToRaw(p, f[0], f[1]);
            back.LossMean.Should().BeApproximately(mean, 1e-12);
            back.LossVariance.Should().BeApproximately(variance, 1e-12 * Math.Max(1, variance));
        }
    }

    [Fact]
    public void The_outline_is_the_two_sigma_contour_in_feature_space()
    {
        // Correlated covariance: every outline point, mapped forward again, has Mahalanobis distance 2.
        double[][] cov = [[2.0, 0.6], [0.6, 0.5]];
        var p = new GmmParameters([1.0], [[0.4, -0.2]], [cov], FeatureTransform.LogVariance, [4.0, 0.1], [1.2, 0.9]);
        var model = new GmmModel(1, "proxy", p, [SampleLabel.Hard], 10, 0, DateTimeOffset.UnixEpoch);
        var ellipse = GmmEllipses.Trace(model).Should().ContainSingle().Subject;
        var features = StatFeatures.FromParameters(p);
        var det = cov[0][0] * cov[1][1] - cov[0][1] * cov[1][0];
        Span<double> f = stackalloc double[2];
        foreach (var q in ellipse.Outline)
        {
            features.Apply(q.LossMean, q.LossVariance, f);
            double dx = f[0] - 0.4, dy = f[1] + 0.2;
            var mahalanobis2 = (cov[1][1] * dx * dx - 2 * cov[0][1] * dx * dy + cov[0][0] * dy * dy) / det;
            mahalanobis2.Should().BeApproximately(4, 1e-9);
        }
    }
}
