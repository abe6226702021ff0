using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Scorer.Labelling;
using Xunit;

namespace Reweighting.Scorer.Tests;

public sealed class LabellingWarmStartTests
{
    [Fact]
    public void A_previous_mixture_carried_into_a_new_standardisation_gives_the_same_responsibilities()
    {
        var first = LabellingTestData.Draw(400, seed: 1).Select(s => (s.Mean, s.Variance)).ToList();
        var later = LabellingTestData.Draw(400, seed: 2).Select(s => (s.Mean + 0.5, s.Variance * 1.5)).ToList();
        var previous = StatisticsMixture.Fit(first, GmmFeatureSetting.Default, new GmmFitOptions(Seed: 1)).Fit.Parameters;
        var (mu, sd) = StatisticsMixture.Standardisation(later, FeatureTransform.Raw);
        mu.Should().NotEqual(previous.StandardizeMean, "the test needs a different standardisation");

        var carried = ReservoirFit.IntoFeatureSpace(previous, FeatureTransform.Raw, mu, sd, components: 3)!;
        var before = GmmLabeller.FromModel(Model(previous));
        var after = GmmLabeller.FromModel(Model(carried with { StandardizeMean = mu, StandardizeStd = sd }));

        foreach (var (mean, variance) in later.Take(50).Concat([(0.0, 0.0), (10.0, 12.0)]))
        {
            var expected = before.Assign(mean, variance).Responsibilities;
            var actual = after.Assign(mean, variance).Responsibilities;
            for (var k = 0; k < 3; k++) actual[k].Should().BeApproximately(expected[k], 1e-9, $"component {k} at ({mean}, {variance})");
        }
    }

    [Fact]
    public void Mixtures_that_cannot_be_matched_are_not_warm_starts()
    {
        var stats = LabellingTestData.Draw(300, seed: 3).Select(s => (s.Mean, s.Variance)).ToList();
        var standardised = StatisticsMixture.Fit(stats, GmmFeatureSetting.Default, new GmmFitOptions()).Fit.Parameters;
        var (mu, sd) = StatisticsMixture.Standardisation(stats, FeatureTransform.Raw);

        ReservoirFit.IntoFeatureSpace(standardised, FeatureTransform.Raw, mu, sd, components: 2).Should().BeNull("K differs");
        ReservoirFit.IntoFeatureSpace(standardised, FeatureTransform.LogVariance, mu, sd, components: 3).Should().BeNull("the transform differs");
        ReservoirFit.IntoFeatureSpace(standardised, FeatureTransform.Raw, null, null, components: 3).Should().BeNull("one is standardised");
        ReservoirFit.Run(stats, GmmFeatureSetting.Get("log-variance-std"), new GmmFitOptions(), standardised).WarmStarted.Should().BeFalse();
        ReservoirFit.Run(stats, GmmFeatureSetting.Default, new GmmFitOptions(), standardised).WarmStarted.Should().BeTrue();
    }

    private static GmmModel Model(GmmParameters p) => new(1, "m", p, LabelRules.Default.Map(p), 1, 0, DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_warm_start_that_would_lock_in_a_wrong_partition_loses_to_a_cold_fit()
    {
        // Four tight, well separated clusters; the previous version (fitted on an early sample) had K = 4 with two
        // components on one cluster and one component spread over two others: EM from there keeps that partition.
        var random = new Random(5);
        (double, double) Around(double m, double v) => (m + 0.03 * (random.NextDouble() - 0.5), v + 0.03 * (random.NextDouble() - 0.5));
        var centres = new[] { (3.0, 2.5), (3.9, 3.8), (5.0, 3.1), (5.6, 1.2) };
        var sample = Enumerable.Range(0, 800).Select(i => Around(centres[i % 4].Item1, centres[i % 4].Item2)).ToList();
        var setting = GmmFeatureSetting.Get("raw");
        var bad = new GmmParameters([0.25, 0.25, 0.25, 0.25],
            [[3.0, 2.49], [3.0, 2.51], [4.45, 3.45], [5.6, 1.2]],
            [[[1e-4, 0], [0, 1e-4]], [[1e-4, 0], [0, 1e-4]], [[0.4, 0.0], [0.0, 0.2]], [[1e-4, 0], [0, 1e-4]]], FeatureTransform.Raw);
        var options = new GmmFitOptions(Components: 4, Seed: 1);

        var cold = StatisticsMixture.Fit(sample, setting, options).Fit;
        var refit = ReservoirFit.Run(sample, setting, options, bad);

        refit.Fit.MeanLogLikelihood.Should().BeGreaterThanOrEqualTo(cold.MeanLogLikelihood - 1e-9, "the refit is never less likely than a cold fit");
        refit.WarmStarted.Should().BeFalse("the warm start stayed in the wrong partition, so the cold fit was kept");
    }
}
