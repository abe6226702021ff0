using FluentAssertions;
using Reweighting.Evaluation;
using Xunit;

namespace Reweighting.Tests;

public sealed class SeedStatisticsTests
{
    [Theory]
    [InlineData(1, 12.706)]
    [InlineData(2, 4.303)]
    [InlineData(4, 2.776)]
    [InlineData(10, 2.228)]
    [InlineData(15, 2.131)]
    [InlineData(20, 2.086)]
    [InlineData(30, 2.042)]
    [InlineData(1000, 1.960)]
    public void Student_t_975_matches_the_table_at_its_rows(int df, double quantile) =>
        SeedStatistics.StudentT975(df).Should().Be(quantile);

    [Fact]
    public void Student_t_975_is_conservative_between_rows_and_falls_towards_the_normal()
    {
        // Between tabulated rows the quantile of the row below (the larger one) is used.
        SeedStatistics.StudentT975(11).Should().Be(SeedStatistics.StudentT975(15));
        SeedStatistics.StudentT975(21).Should().Be(SeedStatistics.StudentT975(30));
        Enumerable.Range(1, 40).Select(SeedStatistics.StudentT975).Should().BeInDescendingOrder();
        FluentActions.Invoking(() => SeedStatistics.StudentT975(0)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Mean_std_uses_the_sample_standard_deviation_and_zero_for_one_value()
    {
        var (mean, std) = SeedStatistics.MeanStd([2, 4, 4, 4, 5, 5, 7, 9]);
        mean.Should().Be(5);
        std.Should().BeApproximately(Math.Sqrt(32.0 / 7), 1e-12);
        SeedStatistics.MeanStd([3.5]).Should().Be((3.5, 0));
    }

    [Fact]
    public void The_confidence_half_width_is_t_times_the_standard_error()
    {
        // Three runs: std 1, so the half-width is t(2) / sqrt 3.
        SeedStatistics.ConfidenceHalfWidth95([1, 2, 3]).Should().BeApproximately(4.303 / Math.Sqrt(3), 1e-12);
        double.IsNaN(SeedStatistics.ConfidenceHalfWidth95([1.0])).Should().BeTrue();
    }

    [Fact]
    public void A_ratio_of_exactly_proportional_pairs_has_a_zero_width_interval()
    {
        double[] headroom = [0.10, 0.14, 0.08, 0.12, 0.11];
        var gain = headroom.Select(h => 0.5 * h).ToArray();

        var (ratio, low, high) = SeedStatistics.RatioConfidence95(gain, headroom);

        ratio.Should().BeApproximately(0.5, 1e-12);
        low!.Value.Should().BeApproximately(0.5, 1e-9);
        high!.Value.Should().BeApproximately(0.5, 1e-9);
    }

    [Fact]
    public void Fiellers_interval_covers_the_true_ratio_about_95_percent_of_the_time()
    {
        var random = new Random(17);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        int covered = 0, bounded = 0;
        const int trials = 4000;
        for (var trial = 0; trial < trials; trial++)
        {
            // Five seeds: headroom 0.1 ± 0.02, gain 0.4 × headroom plus its own noise.
            var headroom = Enumerable.Range(0, 5).Select(_ => 0.1 + 0.02 * Normal()).ToArray();
            var gain = headroom.Select(h => 0.4 * h + 0.015 * Normal()).ToArray();
            var (_, low, high) = SeedStatistics.RatioConfidence95(gain, headroom);
            if (low is null) continue;
            bounded++;
            if (low <= 0.4 && 0.4 <= high) covered++;
        }
        bounded.Should().Be(trials, "a headroom of 5 standard errors is always significant");
        ((double)covered / bounded).Should().BeInRange(0.93, 0.97);
    }

    [Fact]
    public void A_ratio_over_a_headroom_indistinguishable_from_zero_is_unbounded()
    {
        var (ratio, low, high) = SeedStatistics.RatioConfidence95([0.01, 0.02, -0.01], [0.05, -0.04, 0.01]);

        ratio.Should().BeApproximately(0.02 / 0.02, 1e-12);
        low.Should().BeNull();
        high.Should().BeNull();
        double.IsNaN(SeedStatistics.RatioConfidence95([1.0], [1.0]).Ratio).Should().BeTrue();
        FluentActions.Invoking(() => SeedStatistics.RatioConfidence95([1, 2], [1])).Should().Throw<ArgumentException>();
    }
}
