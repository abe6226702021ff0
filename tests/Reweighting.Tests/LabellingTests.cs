using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Tests;

public sealed class LabellingTests
{
    private static readonly double[][] Identity2 = [[1, 0], [0, 1]];

    [Fact]
    public void Components_sorted_by_ascending_centre_loss_are_easy_hard_noisy()
    {
        ComponentLabels.ByAscendingMeanLoss([[5, 0], [1, 9], [9, -3]])
            .Should().Equal(SampleLabel.Hard, SampleLabel.Easy, SampleLabel.Noisy);
    }

    [Fact]
    public void More_than_three_components_split_into_thirds_by_centre_loss()
    {
        ComponentLabels.ByAscendingMeanLoss([[6, 0], [1, 0], [5, 0], [2, 0], [4, 0], [3, 0]])
            .Should().Equal(SampleLabel.Noisy, SampleLabel.Easy, SampleLabel.Noisy, SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Hard);
    }

    [Fact]
    public void Log_variance_features_are_standardised_after_the_transform()
    {
        var features = new StatFeatures(FeatureTransform.LogVariance, [1, 0], [2, 4]);
        Span<double> x = stackalloc double[2];

        features.Apply(3, Math.Exp(2), x);

        x[0].Should().BeApproximately(1, 1e-12);   // (3 - 1) / 2
        x[1].Should().BeApproximately(0.5, 1e-12); // (ln e² - 0) / 4
    }

    [Fact]
    public void A_zero_variance_stays_finite_under_the_log_transform()
    {
        Span<double> x = stackalloc double[2];
        new StatFeatures(FeatureTransform.LogVariance).Apply(2, 0, x);

        x[1].Should().Be(Math.Log(StatFeatures.VarianceFloor));
    }

    [Fact]
    public void The_label_is_the_one_whose_components_hold_the_most_posterior_mass()
    {
        // Two "hard" components either side of the point share its mass; one "easy" component is nearer than either.
        var gmm = new GaussianMixture([1 / 3.0, 1 / 3.0, 1 / 3.0], [[0, 0], [1, 0], [-1, 0]], [Identity2, Identity2, Identity2]);
        var labeller = new GmmLabeller(gmm, new StatFeatures(FeatureTransform.Raw), [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Hard]);

        var verdict = labeller.Assign(0, 0);

        // gamma_easy = 1 / (1 + 2 e^{-1/2}) ≈ 0.45: the single nearest component loses to the two it sits between.
        var easy = 1 / (1 + 2 * Math.Exp(-0.5));
        verdict.Label.Should().Be(SampleLabel.Hard);
        verdict.Confidence.Should().BeApproximately(1 - easy, 1e-12);
        verdict.Responsibilities[0].Should().BeApproximately(easy, 1e-12);
    }

    [Fact]
    public void A_labeller_built_from_a_stored_model_uses_its_transform_and_label_map()
    {
        var model = new GmmModel(3, "proxy", new GmmParameters([0.5, 0.5], [[2, 0], [8, 0]], [Identity2, Identity2], FeatureTransform.LogVariance),
            [SampleLabel.Easy, SampleLabel.Noisy], 10, -1, DateTimeOffset.UnixEpoch);

        var labeller = GmmLabeller.FromModel(model);

        labeller.Assign(2.5, 1).Label.Should().Be(SampleLabel.Easy);
        labeller.Assign(7.5, 1).Label.Should().Be(SampleLabel.Noisy);
    }
}
