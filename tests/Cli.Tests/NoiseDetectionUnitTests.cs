using FluentAssertions;
using Reweighting.Cli.Commands.NoiseDetection;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>The parts of `eval noise-detection` that need no model, in this process: how the repeated options pair up,
/// and what the methods measure on statistics whose answer is known.</summary>
public sealed class NoiseDetectionUnitTests
{
    [Fact]
    public void Repeated_options_pair_with_the_corpora_by_position_and_a_single_one_serves_every_corpus()
    {
        var corpora = DetectionCorpus.Pair(["web=data/a.jsonl", "data/noisy-code.jsonl.gz"], ["proxy"], [], ["r1.jsonl", "r2.jsonl"], []);

        corpora.Select(c => (c.Name, c.Path, c.Model, c.Reference)).Should().Equal(
            ("web", "data/a.jsonl", "proxy", "r1.jsonl"), ("noisy-code", "data/noisy-code.jsonl.gz", "proxy", "r2.jsonl"));
        var scored = DetectionCorpus.Pair(["a.jsonl", "b.jsonl"], [], ["sa", "sb"], [], ["clean"]);
        scored.Select(c => (c.Scores, c.ReferenceScores, c.Model)).Should().Equal(("sa", "clean", (string?)null), ("sb", "clean", null));
    }

    [Theory]
    [InlineData(new[] { "a", "b" }, new[] { "m1", "m2", "m3" }, new string[0], new string[0], "one --model for every corpus")]
    [InlineData(new[] { "a", "b" }, new string[0], new[] { "s" }, new string[0], "one --scores per --corpus")]
    [InlineData(new[] { "a" }, new[] { "m" }, new[] { "s" }, new string[0], "either --model")]
    [InlineData(new[] { "a", "b", "c" }, new[] { "m" }, new string[0], new[] { "r1", "r2" }, "one --reference for every corpus")]
    [InlineData(new[] { "x/a.jsonl", "y/a.jsonl" }, new[] { "m" }, new string[0], new string[0], "name each as --corpus NAME=path")]
    [InlineData(new[] { "=a.jsonl" }, new[] { "m" }, new string[0], new string[0], "NAME=path with both parts")]
    public void Options_that_do_not_pair_fail_with_a_message(string[] corpora, string[] models, string[] scores, string[] references,
        string message)
    {
        var pair = () => DetectionCorpus.Pair(corpora, models, scores, references, []);
        pair.Should().Throw<ArgumentException>().WithMessage($"*{message}*");
    }

    [Fact]
    public void The_hard_share_counts_the_noisy_documents_the_labelling_calls_hard()
    {
        // Three groups well apart in (mean, variance): easy clean text, hard clean text and junk; 5 of the 25 noisy documents
        // look like hard text. Under the mean-loss rule (ascending centre: easy, hard, noisy) those 5 are labelled hard.
        var rng = new Random(3);
        var groups = new List<(double Mean, double Variance, bool Noisy)>();
        groups.AddRange(Enumerable.Repeat((2.0, 0.5, false), 60));
        groups.AddRange(Enumerable.Repeat((4.0, 1.5, false), 60));
        groups.AddRange(Enumerable.Repeat((4.0, 1.5, true), 5));
        groups.AddRange(Enumerable.Repeat((8.0, 3.0, true), 20));
        var stats = groups
            .Select(g => new LossStatistics(100, g.Mean + 0.05 * rng.NextDouble(), 100 * (g.Variance + 0.02 * rng.NextDouble()), 400))
            .ToArray();
        var ids = groups.Select((_, i) => $"d{i}").ToList();
        var labels = ids.Select((id, i) => (id, new CorpusLabel(groups[i].Noisy, groups[i].Noisy ? "junk" : null))).ToDictionary();
        var settings = new DetectionSettings(new GmmFitOptions(Seed: 0),
            LabellingDefaults.Settings with { Components = 3, LabelRule = "mean-loss", FeatureSetting = "raw-std" });

        var result = CorpusDetection.Evaluate(new DetectionCorpus("synthetic", "synthetic.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats), null, settings);

        var gmm = result.Methods[CorpusDetection.GmmMethod];
        gmm.NoisyLabelledHard.Should().Be(5.0 / 25);
        gmm.Flagged.Should().Be(20, "the junk component is noisy");
        gmm.Recall.Should().Be(20.0 / 25);
        result.Methods["mean_loss"].NoisyLabelledHard.Should().BeNull("a baseline has no labels");
        result.Methods["mean_loss"].Flagged.Should().Be(20, "baselines flag as many as the GMM");
    }

    [Fact]
    public void Loss_per_byte_finds_noise_that_mean_loss_per_token_misses()
    {
        // Every document has the same loss per token, but the noisy ones cover fewer bytes per token (junk that the tokenizer
        // cuts into short pieces), so they cost more per byte.
        var rng = new Random(5);
        var noisy = Enumerable.Range(0, 100).Select(i => i % 5 == 0).ToArray();
        var stats = noisy.Select(n => new LossStatistics(200, 4 + 0.1 * rng.NextDouble(), 200 * (1 + 0.1 * rng.NextDouble()),
            n ? 300 + rng.Next(50) : 800 + rng.Next(50))).ToArray();
        var ids = noisy.Select((_, i) => $"d{i}").ToList();
        var labels = ids.Select((id, i) => (id, new CorpusLabel(noisy[i], noisy[i] ? "junk" : null))).ToDictionary();
        var settings = new DetectionSettings(new GmmFitOptions(Seed: 0), LabellingDefaults.Settings with { Components = 2 });

        var result = CorpusDetection.Evaluate(new DetectionCorpus("bytes", "bytes.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats), null, settings);

        result.Methods["loss_per_byte"].Auroc.Should().Be(1.0);
        result.Methods["loss_per_byte_two_sided"].Auroc.Should().Be(1.0, "the noisy fifth lies far from the median");
        result.Methods["bytes_per_token_two_sided"].Auroc.Should().Be(1.0);
        result.Methods["mean_loss"].Auroc.Should().BeInRange(0.25, 0.75, "per token the noise looks like the rest");

        var withoutBytes = CorpusDetection.Evaluate(new DetectionCorpus("old", "old.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats.Select(s => s with { Bytes = 0 }).ToArray()), null, settings);
        withoutBytes.Methods.Keys.Should().Equal("gmm", "mean_loss", "variance", "mean_loss_two_sided");
    }

    [Fact]
    public void With_compression_ratios_the_filters_on_the_ratio_alone_are_baselines_too()
    {
        // The noisy fifth repeats itself (ratio 0.15 against 0.45) and is otherwise like the rest.
        var rng = new Random(8);
        var noisy = Enumerable.Range(0, 100).Select(i => i % 5 == 0).ToArray();
        var stats = noisy.Select(n => new LossStatistics(200, 4 + 0.1 * rng.NextDouble(), 200 * (1 + 0.1 * rng.NextDouble()),
            800 + rng.Next(50), (n ? 0.15 : 0.45) * (1 + 0.05 * rng.NextDouble()))).ToArray();
        var ids = noisy.Select((_, i) => $"d{i}").ToList();
        var labels = ids.Select((id, i) => (id, new CorpusLabel(noisy[i], noisy[i] ? "stuffing" : null))).ToDictionary();
        var settings = new DetectionSettings(new GmmFitOptions(Seed: 0), LabellingDefaults.Settings with { Components = 2 });

        var result = CorpusDetection.Evaluate(new DetectionCorpus("ratio", "ratio.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats), null, settings);
        var partly = CorpusDetection.Evaluate(new DetectionCorpus("partly", "partly.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats.Select((s, i) => i == 3 ? s with { Compression = double.NaN } : s).ToArray()), null, settings);

        result.Methods["compression_ratio"].Auroc.Should().Be(1.0, "the most repetitive documents rank first");
        result.Methods["compression_ratio_two_sided"].Auroc.Should().Be(1.0);
        partly.Methods.Keys.Should().NotContain("compression_ratio", "a baseline needs every document's ratio");
        result.Methods.Keys.Should().NotContain("order_gain", "these documents have no order gain");
    }

    [Fact]
    public void With_order_gains_the_filters_on_the_order_gain_alone_are_baselines_too()
    {
        // The noisy fifth is word salad (order gain about 0, some of it below) and is otherwise like the rest.
        var rng = new Random(9);
        var noisy = Enumerable.Range(0, 100).Select(i => i % 5 == 0).ToArray();
        var stats = noisy.Select(n => new LossStatistics(200, 4 + 0.1 * rng.NextDouble(), 200 * (1 + 0.1 * rng.NextDouble()),
            800 + rng.Next(50), 0.45 * (1 + 0.05 * rng.NextDouble()),
            n ? 0.004 * (rng.NextDouble() - 0.5) : 0.03 * (1 + 0.3 * rng.NextDouble()))).ToArray();
        var ids = noisy.Select((_, i) => $"d{i}").ToList();
        var labels = ids.Select((id, i) => (id, new CorpusLabel(noisy[i], noisy[i] ? "salad" : null))).ToDictionary();
        var settings = new DetectionSettings(new GmmFitOptions(Seed: 0), LabellingDefaults.Settings with { Components = 2 });

        var result = CorpusDetection.Evaluate(new DetectionCorpus("order", "order.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats), null, settings);
        var partly = CorpusDetection.Evaluate(new DetectionCorpus("partly", "partly.jsonl", null, "s", null, null), labels,
            new CorpusScores(ids, stats.Select((s, i) => i == 3 ? s with { OrderGain = double.NaN } : s).ToArray()), null, settings);

        result.Methods["order_gain"].Auroc.Should().Be(1.0, "the documents whose words carry the least order rank first");
        result.Methods["order_gain_two_sided"].Auroc.Should().Be(1.0);
        partly.Methods.Keys.Should().NotContain("order_gain", "a baseline needs every document's order gain");
        partly.Methods.Keys.Should().Contain("compression_ratio");
    }

    [Fact]
    public void The_filter_arms_labels_are_the_noisy_documents_aligned_with_the_input_and_never_an_empty_one()
    {
        var random = new Random(4);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        LossStatistics Clean() => new(200, 3.5 + 0.3 * Normal(), 200 * 5 * Math.Exp(0.2 * Normal()), (long)(800 * Math.Exp(0.1 * Normal())));
        LossStatistics Junk() => new(200, 1.0 + 0.05 * Normal(), 200 * 0.5, 800);
        var truth = Enumerable.Range(0, 600).Select(i => i % 5 == 0).ToArray();
        var stats = truth.Select(noisy => noisy ? Junk() : Clean()).ToList();
        stats[1] = LossStatistics.Empty; // a one-token document: no scored token
        var reference = Enumerable.Range(0, 120).Select(_ => Clean()).ToList();

        var flags = GmmLabelling.NoisyLabels(stats, reference, seed: 0);

        flags.Should().HaveCount(600);
        flags[1].Should().BeFalse("a document without a scored token cannot be labelled");
        flags.Where((_, i) => i != 1).Should().Equal(truth.Where((_, i) => i != 1), "the junk is far from the reference, the rest is not");
    }
}
