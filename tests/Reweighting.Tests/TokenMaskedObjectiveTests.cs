using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Torch;
using Reweighting.Objectives;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Tests;

public sealed class TokenMaskedObjectiveTests
{
    private const int Vocab = 16, Length = 8;
    private const double Tolerance = 1e-4; // float32 forward passes against a float64 recomputation, losses of a few nats
    private static readonly GptConfig Tiny = new(VocabSize: Vocab, ContextLength: Length, Layers: 1, Heads: 2, Embedding: 16);
    private const long Pad = GptModel.IgnoreIndex;

    private static readonly long[] Ids = [1, 5, 9, 3, 7, 2, 8, 8, 0, 4, 4, 11, 15, 6, 13, 2];
    private static readonly long[] Targets = [5, 9, 3, 7, 2, 8, 8, 12, 4, 4, 11, 15, 6, 13, 2, Pad]; // the last position is padding

    /// <summary>A seeded model whose tied embedding is scaled up so its distributions are far from uniform, which makes
    /// MLE and distillation terms (and different tokens' losses) clearly different numbers.</summary>
    private static GptModel Peaked(ulong seed, GptConfig? config = null)
    {
        var model = new GptModel(config ?? Tiny, seed);
        using var noGrad = NoGrad();
        model.TokenEmbedding.Weight.MulInPlace(40);
        return model;
    }

    private static MicroBatch Batch(long[] ids, long[] targets, int batch = 2) =>
        new(FromArray(ids, batch, ids.Length / batch), FromArray(targets, batch, ids.Length / batch), Step: 0, Index: 0);

    /// <summary>log-softmax of a model's logits in float64, [token][vocab], tokens row-major.</summary>
    private static double[][] LogProbabilities(GptModel model, long[] ids)
    {
        using var scope = DisposeScope.Open();
        using var noGrad = NoGrad();
        var logits = model.Forward(FromArray(ids, 2, ids.Length / 2)).ToArray<float>();
        return Enumerable.Range(0, ids.Length).Select(i =>
        {
            var row = logits.Skip(i * Vocab).Take(Vocab).Select(v => (double)v).ToArray();
            var max = row.Max();
            var logZ = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
            return row.Select(v => v - logZ).ToArray();
        }).ToArray();
    }

    [Theory]
    [InlineData(0.25, true)] // 2 of 8 and 2 of 7 valid tokens per sequence
    [InlineData(0.3, true)] // ceil(2.4) = 3 and ceil(2.1) = 3; rounding would give 2 and 2
    [InlineData(0.3, false)] // ceil(0.3 · 15) = 5 over the batch, each sequence holding at least one
    public void The_objective_equals_a_float64_recomputation_of_masked_mle_plus_distillation(double q, bool perSequence)
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        using var reference = Peaked(seed: 9);
        var own = LogProbabilities(model, Ids);
        var theirs = LogProbabilities(reference, Ids);
        var valid = Targets.Select(y => y != Pad).ToArray();
        var loss = Enumerable.Range(0, Ids.Length).Select(i => valid[i] ? -own[i][Targets[i]] : 0).ToArray();

        // The mask, chosen independently: rank valid tokens by loss (ties to the earlier position), take ceil(q · count).
        var mle = new bool[Ids.Length];
        IEnumerable<int> Ranked(IEnumerable<int> positions) => positions.Where(i => valid[i]).OrderByDescending(i => loss[i]).ThenBy(i => i);
        if (perSequence)
        {
            foreach (var s in new[] { 0, 1 })
            {
                var row = Enumerable.Range(s * Length, Length).ToList();
                foreach (var i in Ranked(row).Take((int)Math.Ceiling(q * row.Count(j => valid[j]) - 1e-9))) mle[i] = true;
            }
        }
        else
        {
            foreach (var i in Ranked(Enumerable.Range(0, Ids.Length)).Take(5)) mle[i] = true;
            foreach (var s in new[] { 0, 1 })
                if (!Enumerable.Range(s * Length, Length).Any(i => mle[i])) mle[Ranked(Enumerable.Range(s * Length, Length)).First()] = true;
        }
        var expectedMle = q == 0.25 ? 4 : perSequence ? 6 : mle.Count(m => m);
        mle.Count(m => m).Should().Be(expectedMle);

        var expected = Enumerable.Range(0, Ids.Length).Sum(i =>
            !valid[i] ? 0
            : mle[i] ? loss[i]
            : -Enumerable.Range(0, Vocab).Sum(v => Math.Exp(theirs[i][v]) * own[i][v])) / Ids.Length;
        var distilled = Enumerable.Range(0, Ids.Length).Where(i => valid[i] && !mle[i]).ToList();
        var expectedDistillCe = distilled.Average(i => -Enumerable.Range(0, Vocab).Sum(v => Math.Exp(theirs[i][v]) * own[i][v]));

        var objective = new TokenMaskedObjective(reference, new TokenMaskedOptions(q, perSequence));
        var value = objective.Compute(model, Batch(Ids, Targets));
        value.Objective.ToDouble().Should().BeApproximately(expected, Tolerance);
        value.MeanTokenLoss.ToDouble().Should().BeApproximately(loss.Sum() / Ids.Length, Tolerance, "the plain mean token loss, for reporting");
        value.Objective.ToDouble().Should().NotBeApproximately(value.MeanTokenLoss.ToDouble(), 0.05, "the peaked models make the two objectives differ");
        objective.TakeSummary().Should().Be(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"mle {100.0 * expectedMle / 15:0.#}% of tokens, distill CE {expectedDistillCe:0.00}"));
        objective.TakeSummary().Should().BeNull("the summary covers the micro-batches since the last call");
    }

    [Fact]
    public void Blended_every_token_takes_q_mle_plus_one_minus_q_distillation_whatever_its_loss()
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        using var reference = Peaked(seed: 9);
        var own = LogProbabilities(model, Ids);
        var theirs = LogProbabilities(reference, Ids);
        var valid = Targets.Select(y => y != Pad).ToArray();
        const double q = 0.25;
        double Distill(int i) => -Enumerable.Range(0, Vocab).Sum(v => Math.Exp(theirs[i][v]) * own[i][v]);
        var expected = Enumerable.Range(0, Ids.Length).Sum(i => valid[i] ? q * -own[i][Targets[i]] + (1 - q) * Distill(i) : 0) / Ids.Length;

        var objective = new TokenMaskedObjective(reference, new TokenMaskedOptions(q, Blend: true));
        var value = objective.Compute(model, Batch(Ids, Targets));

        value.Objective.ToDouble().Should().BeApproximately(expected, Tolerance);
        var selected = new TokenMaskedObjective(reference, new TokenMaskedOptions(q)).Compute(model, Batch(Ids, Targets));
        value.Objective.ToDouble().Should()
            .NotBeApproximately(selected.Objective.ToDouble(), 0.01, "selection changes which tokens get MLE");
        objective.TakeSummary().Should().StartWith("mle 26.7% of tokens, distill CE ", "round(0.25 · 15) = 4 of 15 tokens' worth of MLE");
    }

    [Fact]
    public void With_q_one_the_objective_is_the_mean_token_loss()
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        using var reference = Peaked(seed: 9);
        var value = new TokenMaskedObjective(reference, new TokenMaskedOptions(1.0)).Compute(model, Batch(Ids, Targets));
        var plain = model.TokenLosses(FromArray(Ids, 2, Length), FromArray(Targets, 2, Length)).Mean().ToDouble();
        value.Objective.ToDouble().Should().BeApproximately(plain, 1e-6);
        value.MeanTokenLoss.ToDouble().Should().BeApproximately(plain, 1e-6);
    }

    [Fact]
    public void With_q_zero_and_the_model_as_its_own_reference_the_objective_is_the_mean_entropy()
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        using var copy = Peaked(seed: 4);
        var targets = Ids.Skip(1).Append(3L).ToArray(); // no padding: every position counts
        var logP = LogProbabilities(model, Ids);
        var entropy = logP.Average(row => -row.Sum(l => Math.Exp(l) * l));
        var meanLoss = Enumerable.Range(0, Ids.Length).Average(i => -logP[i][targets[i]]);

        var objective = new TokenMaskedObjective(copy, new TokenMaskedOptions(0.0));
        var value = objective.Compute(model, Batch(Ids, targets));
        value.Objective.ToDouble().Should().BeApproximately(entropy, Tolerance);
        value.MeanTokenLoss.ToDouble().Should().BeApproximately(meanLoss, Tolerance);
        objective.TakeSummary().Should().StartWith("mle 0% of tokens, distill CE ");
    }

    [Fact]
    public void Gradients_reach_the_model_and_not_the_reference_which_runs_in_eval_mode()
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        // Dropout in the reference: left in training mode, two passes would differ unless the objective switches it to eval.
        using var reference = Peaked(seed: 9, Tiny with { Dropout = 0.5 });
        reference.Train();
        var objective = new TokenMaskedObjective(reference);
        var first = objective.Compute(model, Batch(Ids, Targets));
        var second = objective.Compute(model, Batch(Ids, Targets));
        second.Objective.ToDouble().Should().Be(first.Objective.ToDouble(), "the reference has no dropout in eval mode");
        reference.IsTraining.Should().BeTrue("the reference's mode is restored");

        first.Objective.Backward();
        foreach (var (name, p) in model.NamedParameters())
            p.Grad.Should().NotBeNull($"{name} is trained");
        model.TokenEmbedding.Weight.Grad!.Norm().ToDouble().Should().BeGreaterThan(0);
        foreach (var (name, p) in reference.NamedParameters())
            p.Grad.Should().BeNull($"the reference's {name} gets no gradient");
    }

    [Theory]
    [InlineData(0.25, 8, 2)]
    [InlineData(0.25, 10, 3)] // 2.5 rounds up
    [InlineData(0.3, 10, 3)] // 0.3 · 10 is 3.0000000000000004 in floating point, still 3
    [InlineData(0.1, 5, 1)]
    [InlineData(0.01, 3, 1)] // q > 0 always trains at least one token by MLE
    [InlineData(0.5, 7, 4)]
    [InlineData(1.0, 7, 7)]
    [InlineData(0.0, 5, 0)]
    public void The_mask_selects_ceil_q_times_t_tokens_per_sequence(double q, int length, int expected)
    {
        TokenMaskedOptions.MleCount(q, length).Should().Be(expected);
        var rng = new Random(length);
        var losses = Enumerable.Range(0, 3 * length).Select(_ => (float)rng.NextDouble()).ToArray();
        var mle = TokenMaskedObjective.SelectMleTokens(losses, Enumerable.Repeat(true, losses.Length).ToArray(), 3, length, new TokenMaskedOptions(q));
        for (var s = 0; s < 3; s++)
        {
            var row = Enumerable.Range(s * length, length).ToList();
            row.Count(i => mle[i]).Should().Be(expected, $"sequence {s}");
            if (expected > 0 && expected < length) // every MLE token's loss is at least every distilled token's
                row.Where(i => mle[i]).Min(i => losses[i]).Should().BeGreaterThanOrEqualTo(row.Where(i => !mle[i]).Max(i => losses[i]));
        }
    }

    [Fact]
    public void Ties_go_to_the_earlier_token_and_padding_is_never_selected()
    {
        float[] losses = [1, 3, 3, 2, /**/ 9, 5, 5, 5];
        bool[] valid = [true, true, true, true, /**/ false, true, true, true];
        var mle = TokenMaskedObjective.SelectMleTokens(losses, valid, 2, 4, new TokenMaskedOptions(0.25));
        mle.Should().Equal(false, true, false, false, /**/ false, true, false, false);
        mle = TokenMaskedObjective.SelectMleTokens(losses, valid, 2, 4, new TokenMaskedOptions(0.5));
        mle.Should().Equal(false, true, true, false, /**/ false, true, true, false);
    }

    [Fact]
    public void Batch_wide_selection_still_gives_every_sequence_its_hardest_token()
    {
        float[] losses = [9, 8, 7, 6, /**/ 1, 2, 3, 1];
        var all = Enumerable.Repeat(true, 8).ToArray();
        var mle = TokenMaskedObjective.SelectMleTokens(losses, all, 2, 4, new TokenMaskedOptions(0.25, PerSequence: false));
        // ceil(0.25 · 8) = 2 over the batch lands in sequence 0; sequence 1 adds its own hardest token.
        mle.Should().Equal(true, true, false, false, /**/ false, false, true, false);
        TokenMaskedObjective.SelectMleTokens(losses, all, 2, 4, new TokenMaskedOptions(0.25)).Should()
            .Equal(true, false, false, false, /**/ false, false, true, false);
    }

    [Fact]
    public void A_reference_with_another_vocabulary_or_a_fraction_outside_zero_to_one_is_refused()
    {
        using var scope = DisposeScope.Open();
        using var model = Peaked(seed: 4);
        using var other = new GptModel(Tiny with { VocabSize = Vocab + 1 }, seed: 9);
        var act = () => new TokenMaskedObjective(other).Compute(model, Batch(Ids, Targets));
        act.Should().Throw<ArgumentException>().WithMessage("*vocabulary (17)*(16)*");
        foreach (var q in new[] { -0.1, 1.5, double.NaN })
            FluentActions.Invoking(() => new TokenMaskedObjective(model, new TokenMaskedOptions(q))).Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Training_with_the_objective_lowers_the_loss_and_leaves_the_reference_unchanged()
    {
        var config = new GptConfig(VocabSize: 32, ContextLength: 16, Layers: 1, Heads: 2, Embedding: 32);
        var rng = new Random(1);
        var docs = Enumerable.Range(0, 40).Select(_ =>
        {
            var start = rng.Next(28);
            return (IReadOnlyList<long>)Enumerable.Range(0, 20).Select(i => (long)((start + i) % 31)).ToArray(); // counting: learnable
        }).ToList();
        var options = new TrainingOptions { Steps = 20, BatchSize = 4, SequenceLength = 16, LearningRate = 1e-2, MinLearningRate = 1e-3, WarmupSteps = 1 };

        // The reference stands in for the proxy: briefly trained by plain MLE on other sequences of the same data.
        using var reference = new GptModel(config, seed: 9);
        new GptTrainer(reference, new TokenStream(docs, 31, 16, seed: 5), options).Run();
        var before = reference.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());
        using var model = new GptModel(config, seed: 4);
        var summaries = new List<string?>();
        var losses = new GptTrainer(model, new TokenStream(docs, 31, 16, seed: 3), options) { Objective = new TokenMaskedObjective(reference) }
            .Run(progress: p => summaries.Add(p.ObjectiveSummary));

        losses.Last().Should().BeLessThan(losses.First() - 0.8, "MLE on the hardest quarter plus distillation from a trained reference teaches counting");
        summaries.Should().HaveCount(options.Steps).And.OnlyContain(s => s != null && s.StartsWith("mle 25% of tokens, distill CE "));
        foreach (var (name, tensor) in reference.StateDict())
            tensor.ToArray<float>().Should().Equal(before[name], $"the reference's {name} is not trained");
    }
}
