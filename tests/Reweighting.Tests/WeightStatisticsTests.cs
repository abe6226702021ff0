using FluentAssertions;
using Reweighting.Evaluation;
using Reweighting.Strategies;
using Xunit;

namespace Reweighting.Tests;

public sealed class WeightStatisticsTests
{
    private static BatchWeights Weights(params double[] w) => new(w, 1, false);

    [Fact]
    public void Uniform_weights_have_max_weight_times_m_one_and_entropy_one()
    {
        var statistics = new WeightStatistics();
        statistics.Observe(Weights(0.25, 0.25, 0.25, 0.25));
        statistics.Observe(Weights(0.5, 0.5));
        var summary = statistics.Summary()!;
        summary.MaxWeightTimesM.Should().BeApproximately(1, 1e-12);
        summary.MeanEntropy.Should().BeApproximately(1, 1e-12);
        double.IsNaN(summary.NoisyWeightShare).Should().BeTrue("no batch told which samples are noisy");
    }

    [Fact]
    public void All_weight_on_one_sample_has_entropy_zero_and_the_largest_max_over_batches_is_kept()
    {
        var statistics = new WeightStatistics();
        statistics.Observe(Weights(1, 0, 0, 0));
        statistics.Observe(Weights(0.25, 0.25, 0.25, 0.25));
        var summary = statistics.Summary()!;
        summary.MaxWeightTimesM.Should().Be(4);
        summary.MeanEntropy.Should().BeApproximately(0.5, 1e-12, "the mean of entropies 0 and 1");
        statistics.Batches.Should().Be(2);
    }

    [Fact]
    public void The_noisy_share_weighs_each_sample_by_its_noisy_fraction_and_averages_over_batches()
    {
        var statistics = new WeightStatistics();
        // Sample 0 is all noise, sample 1 half: 0.5·1 + 0.5·0.5 = 0.75; the second batch puts 0.2 on pure noise.
        statistics.Observe(Weights(0.5, 0.5), i => i == 0 ? 1 : 0.5);
        statistics.Observe(Weights(0.2, 0.8), i => i == 0 ? 1 : 0);
        statistics.Summary()!.NoisyWeightShare.Should().BeApproximately((0.75 + 0.2) / 2, 1e-12);
    }

    [Fact]
    public void The_clean_effective_share_measures_how_evenly_the_clean_samples_share_their_weight()
    {
        var statistics = new WeightStatistics();
        // Clean samples 1..3 weigh the same (share 1) however little the noisy sample 0 gets.
        statistics.Observe(Weights(0.01, 0.33, 0.33, 0.33), i => i == 0 ? 1 : 0);
        statistics.Summary()!.CleanEffectiveShare.Should().BeApproximately(1, 1e-12);
        // Two clean samples at 0.6 and 0.2 (sample 0 half noisy, left out): (0.8)² / (2 · 0.4) = 0.8; mean (1 + 0.8) / 2.
        statistics.Observe(Weights(0.2, 0.6, 0.2), i => i == 0 ? 0.5 : 0);
        statistics.Summary()!.CleanEffectiveShare.Should().BeApproximately(0.9, 1e-12);
        var untracked = new WeightStatistics();
        untracked.Observe(Weights(0.5, 0.5));
        double.IsNaN(untracked.Summary()!.CleanEffectiveShare).Should().BeTrue("without noise labels there is no clean set");
    }

    [Fact]
    public void A_run_without_batches_has_no_summary_and_a_single_sample_batch_counts_as_uniform()
    {
        new WeightStatistics().Summary().Should().BeNull();
        var statistics = new WeightStatistics();
        statistics.Observe(Weights(1));
        statistics.Summary()!.MeanEntropy.Should().Be(1);
    }
}
