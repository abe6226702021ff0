using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Xunit;
using static Reweighting.Tests.Draws;

namespace Reweighting.Tests;

public sealed class GmmFitTests
{
    // Three well-separated 2-D Gaussians with distinct shapes, as (weight, mean, covariance).
    private static readonly (double W, double[] Mu, double[][] Sigma)[] Truth =
    [
        (0.6, [2.0, 0.5], [[0.04, 0.01], [0.01, 0.02]]),
        (0.3, [3.5, 1.5], [[0.09, -0.02], [-0.02, 0.05]]),
        (0.1, [6.0, 0.2], [[0.25, 0.0], [0.0, 0.01]]),
    ];

    private static double[] Sample(int n, int seed, int[] order) => Sample(n, seed, order, out _);

    private static double[] Sample(int n, int seed, int[] order, out int[] drawn)
    {
        drawn = new int[Truth.Length];
        var rng = new Random(seed);
        var x = new double[2 * n];
        for (var i = 0; i < n; i++)
        {
            // Components are drawn in a permuted order so the fit cannot rely on the truth's ordering.
            var u = rng.NextDouble();
            var c = order[0];
            double acc = 0;
            foreach (var candidate in order)
            {
                acc += Truth[candidate].W;
                if (u <= acc) { c = candidate; break; }
            }
            drawn[c]++;
            double z1 = Normal(rng), z2 = Normal(rng);
            var s = Truth[c].Sigma;
            var l11 = Math.Sqrt(s[0][0]);
            var l21 = s[1][0] / l11;
            var l22 = Math.Sqrt(s[1][1] - l21 * l21);
            x[2 * i] = Truth[c].Mu[0] + l11 * z1;
            x[2 * i + 1] = Truth[c].Mu[1] + l21 * z1 + l22 * z2;
        }
        return x;
    }

    [Theory]
    [InlineData(new[] { 0, 1, 2 })]
    [InlineData(new[] { 2, 0, 1 })]
    public void EM_recovers_a_known_mixture_whatever_the_component_order(int[] order)
    {
        var fit = GaussianMixtureFitter.Fit(Sample(20_000, 7, order, out var drawn), 2, new GmmFitOptions(Seed: 3));
        fit.Converged.Should().BeTrue();
        for (var t = 0; t < Truth.Length; t++)
        {
            var truth = Truth[t];
            // Match each true component to the nearest fitted centre.
            var j = Enumerable.Range(0, 3).MinBy(c => Distance(fit.Parameters.Means[c], truth.Mu));
            Distance(fit.Parameters.Means[j], truth.Mu).Should().BeLessThan(0.02);
            fit.Parameters.Weights[j].Should().BeApproximately(drawn[t] / 20_000.0, 0.003, "the share of the sample drawn from it");
            fit.Parameters.Covariances[j][0][0].Should().BeApproximately(truth.Sigma[0][0], 0.1 * truth.Sigma[0][0] + 0.002);
            fit.Parameters.Covariances[j][1][0].Should().BeApproximately(truth.Sigma[1][0], 0.005);
        }
    }

    [Fact]
    public void The_reported_log_likelihood_is_the_mixtures_mean_log_density_and_bic_prefers_the_true_k()
    {
        var x = Sample(5_000, 11, [0, 1, 2]);
        var three = GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Seed: 1));
        var mixture = GaussianMixture.FromParameters(three.Parameters);
        var mean = Enumerable.Range(0, 5_000).Average(i => mixture.LogLikelihood(x.AsSpan(2 * i, 2)));
        three.MeanLogLikelihood.Should().BeApproximately(mean, 1e-9);
        var two = GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Components: 2, Seed: 1));
        var five = GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Components: 5, Seed: 1));
        three.Bic.Should().BeLessThan(two.Bic).And.BeLessThan(five.Bic);
    }

    [Fact]
    public void Choosing_k_by_bic_finds_the_true_three_and_reports_every_k_tried()
    {
        var x = Sample(5_000, 13, [2, 0, 1]);
        var points = Enumerable.Range(0, 5_000).Select(i => (x[2 * i], x[2 * i + 1])).ToList();
        var search = LabellingDefaults.Settings with { FeatureSetting = "raw", MinComponents = 1, MaxComponents = 6 };
        var (best, _, bics, _) = MixtureLabelling.FitComponents(points, search, new GmmFitOptions(Seed: 4), null);

        best.Parameters.Components.Should().Be(3);
        bics.Select(b => b.Components).Should().Equal(1, 2, 3, 4, 5, 6);
        best.Bic.Should().Be(bics.Min(b => b.Bic));
        var empty = () =>
            MixtureLabelling.FitComponents(points, search with { MinComponents = 3, MaxComponents = 2 }, new GmmFitOptions(), null);
        empty.Should().Throw<ArgumentException>().WithMessage("*empty*");
    }

    [Fact]
    public void A_warm_start_from_a_converged_fit_converges_at_once_to_the_same_mixture()
    {
        var x = Sample(5_000, 12, [0, 1, 2]);
        var cold = GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Seed: 2));
        var warm = GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Seed: 99), warmStart: cold.Parameters);
        warm.Iterations.Should().BeLessThanOrEqualTo(3);
        warm.MeanLogLikelihood.Should().BeApproximately(cold.MeanLogLikelihood, 1e-6);
        Assert.Throws<ArgumentException>(() => GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Components: 2), warmStart: cold.Parameters));
    }

    [Fact]
    public void Fits_are_deterministic_for_a_seed_and_reject_bad_input()
    {
        var x = Sample(2_000, 13, [0, 1, 2]);
        GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Seed: 5)).MeanLogLikelihood
            .Should().Be(GaussianMixtureFitter.Fit(x, 2, new GmmFitOptions(Seed: 5)).MeanLogLikelihood);
        Assert.Throws<ArgumentException>(() => GaussianMixtureFitter.Fit(new double[] { 1, 2, 3 }, 2, new GmmFitOptions()));
        Assert.Throws<ArgumentException>(() => GaussianMixtureFitter.Fit(new double[] { 1, double.NaN, 3, 4, 5, 6 }, 2, new GmmFitOptions()));
        Assert.Throws<ArgumentException>(() => GaussianMixtureFitter.Fit(new double[] { 1, 2, 3, 4 }, 2, new GmmFitOptions()));
    }

    private static double Distance(double[] a, double[] b) => Math.Sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]));
}

public sealed class LossStatisticsTests
{
    [Fact]
    public void Merged_window_statistics_equal_the_statistics_of_all_tokens()
    {
        var rng = new Random(4);
        var losses = Enumerable.Range(0, 10_001).Select(_ => (float)(1000 + rng.NextDouble())).ToArray(); // large mean, small spread
        var whole = LossStatistics.Of(losses);
        var merged = LossStatistics.Empty;
        for (var start = 0; start < losses.Length; start += 97)
            merged = merged.Merge(LossStatistics.Of(losses.AsSpan(start, Math.Min(97, losses.Length - start))));
        merged.Count.Should().Be(10_001);
        merged.Mean.Should().BeApproximately(whole.Mean, 1e-9);
        merged.Variance.Should().BeApproximately(whole.Variance, 1e-9);
        var exactMean = losses.Average(l => (double)l);
        whole.Variance.Should().BeApproximately(losses.Average(l => (l - exactMean) * (l - exactMean)), 1e-9, "population variance");
        whole.Variance.Should().BeApproximately(1.0 / 12, 0.005);
    }

    [Fact]
    public void Hand_computed_statistics()
    {
        var s = LossStatistics.Of(new float[] { 1, 2, 3, 6 });
        s.Mean.Should().Be(3);
        s.Variance.Should().Be(3.5); // (4+1+0+9)/4
        LossStatistics.Of(new float[] { 1, 2 }).Merge(LossStatistics.Of(new float[] { 3, 6 })).Should().Be(s);
        LossStatistics.Empty.Merge(s).Should().Be(s);
        double.IsNaN(LossStatistics.Empty.Variance).Should().BeTrue();
    }

    [Fact]
    public void Merged_window_statistics_per_byte_equal_those_of_the_whole_document()
    {
        // Each predicted token covers 1 to 8 bytes, as BPE tokens do; windows of 97 tokens, the last one short.
        var rng = new Random(6);
        var losses = Enumerable.Range(0, 10_001).Select(_ => (float)(1000 + rng.NextDouble())).ToArray();
        var tokenBytes = Enumerable.Range(0, losses.Length).Select(_ => (long)rng.Next(1, 9)).ToArray();
        var whole = LossStatistics.Of(losses, tokenBytes.Sum());
        var merged = LossStatistics.Empty;
        for (var start = 0; start < losses.Length; start += 97)
        {
            var length = Math.Min(97, losses.Length - start);
            merged = merged.Merge(LossStatistics.Of(losses.AsSpan(start, length), tokenBytes.Skip(start).Take(length).Sum()));
        }

        merged.Bytes.Should().Be(whole.Bytes).And.Be(tokenBytes.Sum());
        var exactLossPerByte = losses.Sum(l => (double)l) / tokenBytes.Sum();
        whole.LossPerByte.Should().BeApproximately(exactLossPerByte, 1e-9);
        merged.LossPerByte.Should().BeApproximately(whole.LossPerByte, 1e-9);
        merged.BytesPerToken.Should().Be((double)tokenBytes.Sum() / losses.Length).And.Be(whole.BytesPerToken);
        merged.Mean.Should().BeApproximately(whole.Mean, 1e-9, "counting bytes leaves the per-token statistics as they were");
        merged.Variance.Should().BeApproximately(whole.Variance, 1e-9);
    }

    [Fact]
    public void Hand_computed_statistics_per_byte()
    {
        // Losses 1, 2, 3, 6 (sum 12) over tokens of 1, 3, 2 and 2 bytes (8 bytes).
        var s = LossStatistics.Of(new float[] { 1, 2, 3, 6 }, 8);

        s.LossPerByte.Should().Be(1.5);
        s.BytesPerToken.Should().Be(2);
        LossStatistics.Of(new float[] { 1, 2 }, 4).Merge(LossStatistics.Of(new float[] { 3, 6 }, 4)).Should().Be(s);
        LossStatistics.Empty.Merge(s).Should().Be(s);
        s.Merge(LossStatistics.Of([], 0)).Should().Be(s, "an empty window adds nothing");
    }

    [Fact]
    public void Bytes_that_were_not_counted_give_no_statistics_per_byte()
    {
        var s = LossStatistics.Of(new float[] { 1, 2, 3, 6 });

        s.Bytes.Should().Be(0);
        double.IsNaN(s.LossPerByte).Should().BeTrue();
        double.IsNaN(s.BytesPerToken).Should().BeTrue();
        double.IsNaN(LossStatistics.Empty.LossPerByte).Should().BeTrue();
    }

    [Fact]
    public void Merging_a_window_with_counted_bytes_and_one_without_is_refused()
    {
        var counted = LossStatistics.Of(new float[] { 1, 2 }, 5);
        var uncounted = LossStatistics.Of(new float[] { 3 });

        counted.Invoking(c => c.Merge(uncounted))
            .Should().Throw<ArgumentException>().WithMessage("*counted its bytes and the other did not*");
        uncounted.Invoking(u => u.Merge(counted)).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Negative_bytes_or_bytes_without_losses_are_refused()
    {
        ((Action)(() => LossStatistics.Of(new float[] { 1 }, -1))).Should().Throw<ArgumentOutOfRangeException>();
        ((Action)(() => LossStatistics.Of([], 3))).Should().Throw<ArgumentOutOfRangeException>().WithMessage("*without any scored token*");
    }
}
