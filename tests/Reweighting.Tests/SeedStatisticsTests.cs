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
}
