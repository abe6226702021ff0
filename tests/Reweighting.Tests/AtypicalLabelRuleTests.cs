using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Tests;

public sealed class AtypicalLabelRuleTests
{
    private const SampleLabel E = SampleLabel.Easy, H = SampleLabel.Hard, N = SampleLabel.Noisy;

    private static double[][] Diagonal(double a, double b) => [[a, 0], [0, b]];

    [Fact]
    public void Components_outside_the_heaviest_half_are_noisy_on_both_sides_of_the_bulk()
    {
        // A low-loss boilerplate cluster, the bulk, a high-loss garbage cluster.
        double[][] means = [[-2.0, -1.0], [0.0, 0.0], [2.5, 1.0]];
        double[][][] cov = [Diagonal(0.1, 0.1), Diagonal(1, 1), Diagonal(0.2, 0.2)];
        LabelRules.Atypical.Map(means, cov, [0.1, 0.75, 0.15]).Should().Equal(N, H, N);
        // The mean-loss rule would call the boilerplate easy and only the garbage noisy.
        LabelRules.MeanLoss.Map(means, cov, [0.1, 0.75, 0.15]).Should().Equal(E, H, N);
    }

    [Fact]
    public void Atypical_upper_calls_an_atypical_cluster_below_the_bulk_easy_and_one_above_noisy()
    {
        // A distinct low-loss domain (code among prose), the bulk, a high-loss garbage cluster.
        double[][] means = [[-2.0, -1.0], [0.0, 0.0], [2.5, 1.0]];
        double[][][] cov = [Diagonal(0.1, 0.1), Diagonal(1, 1), Diagonal(0.2, 0.2)];
        LabelRules.AtypicalUpper.Map(means, cov, [0.1, 0.75, 0.15]).Should().Equal(E, H, N);
        // Between two typical components is not below the bulk: still noisy.
        double[][] between = [[-1.0, 0.0], [0.1, 0.0], [1.0, 0.0], [3.0, 1.0]];
        double[][][] cov4 = [Diagonal(1, 1), Diagonal(0.1, 0.1), Diagonal(1, 1), Diagonal(0.1, 0.1)];
        LabelRules.AtypicalUpper.Map(between, cov4, [0.3, 0.1, 0.3, 0.3]).Should().Equal(E, N, H, N);
        LabelRules.Get("atypical-upper").Should().BeSameAs(LabelRules.AtypicalUpper);
    }

    [Fact]
    public void Two_typical_components_split_into_easy_and_hard_by_centre_loss()
    {
        double[][] means = [[0.5, 0.0], [-0.5, 0.0], [3.0, 2.0], [-3.0, -2.0]];
        double[][][] cov = [Diagonal(1, 1), Diagonal(1, 1), Diagonal(0.1, 0.1), Diagonal(0.1, 0.1)];
        // 0.35 + 0.30 ≥ 0.5: the first two are typical.
        LabelRules.Atypical.Map(means, cov, [0.35, 0.30, 0.2, 0.15]).Should().Equal(H, E, N, N);
        var rule = new TypicalMassLabelRule("atypical-90", 0.9);
        // 0.35 + 0.30 + 0.20 < 0.9 ≤ 1: all four are typical; by loss -3.0, -0.5 easy, then 0.5, 3.0 hard.
        rule.Map(means, cov, [0.35, 0.30, 0.2, 0.15]).Should().Equal(H, E, H, E);
    }

    [Fact]
    public void Permuted_components_keep_their_labels_and_weights_are_required()
    {
        double[][] means = [[-2.0, -1.0], [0.0, 0.0], [2.5, 1.0], [0.3, 0.2]];
        double[][][] cov = [Diagonal(0.1, 0.1), Diagonal(1, 1), Diagonal(0.2, 0.2), Diagonal(0.5, 0.5)];
        double[] weights = [0.1, 0.4, 0.15, 0.35];
        var reference = LabelRules.Atypical.Map(means, cov, weights);
        reference.Should().Equal(N, E, N, H);
        int[][] permutations = [[3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]];
        foreach (var p in permutations)
            LabelRules.Atypical.Map(p.Select(i => means[i]).ToArray(), p.Select(i => cov[i]).ToArray(), p.Select(i => weights[i]).ToArray())
                .Should().Equal(p.Select(i => reference[i]));
        var noWeights = () => LabelRules.Atypical.Map(means, cov);
        noWeights.Should().Throw<ArgumentException>().WithMessage("*weights*");
        LabelRules.Get("atypical").Should().BeSameAs(LabelRules.Atypical);
    }

    [Fact]
    public void A_stored_mixture_passes_its_weights()
    {
        var parameters = new GmmParameters([0.8, 0.2], [[0.0, 0.0], [3.0, 1.0]], [Diagonal(1, 1), Diagonal(1, 1)], FeatureTransform.LogVariance);
        LabelRules.Atypical.Map(parameters).Should().Equal(H, N);
    }
}
