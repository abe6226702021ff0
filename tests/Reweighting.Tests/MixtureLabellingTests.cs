using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;

namespace Reweighting.Tests;

/// <summary>The shared labelling path (<see cref="MixtureLabelling"/>) under the shared defaults: K by BIC, then the
/// components named from a clean reference, on a stream of two clean blobs and a noise blob below, above or beside them
/// in (loss mean, loss variance).</summary>
public sealed class MixtureLabellingTests
{
    private static readonly (double Mean, double Variance, double Spread)[] CleanBlobs = [(3.0, 1.0, 0.15), (4.0, 1.4, 0.15)];

    public static TheoryData<string, double, double> NoisePlacements => new()
    {
        { "below the bulk", 1.6, 0.6 },
        { "above the bulk", 6.0, 1.6 },
        { "beside the bulk", 3.5, 3.2 },
    };

    [Theory]
    [MemberData(nameof(NoisePlacements))]
    public void The_defaults_find_the_noise_wherever_it_lies(string placement, double noiseMean, double noiseVariance)
    {
        var random = new Random(17);
        var (stream, isNoise) = Stream(random, 3000, 0.2, noiseMean, noiseVariance);
        var reference = Enumerable.Range(0, 300).Select(_ => Clean(random)).ToList();

        var labelled = MixtureLabelling.Fit(stream, reference, LabellingDefaults.Settings, new GmmFitOptions(Restarts: 2, Seed: 1));

        labelled.Anchored.Should().BeTrue();
        labelled.Bics.Select(b => b.Components).Should().Equal(Enumerable.Range(2, 7), "the default BIC search tries K = 2..8");
        labelled.Fit.Parameters.Components.Should().Be(labelled.Bics.MinBy(b => b.Bic).Components, "the fit of lowest BIC is kept");
        var labeller = labelled.Labeller();
        // The points stand for the pairs the default (per-byte) transform starts from.
        var flagged = stream.Select(x => labeller.AssignPair(x.Mean, x.Variance).Label == SampleLabel.Noisy).ToArray();
        var truePositives = flagged.Zip(isNoise).Count(p => p.First && p.Second);
        ((double)truePositives / flagged.Count(f => f)).Should().BeGreaterThan(0.95, $"precision, noise {placement}");
        ((double)truePositives / isNoise.Count(n => n)).Should().BeGreaterThan(0.95, $"recall, noise {placement}");
    }

    [Fact]
    public void Without_a_reference_the_unanchored_rule_names_the_components()
    {
        var random = new Random(4);
        var (stream, _) = Stream(random, 1500, 0.2, 6.0, 1.6);
        var settings = LabellingDefaults.Settings with { Components = 3 };

        var labelled = MixtureLabelling.Fit(stream, null, settings, new GmmFitOptions(Seed: 1));

        labelled.Anchored.Should().BeFalse();
        labelled.Bics.Should().ContainSingle().Which.Components.Should().Be(3);
        labelled.LabelMap.Should().Equal(LabelRules.Get(settings.UnanchoredLabelRule).Map(labelled.Fit.Parameters));
        settings.Describe(hasReference: false).Should().Contain("no clean reference");
    }

    [Fact]
    public void A_named_rule_is_used_even_when_a_reference_is_given()
    {
        var random = new Random(6);
        var (stream, _) = Stream(random, 1500, 0.2, 1.6, 0.6);
        var reference = Enumerable.Range(0, 200).Select(_ => Clean(random)).ToList();
        var settings = LabellingDefaults.Settings with { Components = 3, LabelRule = "mean-loss" };

        var labelled = MixtureLabelling.Fit(stream, reference, settings, new GmmFitOptions(Seed: 1));

        labelled.Anchored.Should().BeFalse();
        labelled.LabelMap.Should().Equal(LabelRules.MeanLoss.Map(labelled.Fit.Parameters));
    }

    [Fact]
    public void A_small_sample_limits_the_BIC_search_so_no_component_collapses()
    {
        // 80 documents, many of them with identical statistics (short documents often score alike).
        var random = new Random(2);
        var stream = Enumerable.Range(0, 80)
            .Select(i => i % 4 == 0 ? (Mean: 5.0, Variance: 2.0) : (Mean: 3 + 0.1 * random.Next(3), Variance: 1.0)).ToList();

        var labelled = MixtureLabelling.Fit(stream, null, LabellingDefaults.Settings, new GmmFitOptions(Seed: 1));

        labelled.Bics.Max(b => b.Components).Should().BeLessThanOrEqualTo(80 / MixtureLabelling.MinPointsPerComponent);
        labelled.Invoking(l => l.Labeller()).Should().NotThrow();
    }

    [Theory]
    [InlineData(-1, 2, 8, 0.25, "K must be")]
    [InlineData(0, 0, 8, 0.25, "BIC search range")]
    [InlineData(0, 5, 4, 0.25, "BIC search range")]
    [InlineData(0, 2, 8, 1.0, "occupancy ratio")]
    public void Bad_settings_are_refused_by_name(int components, int min, int max, double ratio, string message)
    {
        var settings = LabellingDefaults.Settings with
        {
            Components = components, MinComponents = min, MaxComponents = max, OccupancyRatio = ratio,
        };
        settings.Invoking(s => s.Validate()).Should().Throw<ArgumentException>().WithMessage($"*{message}*");
        (LabellingDefaults.Settings with { LabelRule = "no-such-rule" }).Invoking(s => s.Validate()).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Per_byte_inputs_are_loss_per_byte_and_bytes_per_token_and_a_per_byte_mixture_needs_the_bytes()
    {
        // 4 tokens of losses summing to 10 nats over 20 bytes: 0.5 nats per byte, 5 bytes per token.
        var stats = new Statistics.LossStatistics(4, 2.5, 3.0, 20);
        GmmInputs.Of(stats, FeatureTransform.PerByte).Should().Be((0.5, 5.0));
        GmmInputs.Of(stats, FeatureTransform.Raw).Should().Be((2.5, 0.75));
        GmmInputs.Of(stats with { Bytes = 0 }, FeatureTransform.PerByte).Should().BeNull("no bytes were counted");
        GmmInputs.Of(stats with { Bytes = 0 }, FeatureTransform.LogVariance).Should().Be((2.5, 0.75));
        GmmInputs.Of(Statistics.LossStatistics.Empty, FeatureTransform.Raw).Should().BeNull("no scored token");
        GmmInputs.FromRow(4, 2.5, 0.75, 20).Should().Be(stats);

        var random = new Random(9);
        var (stream, _) = Stream(random, 600, 0.2, 6.0, 1.6);
        var labeller = MixtureLabelling.Fit(stream, null, LabellingDefaults.Settings with { Components = 3 }, new GmmFitOptions(Seed: 1))
            .Labeller();
        labeller.NeedsBytes.Should().BeTrue("the default features are per byte");
        labeller.Invoking(l => l.Assign(3.0, 1.0)).Should().Throw<InvalidOperationException>().WithMessage("*per byte*");
        labeller.Assign(new Statistics.LossStatistics(4, 12.0, 4.0, 16)).Should().BeEquivalentTo(labeller.AssignPair(3.0, 4.0));
        labeller.Assign(new StoredStatistics(4, 12.0, 1.0, null)).Should()
            .BeNull("a row stored before bytes were counted cannot be placed");
        labeller.Assign(new StoredStatistics(4, 12.0, 1.0, 16)).Should().BeEquivalentTo(labeller.AssignPair(3.0, 4.0));
    }

    private static (List<(double Mean, double Variance)> Stream, bool[] IsNoise) Stream(Random random, int n, double noiseShare,
        double noiseMean, double noiseVariance)
    {
        var stream = new List<(double, double)>(n);
        var isNoise = new bool[n];
        for (var i = 0; i < n; i++)
        {
            isNoise[i] = random.NextDouble() < noiseShare;
            stream.Add(isNoise[i] ? (Normal(random, noiseMean, 0.15), Normal(random, noiseVariance, 0.15)) : Clean(random));
        }
        return (stream, isNoise);
    }

    private static (double Mean, double Variance) Clean(Random random)
    {
        var (mean, variance, spread) = CleanBlobs[random.Next(CleanBlobs.Length)];
        return (Normal(random, mean, spread), Normal(random, variance, spread));
    }

    private static double Normal(Random random, double mean, double sd) =>
        mean + sd * Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
