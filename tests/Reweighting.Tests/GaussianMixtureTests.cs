using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Tests;

public sealed class GaussianMixtureTests
{
    // Hand-derived values are exact up to rounding of a few operations.
    private const double HandTolerance = 1e-12;
    // The fast path (Cholesky, log space) against the textbook formula (explicit inverse, densities): same maths, other rounding.
    private const double ReferenceTolerance = 1e-10;

    private static readonly double[][] Identity2 = [[1, 0], [0, 1]];
    private static readonly double[][] Full = [[4, 2], [2, 3]]; // det 8, inverse (1/8)[[3,-2],[-2,4]]

    [Fact]
    public void Log_sum_exp_stays_finite_for_huge_and_tiny_terms()
    {
        LogMath.LogSumExp([1000, 1000]).Should().BeApproximately(1000 + Math.Log(2), HandTolerance);
        LogMath.LogSumExp([-1000, -1000]).Should().BeApproximately(-1000 + Math.Log(2), HandTolerance);
        LogMath.LogSumExp([0, Math.Log(3)]).Should().BeApproximately(Math.Log(4), HandTolerance);
        LogMath.LogSumExp([]).Should().Be(double.NegativeInfinity);
    }

    [Fact]
    public void Cholesky_gives_the_hand_computed_factor_determinant_and_distance()
    {
        var factor = CholeskyFactor.Decompose(Full); // L = [[2, 0], [1, sqrt 2]]

        factor.LogDeterminant.Should().BeApproximately(Math.Log(8), HandTolerance);
        // (1,1) Σ⁻¹ (1,1)ᵀ = (3 - 2 - 2 + 4) / 8
        factor.SquaredMahalanobis([2, 3], [1, 2]).Should().BeApproximately(3.0 / 8, HandTolerance);
    }

    [Fact]
    public void Log_likelihood_of_a_full_covariance_component_matches_the_hand_computed_value()
    {
        var gmm = new GaussianMixture([1.0], [[1, 2]], [Full]);

        // log N(x | mu, Σ) = -log 2π - ½ log det Σ - ½ (x-mu)ᵀ Σ⁻¹ (x-mu)
        gmm.LogLikelihood([2, 3]).Should().BeApproximately(-Math.Log(2 * Math.PI) - 0.5 * Math.Log(8) - 0.5 * 3.0 / 8, HandTolerance);
    }

    [Fact]
    public void Responsibilities_match_the_hand_computed_posterior()
    {
        var gmm = new GaussianMixture([0.5, 0.5], [[0, 0], [2, 0]], [Identity2, Identity2]);

        // At the first centre the second component's exponent is -½·2² = -2, so gamma_0 = 1 / (1 + e⁻²).
        var atFirst = gmm.PredictProba([0, 0]);
        atFirst[0].Should().BeApproximately(1 / (1 + Math.Exp(-2)), HandTolerance);
        atFirst[1].Should().BeApproximately(Math.Exp(-2) / (1 + Math.Exp(-2)), HandTolerance);
        gmm.PredictProba([1, 0]).Should().Equal([0.5, 0.5], (a, b) => Math.Abs(a - b) < HandTolerance);
    }

    [Fact]
    public void Unequal_weights_shift_the_posterior_by_their_ratio()
    {
        var gmm = new GaussianMixture([0.8, 0.2], [[0, 0], [2, 0]], [Identity2, Identity2]);

        // Midway the densities are equal, so the posterior is the prior.
        gmm.PredictProba([1, 0])[0].Should().BeApproximately(0.8, HandTolerance);
    }

    [Fact]
    public void Points_far_from_every_component_still_get_responsibilities_that_sum_to_one()
    {
        var gmm = new GaussianMixture([0.5, 0.5], [[0, 0], [2, 0]], [Identity2, Identity2]);

        // exp(-½·1000²) underflows to 0 for both densities; the log-space posterior does not.
        var far = gmm.PredictProba([1000, 0]);
        far.Should().OnlyContain(g => double.IsFinite(g));
        far.Sum().Should().BeApproximately(1, HandTolerance);
        far[1].Should().BeApproximately(1, HandTolerance);
        double.IsFinite(gmm.LogLikelihood([1000, 0])).Should().BeTrue();
    }

    [Fact]
    public void The_log_space_path_agrees_with_the_textbook_densities()
    {
        double[] weights = [0.2, 0.5, 0.3];
        double[][] means = [[1, -1], [3, 0.5], [6, 2]];
        double[][][] covs = [[[0.5, 0.1], [0.1, 0.3]], Full, [[2, -0.7], [-0.7, 1]]];
        var gmm = new GaussianMixture(weights, means, covs);
        var random = new Random(7);

        for (var n = 0; n < 200; n++)
        {
            double[] x = [random.NextDouble() * 8 - 1, random.NextDouble() * 4 - 2];
            var densities = means.Select((m, k) => weights[k] * ReferenceDensity(x, m, covs[k])).ToArray();
            var total = densities.Sum();

            gmm.LogLikelihood(x).Should().BeApproximately(Math.Log(total), ReferenceTolerance, $"log-likelihood at ({x[0]}, {x[1]})");
            var gamma = gmm.PredictProba(x);
            for (var k = 0; k < 3; k++)
                gamma[k].Should().BeApproximately(densities[k] / total, ReferenceTolerance, $"responsibility {k} at ({x[0]}, {x[1]})");
        }
    }

    [Fact]
    public void A_covariance_that_is_not_positive_definite_is_rejected_naming_its_component()
    {
        var act = () => new GaussianMixture([0.5, 0.5], [[0, 0], [1, 1]], [Identity2, [[1, 2], [2, 1]]]);

        act.Should().Throw<ArgumentException>().WithMessage("component 1*positive-definite*");
    }

    [Fact]
    public void Weights_that_do_not_sum_to_one_are_rejected()
    {
        var act = () => new GaussianMixture([0.5, 0.6], [[0, 0], [1, 1]], [Identity2, Identity2]);

        act.Should().Throw<ArgumentException>().WithMessage("*sum to 1*");
    }

    /// <summary>N(x | mu, Σ) for D = 2 straight from the formula, with the explicit 2x2 inverse.</summary>
    private static double ReferenceDensity(double[] x, double[] mu, double[][] s)
    {
        var det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
        double dx = x[0] - mu[0], dy = x[1] - mu[1];
        var quad = (s[1][1] * dx * dx - (s[0][1] + s[1][0]) * dx * dy + s[0][0] * dy * dy) / det;
        return Math.Exp(-0.5 * quad) / (2 * Math.PI * Math.Sqrt(det));
    }
}
