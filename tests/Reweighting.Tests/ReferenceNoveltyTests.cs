using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Evaluation;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Xunit;
using static Reweighting.Tests.Draws;

namespace Reweighting.Tests;

/// <summary>The document-level detector on constructed documents: clean text is one spread-out population of (tokens,
/// loss mean, loss variance, bytes); the noise is a tight population below, above or beside it. The stream holds a
/// share π of noise; the reference is clean only.</summary>
public sealed class ReferenceNoveltyTests
{
    public static TheoryData<string, double, double, double, double> NoisePlacements => new()
    {
        // name, loss mean, loss variance, bytes per token, noise share
        { "below the bulk (boilerplate learnt by heart), 20%", 1.2, 0.8, 4.0, 0.2 },
        { "above the bulk (random characters: cheap per token, dear per byte), 20%", 5.2, 2.0, 1.1, 0.2 },
        { "beside the bulk (same loss per token, far higher variance), 5%", 3.5, 30, 4.0, 0.05 },
        { "below the bulk, 40%", 1.2, 0.8, 4.0, 0.4 },
    };

    [Theory]
    [MemberData(nameof(NoisePlacements))]
    public void Noise_far_from_the_reference_is_flagged_and_its_share_estimated(string placement, double mean, double variance,
        double bytesPerToken, double share)
    {
        var random = new Random(7);
        var (stream, isNoise) = Stream(random, 3000, share, () => Noise(random, mean, variance, bytesPerToken));
        var reference = Enumerable.Range(0, 300).Select(_ => Features(Clean(random))).ToList();

        var detector = ReferenceNovelty.Fit(reference, stream, seed: 1);
        var flagged = stream.Select(x => detector.Judge(x).Noisy).ToArray();
        var (precision, recall) = DetectionMetrics.PrecisionRecall(flagged, isNoise);

        precision.Should().BeGreaterThan(0.9, placement);
        recall.Should().BeGreaterThan(0.9, placement);
        detector.Parameters.NoiseShare.Should().BeApproximately(share, 0.05, placement);
        DetectionMetrics.RocAuc(stream.Select(detector.Distance).ToArray(), isNoise).Should().BeGreaterThan(0.99, placement);
    }

    [Fact]
    public void A_clean_stream_has_almost_nothing_flagged()
    {
        var random = new Random(3);
        var stream = Enumerable.Range(0, 3000).Select(_ => Features(Clean(random))).ToList();
        var reference = Enumerable.Range(0, 300).Select(_ => Features(Clean(random))).ToList();

        var detector = ReferenceNovelty.Fit(reference, stream, seed: 1);

        // The distance test alone flags about α = 10% of clean text; the density ratio, near 1 everywhere, clears it.
        stream.Count(x => detector.Judge(x).Noisy).Should().BeLessThan(90, "at most 3% of a clean stream");
        detector.Parameters.NoiseShare.Should().BeLessThan(0.05);
    }

    [Fact]
    public void A_document_is_noise_exactly_when_it_is_past_both_thresholds()
    {
        var random = new Random(11);
        var (stream, _) = Stream(random, 1500, 0.05, () => Noise(random, 3.5, 30, 4.0));
        // A small reference, as a user may have: the kernel estimate in the clean tails is rough there.
        var reference = Enumerable.Range(0, 60).Select(_ => Features(Clean(random))).ToList();
        var detector = ReferenceNovelty.Fit(reference, stream, seed: 1);

        var judged = stream.Select(x => (Verdict: detector.Judge(x), Far: detector.Distance(x) > detector.Parameters.DistanceThreshold))
            .ToList();
        var threshold = detector.Parameters.PosteriorThreshold;
        threshold.Should().Be(ReferenceNovelty.DefaultPosteriorThreshold, "a fit stores the threshold it judges by");
        judged.Should().OnlyContain(j => j.Verdict.Noisy == (j.Far && j.Verdict.Posterior > threshold));
        judged.Should().Contain(j => j.Far && j.Verdict.Posterior <= threshold, "far documents the density ratio clears stay clean")
            .And.Contain(j => j.Verdict.Noisy);
    }

    [Fact]
    public void A_version_stored_before_its_posterior_threshold_was_recorded_judges_by_one_half()
    {
        var random = new Random(4);
        var reference = Enumerable.Range(0, 80).Select(_ => Features(Clean(random))).ToList();
        var (stream, _) = Stream(random, 400, 0.2, () => Noise(random, 3.5, 30, 4.0));
        var fitted = ReferenceNovelty.Fit(reference, stream, seed: 1).Parameters;
        var options = new System.Text.Json.JsonSerializerOptions
        {
            PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower, // as the GMM store writes it
        };
        var json = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(fitted, options))!.AsObject();
        json.Remove("posterior_threshold").Should().BeTrue("each fit stores the threshold it judges by");

        var old = System.Text.Json.JsonSerializer.Deserialize<NoveltyParameters>(json.ToJsonString(), options)!;
        old.PosteriorThreshold.Should().Be(0.5);
        var restored = ReferenceNovelty.FromParameters(old with { PosteriorThreshold = 0.999 });
        stream.Where(x => restored.Judge(x).Noisy).Should().OnlyContain(x => restored.Posterior(x) > 0.999);
    }

    [Fact]
    public void The_distance_threshold_is_the_reference_leave_one_out_quantile_at_one_minus_alpha()
    {
        var random = new Random(5);
        var reference = Enumerable.Range(0, 200).Select(_ => Features(Clean(random))).ToList();
        var detector = ReferenceNovelty.Fit(reference, [Features(Clean(random))]);

        var loo = detector.ReferenceLeaveOneOutDistances();
        var quantile = detector.Parameters.DistanceThreshold / ReferenceNovelty.DefaultDistanceFactor;
        var beyond = loo.Count(d => d > quantile) / (double)loo.Length;

        beyond.Should().BeApproximately(ReferenceNovelty.DefaultAlpha, 0.01);
        // A reference document's own distance to the reference counts itself as its nearest neighbour (at 0).
        detector.Distance(reference[0]).Should().BeLessThan(loo[0]);
    }

    [Fact]
    public void Features_are_loss_per_byte_log_bytes_per_token_mean_and_log_variance()
    {
        var statistics = new LossStatistics(100, 3.0, 100 * 2.0, 400);

        ReferenceNovelty.Features(statistics).Should().Equal(0.75, Math.Log(4), 3.0, Math.Log(2.0 + 1e-6));
        ReferenceNovelty.Features(statistics with { Bytes = 0 }).Should().BeNull("without counted bytes there is no loss per byte");
        ReferenceNovelty.Features(LossStatistics.Empty).Should().BeNull();
        ReferenceNovelty.Features(new StoredStatistics(100, 3.0, 2.0, 400)).Should().Equal(ReferenceNovelty.Features(statistics));
        ReferenceNovelty.Features(new StoredStatistics(100, 3.0, 2.0, null)).Should().BeNull();
    }

    [Fact]
    public void A_stored_detector_judges_as_the_fitted_one_and_keeps_a_bounded_stream_sample()
    {
        var random = new Random(9);
        var (stream, _) = Stream(random, 5000, 0.2, () => Noise(random, 1.2, 0.8, 4.0));
        var reference = Enumerable.Range(0, 100).Select(_ => Features(Clean(random))).ToList();

        var fitted = ReferenceNovelty.Fit(reference, stream, seed: 4);
        var restored = ReferenceNovelty.FromParameters(fitted.Parameters);

        fitted.Parameters.Stream.Should().HaveCount(ReferenceNovelty.MaxStreamPoints);
        ReferenceNovelty.Fit(reference, stream, seed: 4).Parameters.Stream.Should().BeEquivalentTo(fitted.Parameters.Stream,
            o => o.WithStrictOrdering(), "the subsample is seeded");
        foreach (var x in stream.Take(200)) restored.Judge(x).Should().Be(fitted.Judge(x));
    }

    [Fact]
    public void Too_small_a_reference_a_constant_feature_and_inconsistent_parameters_are_refused()
    {
        var random = new Random(2);
        var small = Enumerable.Range(0, ReferenceNovelty.MinReference - 1).Select(_ => Features(Clean(random))).ToList();
        var stream = new List<double[]> { Features(Clean(random)) };
        FluentActions.Invoking(() => ReferenceNovelty.Fit(small, stream)).Should().Throw<ArgumentException>().WithMessage("*at least*");
        var constant = Enumerable.Range(0, 20).Select(_ => Features(Clean(random)) is var x ? new[] { 1.0, x[1], x[2], x[3] } : null!).ToList();
        FluentActions.Invoking(() => ReferenceNovelty.Fit(constant, stream)).Should().Throw<ArgumentException>().WithMessage("*feature 0*");
        FluentActions.Invoking(() => ReferenceNovelty.Fit(Enumerable.Range(0, 20).Select(_ => Features(Clean(random))).ToList(), []))
            .Should().Throw<ArgumentException>().WithMessage("*empty*");

        var good = ReferenceNovelty.Fit(Enumerable.Range(0, 20).Select(_ => Features(Clean(random))).ToList(), stream).Parameters;
        foreach (var bad in new[]
                 {
                     good with { Scale = [1, 1, 0, 1] }, good with { NoiseShare = 1 }, good with { Neighbours = 0 },
                     good with { Neighbours = good.Reference.Length + 1 }, good with { Bandwidth = 0 }, good with { Stream = [] },
                     good with { Reference = [[1, 2, 3]] },
                 })
            FluentActions.Invoking(() => ReferenceNovelty.FromParameters(bad)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => ReferenceNovelty.FromParameters(good).Distance([1, 2])).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void With_a_detector_the_labeller_follows_it_and_without_bytes_keeps_the_mixture()
    {
        var random = new Random(13);
        var (stream, _) = Stream(random, 2000, 0.2, () => Noise(random, 1.2, 0.8, 4.0));
        var reference = Enumerable.Range(0, 300).Select(_ => Features(Clean(random))).ToList();
        var detector = ReferenceNovelty.Fit(reference, stream, seed: 1);
        // A mixture on (mean, ln variance) that has it backwards: the clean bulk's component is called noisy and the
        // noise's component easy. The detector must overrule it both ways.
        var parameters = new GmmParameters([0.8, 0.2], [[3.5, Math.Log(5)], [1.2, Math.Log(0.8)]], [Identity2, Identity2],
            FeatureTransform.LogVariance);
        var model = new GmmModel(1, "proxy", parameters, [SampleLabel.Noisy, SampleLabel.Easy], 10, -1, DateTimeOffset.UnixEpoch,
            detector.Parameters);
        var labeller = GmmLabeller.FromModel(model);
        var noise = new LossStatistics(200, 1.2, 200 * 0.8, 800);
        var clean = new LossStatistics(200, 3.5, 200 * 5.0, 800);

        labeller.Novelty.Should().NotBeNull();
        labeller.Assign(noise.Mean, noise.Variance).Label.Should().Be(SampleLabel.Easy, "the mixture alone calls the noise easy");
        labeller.Assign(noise)!.Label.Should().Be(SampleLabel.Noisy, "the detector flags it");
        labeller.Assign(noise)!.Confidence.Should().Be(detector.Judge(Features(noise)).Posterior);
        labeller.Assign(new StoredStatistics(200, 1.2, 0.8, 800))!.Label.Should().Be(SampleLabel.Noisy);
        labeller.Assign(clean)!.Label.Should().Be(SampleLabel.Easy, "clean by the detector, so the likelier clean label");
        labeller.Assign(clean)!.Confidence.Should().Be(1, "the only clean component holds all the clean mass");
        labeller.Assign(clean with { Bytes = 0 })!.Label.Should().Be(SampleLabel.Noisy,
            "without bytes the detector cannot place it, and the mixture's verdict stands");
        labeller.Assign(new StoredStatistics(200, 3.5, 5.0, null))!.Label.Should().Be(SampleLabel.Noisy);
        GmmLabeller.FromModel(model with { Novelty = null }).Assign(noise)!.Label.Should().Be(SampleLabel.Easy,
            "a version without a detector labels by component");
    }

    [Fact]
    public void Features_add_the_log_compression_ratio_when_the_document_has_one()
    {
        var statistics = new LossStatistics(100, 3.0, 100 * 2.0, 400, Compression: 0.4);

        ReferenceNovelty.Features(statistics).Should().Equal(0.75, Math.Log(4), 3.0, Math.Log(2.0 + 1e-6), Math.Log(0.4));
        ReferenceNovelty.Features(new StoredStatistics(100, 3.0, 2.0, 400, 0.4)).Should().Equal(ReferenceNovelty.Features(statistics));
        ReferenceNovelty.Features(statistics with { Compression = double.NaN }).Should().HaveCount(ReferenceNovelty.LossDimensions);
        ReferenceNovelty.Features(statistics with { Bytes = 0 }).Should().BeNull("the loss features come first");
    }

    [Fact]
    public void Noise_that_only_repeats_itself_is_found_with_the_compression_ratio_and_missed_without_it()
    {
        // Keyword stuffing under a proxy that learnt it: loss statistics like clean text's, but it compresses to a third.
        var random = new Random(21);
        var isNoise = Enumerable.Range(0, 2000).Select(_ => random.NextDouble() < 0.2).ToArray();
        var documents = isNoise.Select(bad => Clean(random) with { Compression = (bad ? 0.15 : 0.45) * Math.Exp(0.08 * Normal(random)) })
            .ToList();
        var reference = Enumerable.Range(0, 300).Select(_ => Clean(random) with { Compression = 0.45 * Math.Exp(0.08 * Normal(random)) })
            .ToList();

        var withRatio = ReferenceNovelty.Fit(reference.Select(Features).ToList(), documents.Select(Features).ToList(), seed: 1);
        var lossOnly = ReferenceNovelty.Fit(reference.Select(r => Features(r with { Compression = double.NaN })).ToList(),
            documents.Select(d => Features(d with { Compression = double.NaN })).ToList(), seed: 1);

        withRatio.FeatureCount.Should().Be(ReferenceNovelty.CompressionDimensions);
        lossOnly.FeatureCount.Should().Be(ReferenceNovelty.LossDimensions);
        var flagged = documents.Select(d => withRatio.Judge(Features(d)).Noisy).ToArray();
        var (precision, recall) = DetectionMetrics.PrecisionRecall(flagged, isNoise);
        precision.Should().BeGreaterThan(0.9);
        recall.Should().BeGreaterThan(0.9);
        var (_, lossRecall) = DetectionMetrics.PrecisionRecall(documents.Select(d => lossOnly.Judge(Features(d)).Noisy).ToArray(), isNoise);
        lossRecall.Should().BeLessThan(0.2, "its loss statistics are clean text's");
    }

    [Fact]
    public void A_loss_feature_detector_ignores_compression_ratios_and_a_compression_detector_leaves_documents_without_one_to_the_mixture()
    {
        var random = new Random(17);
        var reference = Enumerable.Range(0, 100).Select(_ => Clean(random) with { Compression = 0.45 }).ToList();
        // A fifth of the stream repeats itself: clean loss statistics, a third of the compression ratio.
        var stream = Enumerable.Range(0, 400)
            .Select(i => Clean(random) with { Compression = (i % 5 == 0 ? 0.15 : 0.45) * Math.Exp(0.1 * Normal(random)) }).ToList();
        // One reference document without a ratio: the detector is fitted on the four loss features every document has.
        var mixed = reference.Select((r, i) => Features(i == 0 ? r with { Compression = double.NaN } : r)).ToList();
        var lossOnly = ReferenceNovelty.Fit(mixed, stream.Select(Features).ToList(), seed: 2);
        var full = ReferenceNovelty.Fit(reference.Select(r => Features(r with { Compression = 0.45 * Math.Exp(0.1 * Normal(random)) }))
            .ToList(), stream.Select(Features).ToList(), seed: 2);

        lossOnly.FeatureCount.Should().Be(ReferenceNovelty.LossDimensions);
        foreach (var x in stream.Take(50).Select(Features))
            lossOnly.Judge(x).Should().Be(lossOnly.Judge(x[..ReferenceNovelty.LossDimensions]));
        ReferenceNovelty.FromParameters(lossOnly.Parameters).FeatureCount.Should().Be(ReferenceNovelty.LossDimensions,
            "a version stored before the ratio was measured keeps judging on four features");
        full.CanJudge(Features(stream[1] with { Compression = double.NaN })).Should().BeFalse();
        full.CanJudge(Features(stream[1])).Should().BeTrue();

        var parameters = new GmmParameters([1.0], [[3.5, Math.Log(5)]], [Identity2], FeatureTransform.LogVariance);
        var model = new GmmModel(1, "proxy", parameters, [SampleLabel.Hard], 10, -1, DateTimeOffset.UnixEpoch, full.Parameters);
        var far = stream[0]; // one of the repeated documents
        GmmLabeller.FromModel(model).Assign(far)!.Label.Should().Be(SampleLabel.Noisy, "the detector judges it");
        GmmLabeller.FromModel(model).Assign(far with { Compression = double.NaN })!.Label.Should().Be(SampleLabel.Hard,
            "without a ratio the five-feature detector cannot place it, and the mixture's verdict stands");
    }

    [Fact]
    public void Features_add_the_log_of_the_floored_order_gain_when_the_document_has_both_text_measures()
    {
        var statistics = new LossStatistics(100, 3.0, 100 * 2.0, 400, Compression: 0.4, OrderGain: 0.05);
        var floor = Math.Log(ReferenceNovelty.OrderGainFloor);

        ReferenceNovelty.Features(statistics).Should().Equal(0.75, Math.Log(4), 3.0, Math.Log(2.0 + 1e-6), Math.Log(0.4), Math.Log(0.05));
        ReferenceNovelty.Features(new StoredStatistics(100, 3.0, 2.0, 400, 0.4, 0.05)).Should()
            .Equal(ReferenceNovelty.Features(statistics));
        ReferenceNovelty.Features(statistics with { OrderGain = 0 })![^1].Should().Be(floor, "no order at all");
        ReferenceNovelty.Features(statistics with { OrderGain = -0.004 })![^1].Should().Be(floor, "below the resolution, no order");
        ReferenceNovelty.Features(statistics with { OrderGain = double.NaN }).Should().HaveCount(ReferenceNovelty.CompressionDimensions);
        ReferenceNovelty.Features(statistics with { Compression = double.NaN }).Should().HaveCount(ReferenceNovelty.LossDimensions,
            "the order gain is the sixth feature, after the ratio");
    }

    [Fact]
    public void Word_salad_is_found_with_the_order_gain_and_missed_without_it()
    {
        // Word salad under a proxy that learnt its words: loss statistics and compression ratio like clean text's, but its
        // words carry no order, so a shuffle costs it nothing.
        var random = new Random(23);
        var isNoise = Enumerable.Range(0, 2000).Select(_ => random.NextDouble() < 0.2).ToArray();
        var documents = isNoise.Select(bad => Texts(Clean(random), random, salad: bad)).ToList();
        var reference = Enumerable.Range(0, 300).Select(_ => Texts(Clean(random), random, salad: false)).ToList();

        var withOrder = ReferenceNovelty.Fit(reference.Select(Features).ToList(), documents.Select(Features).ToList(), seed: 1);
        var withoutOrder = ReferenceNovelty.Fit(reference.Select(r => Features(r with { OrderGain = double.NaN })).ToList(),
            documents.Select(d => Features(d with { OrderGain = double.NaN })).ToList(), seed: 1);

        withOrder.FeatureCount.Should().Be(ReferenceNovelty.Dimensions);
        withoutOrder.FeatureCount.Should().Be(ReferenceNovelty.CompressionDimensions);
        var (precision, recall) = DetectionMetrics.PrecisionRecall(documents.Select(d => withOrder.Judge(Features(d)).Noisy).ToArray(),
            isNoise);
        precision.Should().BeGreaterThan(0.9);
        recall.Should().BeGreaterThan(0.9);
        var (_, ratioRecall) = DetectionMetrics.PrecisionRecall(
            documents.Select(d => withoutOrder.Judge(Features(d)).Noisy).ToArray(), isNoise);
        ratioRecall.Should().BeLessThan(0.2, "its loss statistics and compression ratio are clean text's");
    }

    [Fact]
    public void A_five_feature_detector_ignores_order_gains_and_a_six_feature_one_leaves_documents_without_one_to_the_mixture()
    {
        var random = new Random(19);
        var reference = Enumerable.Range(0, 100).Select(_ => Texts(Clean(random), random, salad: false)).ToList();
        // A fifth of the stream is word salad: clean loss statistics and compression ratio, no order gain to speak of.
        var stream = Enumerable.Range(0, 400).Select(i => Texts(Clean(random), random, salad: i % 5 == 0)).ToList();
        // One reference document too short to have an order gain: the detector is fitted on the five features all have.
        var mixed = reference.Select((r, i) => Features(i == 0 ? r with { OrderGain = double.NaN } : r)).ToList();
        var five = ReferenceNovelty.Fit(mixed, stream.Select(Features).ToList(), seed: 2);
        var six = ReferenceNovelty.Fit(reference.Select(Features).ToList(), stream.Select(Features).ToList(), seed: 2);

        five.FeatureCount.Should().Be(ReferenceNovelty.CompressionDimensions);
        foreach (var x in stream.Take(50).Select(Features))
            five.Judge(x).Should().Be(five.Judge(x[..ReferenceNovelty.CompressionDimensions]));
        ReferenceNovelty.FromParameters(five.Parameters).FeatureCount.Should().Be(ReferenceNovelty.CompressionDimensions,
            "a version stored before the order gain was measured keeps judging on five features");
        six.CanJudge(Features(stream[1] with { OrderGain = double.NaN })).Should().BeFalse();
        six.CanJudge(Features(stream[1])).Should().BeTrue();
        five.CanJudge(Features(stream[1] with { OrderGain = double.NaN })).Should().BeTrue();

        var parameters = new GmmParameters([1.0], [[3.5, Math.Log(5)]], [Identity2], FeatureTransform.LogVariance);
        var model = new GmmModel(1, "proxy", parameters, [SampleLabel.Hard], 10, -1, DateTimeOffset.UnixEpoch, six.Parameters);
        var salad = stream[0];
        GmmLabeller.FromModel(model).Assign(salad)!.Label.Should().Be(SampleLabel.Noisy, "the detector judges it");
        GmmLabeller.FromModel(model).Assign(salad with { OrderGain = double.NaN })!.Label.Should().Be(SampleLabel.Hard,
            "without an order gain the six-feature detector cannot place it, and the mixture's verdict stands");
        GmmLabeller.FromModel(model with { Novelty = five.Parameters }).Assign(salad)!.Label.Should().Be(SampleLabel.Hard,
            "on five features word salad is clean text");
    }

    [Fact]
    public void A_five_feature_version_stored_before_the_order_gain_judges_exactly_as_it_did()
    {
        // A five-feature fit, stored as the GMM store writes it (snake-case JSON), read back and judged by this code. The
        // pinned numbers are what the code before the order gain computed for the same fit (commit 7b402c7).
        var random = new Random(31);
        var reference = Enumerable.Range(0, 40).Select(_ => Clean(random) with { Compression = 0.45 * Math.Exp(0.1 * Normal(random)) })
            .ToList();
        var stream = Enumerable.Range(0, 200).Select(i => Clean(random) with
        {
            Compression = (i % 5 == 0 ? 0.15 : 0.45) * Math.Exp(0.1 * Normal(random)),
        }).ToList();
        var fitted = ReferenceNovelty.Fit(reference.Select(Features).ToList(), stream.Select(Features).ToList(), seed: 3);
        var options = new System.Text.Json.JsonSerializerOptions
        {
            PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower, // as the GMM store writes it
        };
        // That code stored the conformal quantile itself as the distance threshold and judged by a posterior of 1/2.
        var asStoredThen = fitted.Parameters with
        {
            DistanceThreshold = fitted.Parameters.DistanceThreshold / ReferenceNovelty.DefaultDistanceFactor,
            PosteriorThreshold = 0.5,
        };
        var stored = System.Text.Json.JsonSerializer.Deserialize<NoveltyParameters>(
            System.Text.Json.JsonSerializer.Serialize(asStoredThen, options), options)!;
        var restored = ReferenceNovelty.FromParameters(stored);

        restored.FeatureCount.Should().Be(ReferenceNovelty.CompressionDimensions);
        stored.NoiseShare.Should().BeApproximately(FiveFeatureNoiseShare, 1e-12);
        stored.DistanceThreshold.Should().BeApproximately(FiveFeatureDistanceThreshold, 1e-12);
        for (var i = 0; i < FiveFeaturePosteriors.Length; i++)
        {
            var x = Features(stream[i]);
            restored.Posterior(x).Should().BeApproximately(FiveFeaturePosteriors[i], 1e-12, $"document {i}");
            restored.Distance(x).Should().BeApproximately(FiveFeatureDistances[i], 1e-12, $"document {i}");
            var withOrder = Features(stream[i] with { OrderGain = 0.0005 * i });
            restored.Judge(withOrder).Should().Be(restored.Judge(x), "a five-feature version ignores the order gain");
        }
        stream.Take(FiveFeaturePosteriors.Length).Select(s => restored.Judge(Features(s)).Noisy).Should().Equal(FiveFeatureVerdicts);
    }

    private const double FiveFeatureNoiseShare = 0.29000000000000004;
    private const double FiveFeatureDistanceThreshold = 1.8959105904924944;

    private static readonly double[] FiveFeaturePosteriors =
        [1, 0.2118247899431056, 0, 0.15078773743704366, 0.030051441539464485, 1, 0, 0.02789414592507189, 0, 0.8903660165417766];

    private static readonly double[] FiveFeatureDistances =
    [
        10.921351671155106, 1.1602440786978003, 0.9014173922236993, 1.7910201956673577, 0.9020345588983264, 10.217166597124473,
        1.0474200238824716, 1.2096226453724521, 0.924853406868719, 3.5083169013089908,
    ];

    private static readonly bool[] FiveFeatureVerdicts = [true, false, false, false, false, true, false, false, false, true];

    /// <summary>The document with its text measures: a compression ratio about 0.45, and an order gain about 0.03 for clean
    /// text or within the order gain's scatter of 0 (±0.005) for word salad.</summary>
    private static LossStatistics Texts(LossStatistics statistics, Random random, bool salad) => statistics with
    {
        Compression = 0.45 * Math.Exp(0.08 * Normal(random)),
        OrderGain = salad ? 0.005 * Normal(random) : 0.03 * Math.Exp(0.3 * Normal(random)),
    };

    private static readonly double[][] Identity2 = [[1, 0], [0, 1]];

    /// <summary>Clean text: 100–400 tokens, 3.2–4.8 bytes per token, loss mean about 3.5, variance about 5.</summary>
    private static LossStatistics Clean(Random random)
    {
        var tokens = random.Next(100, 400);
        var bytesPerToken = 4.0 * Math.Exp(0.1 * Normal(random));
        var mean = 3.5 + 0.4 * Normal(random);
        var variance = 5.0 * Math.Exp(0.2 * Normal(random));
        return new LossStatistics(tokens, mean, variance * tokens, (long)Math.Round(tokens * bytesPerToken));
    }

    private static LossStatistics Noise(Random random, double mean, double variance, double bytesPerToken)
    {
        var tokens = random.Next(100, 400);
        return new LossStatistics(tokens, mean + 0.1 * Normal(random), variance * Math.Exp(0.05 * Normal(random)) * tokens,
            (long)Math.Round(tokens * bytesPerToken * Math.Exp(0.03 * Normal(random))));
    }

    private static (List<double[]> Stream, bool[] IsNoise) Stream(Random random, int n, double share, Func<LossStatistics> noise)
    {
        var isNoise = Enumerable.Range(0, n).Select(_ => random.NextDouble() < share).ToArray();
        return (isNoise.Select(bad => Features(bad ? noise() : Clean(random))).ToList(), isNoise);
    }

    private static double[] Features(LossStatistics statistics) => ReferenceNovelty.Features(statistics)!;
}
