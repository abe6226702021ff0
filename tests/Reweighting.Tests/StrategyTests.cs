using FluentAssertions;
using Reweighting.Strategies;
using Xunit;

namespace Reweighting.Tests;

public sealed class StrategyTests
{
    private static readonly LossShapeOptions AtTemperatureOne = new(FinalTemperature: 1, AnnealSteps: 0);
    private static readonly BatchScores OneTwoThree = new([1, 2, 3], [10, 10, 10]);

    private static void ShouldBe(double[] actual, params double[] expected)
    {
        actual.Should().HaveCount(expected.Length);
        for (var i = 0; i < expected.Length; i++) actual[i].Should().BeApproximately(expected[i], 1e-12, $"weight {i}");
    }

    [Fact]
    public void Hand_computed_weights_of_the_three_loss_shapes()
    {
        // h = (-1, 0, 1). LinUpper f = (0, 1, 1); Quadratic f = (0, 1, 0); Extremes f = (1, 0, 1); w = softmax(f / 1).
        var e = Math.Exp(-1);
        ShouldBe(new LinUpperStrategy(AtTemperatureOne).Weigh(OneTwoThree, new(0)).Weights, e / (e + 2), 1 / (e + 2), 1 / (e + 2));
        ShouldBe(new QuadraticStrategy(AtTemperatureOne).Weigh(OneTwoThree, new(0)).Weights, e / (2 * e + 1), 1 / (2 * e + 1), e / (2 * e + 1));
        ShouldBe(new ExtremesStrategy(AtTemperatureOne).Weigh(OneTwoThree, new(0)).Weights, 1 / (e + 2), e / (e + 2), 1 / (e + 2));
        ShouldBe(new UniformStrategy().Weigh(OneTwoThree, new(0)).Weights, 1.0 / 3, 1.0 / 3, 1.0 / 3);
    }

    [Fact]
    public void Weights_are_non_negative_sum_to_one_and_respect_the_two_over_m_bound_even_at_tiny_temperatures()
    {
        var rng = new Random(3);
        foreach (var strategy in new IWeightingStrategy[]
                 {
                     new LinUpperStrategy(new(0.01, AnnealSteps: 0)), new QuadraticStrategy(new(0.01, AnnealSteps: 0)),
                     new ExtremesStrategy(new(0.01, AnnealSteps: 0)), new UniformStrategy(),
                 })
        for (var trial = 0; trial < 50; trial++)
        {
            var m = 2 + rng.Next(30);
            var batch = new BatchScores(Enumerable.Range(0, m).Select(_ => rng.NextDouble() * 8).ToArray(), Enumerable.Range(0, m).Select(_ => 1L + rng.Next(500)).ToArray());
            var w = strategy.Weigh(batch, new(10)).Weights;
            w.Should().OnlyContain(v => v >= 0);
            w.Sum().Should().BeApproximately(1, 1e-9);
            (w.Max() * m).Should().BeLessThanOrEqualTo(2 + 1e-9, strategy.Name);
        }
        var single = new QuadraticStrategy(new(0.01, AnnealSteps: 0)).Weigh(new BatchScores([1, 2, 3], [1, 1, 1]), new(0));
        single.CapActive.Should().BeTrue("one middle sample would take almost all the weight");
        single.MaxWeightTimesM.Should().BeApproximately(2, 1e-9);
    }

    [Fact]
    public void An_infinite_temperature_burn_in_and_identical_losses_give_uniform_weights()
    {
        var batch = new BatchScores([0.5, 4, 2, 9], [3, 1, 4, 1]);
        var options = new LossShapeOptions(0.4, InitialTemperature: 1e12, BurnInSteps: 5, AnnealSteps: 100);
        ShouldBe(new ExtremesStrategy(options).Weigh(batch, new(4)).Weights, 0.25, 0.25, 0.25, 0.25);     // burn-in
        var nearlyUniform = new ExtremesStrategy(options).Weigh(batch, new(5)).Weights;                    // r = 1e12
        nearlyUniform.Should().OnlyContain(v => Math.Abs(v - 0.25) < 1e-9);
        ShouldBe(new LinUpperStrategy(AtTemperatureOne).Weigh(new BatchScores([2, 2, 2], [1, 1, 1]), new(0)).Weights, 1.0 / 3, 1.0 / 3, 1.0 / 3);
    }

    [Fact]
    public void Quadratic_peaks_at_the_middle_loss_and_extremes_at_both_ends()
    {
        var batch = new BatchScores([1, 2, 3, 4, 5], [1, 1, 1, 1, 1]);
        var q = new QuadraticStrategy(AtTemperatureOne).Weigh(batch, new(0)).Weights;
        Array.IndexOf(q, q.Max()).Should().Be(2);
        var x = new ExtremesStrategy(AtTemperatureOne).Weigh(batch, new(0)).Weights;
        x[0].Should().BeApproximately(x[4], 1e-12).And.BeGreaterThan(x[2]);
        var l = new LinUpperStrategy(AtTemperatureOne).Weigh(batch, new(0)).Weights;
        l[0].Should().BeLessThan(l[1]);
        l[2].Should().BeApproximately(l[4], 1e-12, "LinUpper treats the upper half alike");
    }

    [Fact]
    public void The_temperature_anneals_linearly_from_its_start_to_its_final_value_after_burn_in()
    {
        var o = new LossShapeOptions(FinalTemperature: 0.4, InitialTemperature: 100, BurnInSteps: 10, AnnealSteps: 100);
        o.TemperatureAt(9).Should().Be(double.PositiveInfinity);
        o.TemperatureAt(10).Should().Be(100);
        o.TemperatureAt(60).Should().BeApproximately(50.2, 1e-12);
        o.TemperatureAt(110).Should().BeApproximately(0.4, 1e-12);
        o.TemperatureAt(5000).Should().BeApproximately(0.4, 1e-12);
    }

    [Fact]
    public void Uniform_weights_make_the_weighted_loss_the_ordinary_token_mean()
    {
        var batch = new BatchScores([1.0, 3.0], [30, 10]);
        var a = new UniformStrategy().Weigh(batch, new(0)).LossCoefficients(batch.TokenCounts);
        (a[0] * 1.0 + a[1] * 3.0).Should().BeApproximately((30 * 1.0 + 10 * 3.0) / 40, 1e-12);
        new BatchWeights([0.5, 0.5], 1, false).MaxWeightTimesM.Should().Be(1);
        Assert.Throws<ArgumentException>(() => new UniformStrategy().Weigh(new BatchScores([1.0], [0]), new(0)));
        Assert.Throws<ArgumentException>(() => new UniformStrategy().Weigh(new BatchScores([double.NaN], [1]), new(0)));
    }

    [Fact]
    public void The_cap_redistributes_the_excess_proportionally()
    {
        var w = new[] { 0.7, 0.2, 0.1 };
        WeightCap.Apply(w, 0.5).Should().BeTrue();
        ShouldBe(w, 0.5, 0.2 + 0.2 * 2 / 3, 0.1 + 0.2 / 3);
        var u = new[] { 0.25, 0.25, 0.25, 0.25 };
        WeightCap.Apply(u, 0.5).Should().BeFalse();
    }
}
