using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Tests;

public sealed class LabelRuleTests
{
    private const SampleLabel E = SampleLabel.Easy, H = SampleLabel.Hard, N = SampleLabel.Noisy;

    private static double[][] Diagonal(double lossVariance, double featureVariance) => [[lossVariance, 0], [0, featureVariance]];

    // Three components whose rules disagree:
    //   A centre (0, 3),  √Σ₀₀ = 0.5: lowest loss, highest variance        mean+spread 0.5, mean+variance 3
    //   B centre (1, 0),  √Σ₀₀ = 3:   middle loss, lowest variance, broad  mean+spread 4,   mean+variance 1
    //   C centre (2, 1),  √Σ₀₀ = 1:   highest loss, middle variance        mean+spread 3,   mean+variance 3  (ties A)
    private static readonly double[][] Means = [[0, 3], [1, 0], [2, 1]];
    private static readonly double[][][] Covariances = [Diagonal(0.25, 1), Diagonal(9, 1), Diagonal(1, 1)];

    [Theory]
    [InlineData("mean-loss", new[] { E, H, N })]
    [InlineData("variance", new[] { N, E, H })]
    [InlineData("mean-plus-spread", new[] { E, N, H })]
    [InlineData("mean-plus-variance", new[] { H, E, N })] // A and C tie at 3; C has the higher centre loss, so it ranks noisier
    public void Each_rule_ranks_the_components_by_its_own_key(string rule, SampleLabel[] expected)
    {
        LabelRules.Get(rule).Map(Means, Covariances).Should().Equal(expected);
    }

    [Fact]
    public void Permuted_components_get_the_same_labels_by_content_under_every_rule()
    {
        int[][] permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        double[] weights = [0.3, 0.5, 0.2];
        foreach (var rule in LabelRules.All)
        {
            var reference = rule.Map(Means, Covariances, weights);
            foreach (var p in permutations)
            {
                var labels = rule.Map(p.Select(i => Means[i]).ToArray(), p.Select(i => Covariances[i]).ToArray(), p.Select(i => weights[i]).ToArray());
                labels.Should().Equal(p.Select(i => reference[i]), $"{rule.Name} under permutation [{string.Join(",", p)}]");
            }
        }
    }

    [Fact]
    public void Ties_on_the_key_are_broken_by_content_not_by_position()
    {
        // Equal centre loss: the lower variance feature ranks easier, wherever it sits.
        double[][] tied = [[1, 5], [1, -2], [1, 0]];
        var cov = new[] { Diagonal(1, 1), Diagonal(1, 1), Diagonal(1, 1) };
        LabelRules.MeanLoss.Map(tied, cov).Should().Equal(N, E, H);
        ComponentLabels.ByAscendingMeanLoss(tied).Should().Equal(N, E, H);

        // Identical centres: the covariance decides (smaller loss variance first).
        double[][] same = [[1, 1], [1, 1], [1, 1]];
        LabelRules.MeanLoss.Map(same, [Diagonal(4, 1), Diagonal(1, 1), Diagonal(2, 1)]).Should().Equal(N, E, H);
        LabelRules.MeanLoss.Map(same, [Diagonal(2, 1), Diagonal(4, 1), Diagonal(1, 1)]).Should().Equal(H, N, E);
    }

    [Fact]
    public void The_mean_loss_rule_is_the_original_map_and_atypical_the_measured_default()
    {
        LabelRules.Default.Should().BeSameAs(LabelRules.Atypical, "eval noise-detection chose it (README, docs/reweighting.md)");
        LabelRules.All[0].Should().BeSameAs(LabelRules.Default);
        var rng = new Random(2);
        for (var trial = 0; trial < 20; trial++)
        {
            var k = 1 + rng.Next(7);
            var means = Enumerable.Range(0, k).Select(_ => new[] { rng.NextDouble(), rng.NextDouble() }).ToArray();
            var cov = Enumerable.Range(0, k).Select(_ => Diagonal(1, 1)).ToArray();
            LabelRules.MeanLoss.Map(means, cov).Should().Equal(ComponentLabels.ByAscendingMeanLoss(means));
        }
    }

    [Fact]
    public void Rules_apply_to_stored_parameters_and_unknown_names_are_refused()
    {
        var parameters = new GmmParameters([0.2, 0.3, 0.5], Means, Covariances, FeatureTransform.LogVariance);
        LabelRules.Variance.Map(parameters).Should().Equal(N, E, H);
        LabelRules.All.Select(r => r.Name).Should().OnlyHaveUniqueItems().And.Contain(["mean-loss", "variance", "mean-plus-spread", "mean-plus-variance"]);

        var unknown = () => LabelRules.Get("loudest");
        unknown.Should().Throw<ArgumentException>().WithMessage("*loudest*mean-loss*");
        var mismatched = () => LabelRules.Variance.Map(Means, Covariances.Take(2).ToArray());
        mismatched.Should().Throw<ArgumentException>();
        var oneFeature = () => LabelRules.Variance.Map([[1.0]], [[[1.0]]]);
        oneFeature.Should().Throw<ArgumentException>();
    }
}
