using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Xunit;
using static Reweighting.Tests.Draws;

namespace Reweighting.Tests;

/// <summary>Reference-anchored labelling on constructed mixtures: a clean bulk of two blobs (easy and hard) and a noise
/// blob below, above or beside it in (loss mean, variance feature); the stream is 80% clean, the reference all clean.</summary>
public sealed class ReferenceAnchoringTests
{
    private static readonly (double Mean, double Feature, double Spread)[] CleanBlobs = [(3.0, 1.0, 0.15), (4.0, 1.4, 0.15)];

    public static TheoryData<string, double, double> NoisePlacements => new()
    {
        { "below the bulk (boilerplate, blobs learnt by heart)", 1.6, 0.6 },
        { "above the bulk (garbage)", 6.0, 1.6 },
        { "beside the bulk (same loss, much higher variance)", 3.5, 3.2 },
    };

    [Theory]
    [MemberData(nameof(NoisePlacements))]
    public void The_component_the_reference_leaves_empty_is_noisy_wherever_it_lies(string placement, double noiseMean, double noiseFeature)
    {
        var random = new Random(11);
        var (stream, isNoise) = Stream(random, 4000, 0.2, noiseMean, noiseFeature);
        var reference = Enumerable.Range(0, 400).Select(_ => Clean(random)).ToList();
        var fit = GaussianMixtureFitter.Fit(stream.SelectMany(x => x).ToArray(), 2, new GmmFitOptions(Components: 3, Seed: 1));

        var labels = ReferenceAnchoring.Map(fit.Parameters, reference);
        var mixture = GaussianMixture.FromParameters(fit.Parameters);
        var flagged = stream.Select(x => labels[ArgMax(mixture.PredictProba(x))] == SampleLabel.Noisy).ToArray();
        var truePositives = flagged.Zip(isNoise).Count(p => p.First && p.Second);
        var precision = (double)truePositives / flagged.Count(f => f);
        var recall = (double)truePositives / isNoise.Count(n => n);

        precision.Should().BeGreaterThan(0.95, placement);
        recall.Should().BeGreaterThan(0.95, placement);
        labels.Count(l => l == SampleLabel.Noisy).Should().Be(1, placement);
        labels.Should().Contain(SampleLabel.Easy).And.Contain(SampleLabel.Hard, "the two clean blobs split easy and hard by loss");
        var easy = Array.IndexOf(labels, SampleLabel.Easy);
        var hard = Array.IndexOf(labels, SampleLabel.Hard);
        fit.Parameters.Means[easy][0].Should().BeLessThan(fit.Parameters.Means[hard][0]);
    }

    [Fact]
    public void A_mean_loss_rule_misses_noise_below_the_bulk_that_the_reference_finds()
    {
        var random = new Random(5);
        var (stream, _) = Stream(random, 4000, 0.2, 1.6, 0.6);
        var reference = Enumerable.Range(0, 400).Select(_ => Clean(random)).ToList();
        var fit = GaussianMixtureFitter.Fit(stream.SelectMany(x => x).ToArray(), 2, new GmmFitOptions(Components: 3, Seed: 1));
        var lowest = Enumerable.Range(0, 3).MinBy(c => fit.Parameters.Means[c][0]);

        LabelRules.MeanLoss.Map(fit.Parameters.Means, fit.Parameters.Covariances)[lowest].Should().Be(SampleLabel.Easy);
        ReferenceAnchoring.Map(fit.Parameters, reference)[lowest].Should().Be(SampleLabel.Noisy);
    }

    [Fact]
    public void Reference_mass_is_each_components_mean_responsibility_and_sums_to_one()
    {
        var random = new Random(3);
        var (stream, _) = Stream(random, 2000, 0.2, 6.0, 1.6);
        var fit = GaussianMixtureFitter.Fit(stream.SelectMany(x => x).ToArray(), 2, new GmmFitOptions(Components: 3, Seed: 1));
        var reference = Enumerable.Range(0, 300).Select(_ => Clean(random)).ToList();

        var mass = ReferenceAnchoring.ReferenceMass(fit.Parameters, reference);
        mass.Sum().Should().BeApproximately(1.0, 1e-9);
        var noise = Enumerable.Range(0, 3).MaxBy(c => fit.Parameters.Means[c][0]);
        mass[noise].Should().BeLessThan(0.01);
    }

    [Fact]
    public void A_reference_that_fills_nothing_still_leaves_one_clean_component_and_bad_input_is_refused()
    {
        var parameters = new GmmParameters([0.5, 0.5], [[0.0, 0.0], [10.0, 0.0]], [Identity(), Identity()], FeatureTransform.Raw);
        var far = new List<double[]> { new[] { 100.0, 100.0 } };
        ReferenceAnchoring.Map(parameters, far).Count(l => l != SampleLabel.Noisy).Should().Be(1);

        var empty = () => ReferenceAnchoring.Map(parameters, []);
        empty.Should().Throw<ArgumentException>().WithMessage("*at least one reference*");
        var wrongDimension = () => ReferenceAnchoring.Map(parameters, [new[] { 1.0 }]);
        wrongDimension.Should().Throw<ArgumentException>().WithMessage("*1 features*");
        var ratio = () => ReferenceAnchoring.Map(parameters, far, 1.5);
        ratio.Should().Throw<ArgumentOutOfRangeException>();
    }

    private static (List<double[]> Points, bool[] IsNoise) Stream(Random random, int n, double noiseShare, double noiseMean,
        double noiseFeature)
    {
        var points = new List<double[]>(n);
        var isNoise = new bool[n];
        for (var i = 0; i < n; i++)
        {
            isNoise[i] = random.NextDouble() < noiseShare;
            points.Add(isNoise[i] ? [noiseMean + 0.15 * Normal(random), noiseFeature + 0.15 * Normal(random)] : Clean(random));
        }
        return (points, isNoise);
    }

    private static double[] Clean(Random random)
    {
        var (mean, feature, spread) = CleanBlobs[random.Next(CleanBlobs.Length)];
        return [mean + spread * Normal(random), feature + spread * Normal(random)];
    }

    private static int ArgMax(double[] values) => Array.IndexOf(values, values.Max());

    private static double[][] Identity() => [[1.0, 0.0], [0.0, 1.0]];
}
