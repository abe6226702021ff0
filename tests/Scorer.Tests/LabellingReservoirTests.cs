using FluentAssertions;
using Reweighting.Scorer.Labelling;
using Xunit;

namespace Reweighting.Scorer.Tests;

public sealed class LabellingReservoirTests
{
    [Fact]
    public void The_reservoir_holds_everything_until_it_is_full()
    {
        var reservoir = new Reservoir<(double Mean, double Variance)>(capacity: 10, seed: 1);
        for (var i = 0; i < 7; i++) reservoir.Add((i, 0));

        reservoir.Snapshot().Select(s => s.Mean).Should().Equal(0, 1, 2, 3, 4, 5, 6);
        reservoir.Seen.Should().Be(7);
    }

    [Fact]
    public void The_reservoir_is_a_uniform_sample_of_the_stream()
    {
        // 100,000 items in order, a sample of 2,000: every tenth of the stream should hold about 200 of them.
        const int n = 100_000, capacity = 2_000, bins = 10;
        var reservoir = new Reservoir<(double Mean, double Variance)>(capacity, seed: 3);
        for (var i = 0; i < n; i++) reservoir.Add((i, 0));

        var sample = reservoir.Snapshot();
        sample.Should().HaveCount(capacity);
        sample.Select(s => s.Mean).Should().OnlyHaveUniqueItems();
        var counts = new double[bins];
        foreach (var (mean, _) in sample) counts[(int)(mean / (n / bins))]++;
        var expected = capacity / (double)bins;
        var chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // 27.88 is the 0.999 quantile of chi-square with 9 degrees of freedom; an Algorithm R that kept only the first
        // or the last items would score in the thousands.
        chiSquare.Should().BeLessThan(27.88, $"bin counts {string.Join(", ", counts)}");
        // A late item is as likely to be kept as an early one.
        sample.Average(s => s.Mean).Should().BeApproximately(n / 2.0, n * 0.03);
    }

    [Fact]
    public void The_reservoir_is_deterministic_by_seed()
    {
        static double[] Run(int seed)
        {
            var reservoir = new Reservoir<(double Mean, double Variance)>(500, seed);
            for (var i = 0; i < 20_000; i++) reservoir.Add((i, i * 0.5));
            return reservoir.Snapshot().Select(s => s.Mean).ToArray();
        }

        Run(11).Should().Equal(Run(11));
        Run(11).Should().NotEqual(Run(12));
    }

    [Fact]
    public void A_reseeded_reservoir_continues_as_if_it_had_seen_the_population()
    {
        var reservoir = new Reservoir<(double Mean, double Variance)>(100, seed: 5);
        reservoir.Reseed(Enumerable.Range(0, 100).Select(i => ((double)i, 0.0)).ToList(), population: 10_000);
        for (var i = 0; i < 10_000; i++) reservoir.Add((-1, 0));

        // 10,000 new items after 10,000 represented ones: about half the sample is new.
        reservoir.Seen.Should().Be(20_000);
        reservoir.Snapshot().Count(s => s.Mean < 0).Should().BeInRange(35, 65);
        var act = () => reservoir.Reseed([(1, 1)], population: 10_000);
        act.Should().Throw<ArgumentException>("a population larger than the capacity fills the reservoir");
    }
}
