using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Strategies;
using Xunit;

namespace Reweighting.Tests;

public sealed class ClusterHeuristicStrategyTests
{
    private static readonly double[][] Tight = [[0.1, 0], [0, 0.1]];

    // Easy centre (0.5, 1), hard (2, 3.5), noisy (3.5, 2.5); tight components, so the labels below are certain.
    private static readonly GaussianMixture ThreeClusters = new([0.4, 0.3, 0.3], [[0.5, 1], [2, 3.5], [3.5, 2.5]], [Tight, Tight, Tight]);

    private static GmmLabeller Labeller(StatFeatures features, SampleLabel[]? map = null) =>
        new(ThreeClusters, features, map ?? [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy]);

    private static ClusterHeuristicStrategy RawStrategy() => new(Labeller(new StatFeatures(FeatureTransform.Raw)));

    [Fact]
    public void Hand_computed_weights_of_a_batch_around_its_global_point()
    {
        // Raw features, no standardisation: x_i = (mean, variance). The global point is the batch mean, g = (2, 2).
        //   A (1, 2) easy:  raw 1
        //   B (2, 3) hard:  x − g = (0, 1), θ = π/2, d = 1       → e^{π/2} + 1
        //   C (3, 3) noisy: x − g = (1, 1), θ = π/4, d = √2      → e^{π/4} − √2 ≈ 0.779
        //   D (4, 2) noisy: x − g = (2, 0), θ = 0,   d = 2       → 1 − 2 < 0, floored at 0
        //   E (0, 0) easy:  raw 1 (θ = 3π/4, d = 2√2 do not matter)
        var strategy = RawStrategy();
        var batch = new BatchScores([1, 2, 3, 4, 0], [10, 10, 10, 10, 10], [2, 3, 3, 2, 0]);

        var result = strategy.Weigh(batch, new(0));

        double[] raw = [1, Math.Exp(Math.PI / 2) + 1, Math.Exp(Math.PI / 4) - Math.Sqrt(2), 0, 1];
        var total = raw.Sum();
        for (var i = 0; i < raw.Length; i++) result.Weights[i].Should().BeApproximately(raw[i] / total, 1e-12, $"weight {i}");
        result.Temperature.Should().Be(double.PositiveInfinity);
        result.CapActive.Should().BeFalse();
        result.MaxWeightTimesM.Should().BeApproximately(5 * raw[1] / total, 1e-12);
        strategy.Name.Should().Be("cluster-heuristic");
    }

    [Fact]
    public void The_labels_in_the_hand_computed_example_are_the_mixtures_own()
    {
        var labeller = Labeller(new StatFeatures(FeatureTransform.Raw));
        new[] { (1.0, 2.0), (2.0, 3.0), (3.0, 3.0), (4.0, 2.0), (0.0, 0.0) }.Select(s => labeller.Assign(s.Item1, s.Item2).Label)
            .Should().Equal(SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy, SampleLabel.Noisy, SampleLabel.Easy);
        ComponentLabels.ByAscendingMeanLoss([[0.5, 1], [2, 3.5], [3.5, 2.5]]).Should().Equal(SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy);
    }

    [Fact]
    public void Angle_is_measured_from_the_plus_mean_loss_axis_and_distance_in_feature_space()
    {
        ClusterHeuristicStrategy.RawWeight(SampleLabel.Hard, 0, 0).Should().Be(1, "a sample at the global point has angle 0 and distance 0");
        ClusterHeuristicStrategy.RawWeight(SampleLabel.Noisy, 0, 0).Should().Be(1);
        ClusterHeuristicStrategy.RawWeight(SampleLabel.Hard, Math.PI, 2).Should().BeApproximately(Math.Exp(Math.PI) + 2, 1e-12);
        ClusterHeuristicStrategy.RawWeight(SampleLabel.Noisy, 1, 3).Should().Be(0, "a negative raw weight is floored");
        ClusterHeuristicStrategy.RawWeight(SampleLabel.Easy, 3, 100).Should().Be(1);

        // Two noisy samples mirrored across the mean-loss axis through g = (11/3, 2.5) have the same unsigned angle
        // atan2(1/2, 1/3) and distance, hence the same weight (a signed angle would give the lower one exp(−θ) − d < 0).
        var mirrored = RawStrategy().Weigh(new BatchScores([4, 4, 3], [1, 1, 1], [3, 2, 2.5]), new(0)).Weights;
        mirrored[0].Should().BeApproximately(mirrored[1], 1e-15);
        var (theta, d) = (Math.Atan2(0.5, 1.0 / 3), Math.Sqrt(1.0 / 9 + 0.25));
        var third = Math.Exp(Math.Atan2(0, -2.0 / 3)) - 2.0 / 3; // (3, 2.5) − g = (−2/3, 0): θ = π
        mirrored[0].Should().BeApproximately((Math.Exp(theta) - d) / (2 * (Math.Exp(theta) - d) + third), 1e-12);
    }

    [Fact]
    public void Standardised_features_make_the_weights_independent_of_the_statistics_scale()
    {
        var unit = new ClusterHeuristicStrategy(Labeller(new StatFeatures(FeatureTransform.Raw, [0, 0], [1, 1])));
        var scaled = new ClusterHeuristicStrategy(Labeller(new StatFeatures(FeatureTransform.Raw, [0, 0], [10, 100])));
        var batch = new BatchScores([1, 2, 3, 4, 0], [1, 1, 1, 1, 1], [2, 3, 3, 2, 0]);
        var rescaled = new BatchScores(batch.Losses.Select(l => 10 * l).ToArray(), batch.TokenCounts, batch.Variances!.Select(v => 100 * v).ToArray());

        var expected = unit.Weigh(batch, new(0)).Weights;
        var actual = scaled.Weigh(rescaled, new(0)).Weights;

        for (var i = 0; i < expected.Length; i++) actual[i].Should().BeApproximately(expected[i], 1e-12, $"weight {i}");
    }

    [Fact]
    public void Weights_are_non_negative_sum_to_one_and_easy_samples_weigh_alike()
    {
        var rng = new Random(5);
        foreach (var features in new[] { new StatFeatures(FeatureTransform.Raw), new StatFeatures(FeatureTransform.LogVariance, [2, 0.5], [1.5, 1]) })
        {
            var strategy = new ClusterHeuristicStrategy(Labeller(features));
            for (var trial = 0; trial < 50; trial++)
            {
                var m = 2 + rng.Next(30);
                var batch = new BatchScores(Enumerable.Range(0, m).Select(_ => rng.NextDouble() * 5).ToArray(), Enumerable.Range(0, m).Select(_ => 1L + rng.Next(100)).ToArray(),
                    Enumerable.Range(0, m).Select(_ => rng.NextDouble() * 5).ToArray());
                var w = strategy.Weigh(batch, new(trial)).Weights;

                w.Should().OnlyContain(v => v >= 0 && double.IsFinite(v));
                w.Sum().Should().BeApproximately(1, 1e-12);
                var easy = Enumerable.Range(0, m).Where(i => strategy.Labeller.Assign(batch.Losses[i], batch.Variances![i]).Label == SampleLabel.Easy).Select(i => w[i]).ToList();
                if (easy.Count > 1) easy.Should().OnlyContain(v => Math.Abs(v - easy[0]) < 1e-15, "every easy sample has raw weight 1");
            }
        }
    }

    [Fact]
    public void A_noisy_sample_far_from_the_global_point_weighs_less_than_a_hard_one_at_the_same_angle_and_distance()
    {
        // The same batch under two label maps: the middle component's sample is hard under one and noisy under the other.
        // Its weight relative to the easy sample (raw weight 1) is exp(θ) ± d.
        var batch = new BatchScores([0.5, 2, 3.5], [1, 1, 1], [1, 3.5, 2.5]);
        var asHard = new ClusterHeuristicStrategy(Labeller(new StatFeatures(FeatureTransform.Raw))).Weigh(batch, new(0)).Weights;
        var asNoisy = new ClusterHeuristicStrategy(Labeller(new StatFeatures(FeatureTransform.Raw), [SampleLabel.Easy, SampleLabel.Noisy, SampleLabel.Hard]))
            .Weigh(batch, new(0)).Weights;

        // g = (2, 7/3); the middle sample sits at (0, 7/6) from it: θ = π/2, d = 7/6.
        var (angle, distance) = (Math.PI / 2, 7.0 / 6);
        (asHard[1] / asHard[0]).Should().BeApproximately(Math.Exp(angle) + distance, 1e-12);
        (asNoisy[1] / asNoisy[0]).Should().BeApproximately(Math.Exp(angle) - distance, 1e-12);
        (asNoisy[1] / asNoisy[0]).Should().BeLessThan(asHard[1] / asHard[0]);
    }

    [Fact]
    public void When_every_raw_weight_is_zero_the_batch_falls_back_to_uniform()
    {
        // Two noisy samples (12, 0) and (12, 10) around g = (12, 5): θ = π/2, d = 5 > e^{π/2} ≈ 4.81, so both raw weights are 0.
        var strategy = RawStrategy();
        strategy.Labeller.Assign(12, 0).Label.Should().Be(SampleLabel.Noisy);
        strategy.Labeller.Assign(12, 10).Label.Should().Be(SampleLabel.Noisy);

        strategy.Weigh(new BatchScores([12, 12], [1, 1], [0, 10]), new(0)).Weights.Should().Equal(0.5, 0.5);
        // Closer in, d = 4 < e^{π/2}: the same two samples keep positive, equal weights.
        strategy.Weigh(new BatchScores([12, 12], [1, 1], [1, 9]), new(0)).Weights.Should().Equal(0.5, 0.5);
        // A single sample sits at its own global point: θ = 0, d = 0.
        strategy.Weigh(new BatchScores([12], [1], [0]), new(0)).Weights.Should().Equal(1.0);
    }

    [Fact]
    public void A_batch_without_variances_is_refused()
    {
        var act = () => RawStrategy().Weigh(new BatchScores([1, 2], [1, 1]), new(0));
        act.Should().Throw<ArgumentException>().WithMessage("*variance*");
        var negative = () => RawStrategy().Weigh(new BatchScores([1, 2], [1, 1], [1, -1]), new(0));
        negative.Should().Throw<ArgumentException>();
    }
}
