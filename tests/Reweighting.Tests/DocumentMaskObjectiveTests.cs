using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Objectives;
using Reweighting.Torch;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Tests;

/// <summary>The weighting oracle's objective: weight 0 on the tokens of flagged documents, the mean over the rest of the step.</summary>
public sealed class DocumentMaskObjectiveTests
{
    private static readonly GptConfig Config = new(VocabSize: 20, ContextLength: 10, Layers: 1, Heads: 2, Embedding: 16, Dropout: 0);

    private static readonly int[] Lengths = [25, 3, 40, 12, 30, 7, 18, 22, 9, 35, 16, 28];

    private static TokenStream Data() => new(
        Lengths.Select((n, d) => (IReadOnlyList<long>)Enumerable.Range(0, n).Select(i => (long)((d * 7 + i * (d % 4 + 1)) % 19)).ToArray()).ToList(),
        19, 10, 5);

    private static readonly bool[] Drop = [.. Lengths.Select((_, d) => d % 3 == 1)];

    [Fact]
    public void The_mask_is_zero_exactly_on_the_target_tokens_of_flagged_documents()
    {
        var data = Data();
        var objective = new DocumentMaskObjective(data, Drop, batchSize: 2, gradientAccumulation: 1);
        bool sawMixed = false, sawDropped = false;
        for (long s = 0; s < data.SequencesPerEpoch; s++)
        {
            var mask = objective.Mask(s);
            var expected = data.Composition(s).SelectMany(p => Enumerable.Repeat(Drop[p.Document] ? 0f : 1f, p.Tokens)).ToArray();
            mask.Should().Equal(expected);
            sawMixed |= mask.Contains(0f) && mask.Contains(1f);
            sawDropped |= mask.All(m => m == 0f);
        }
        sawMixed.Should().BeTrue("some sequence mixes a flagged and a kept document, so the mask is per token, not per sequence");
        sawDropped.Should().BeTrue("some sequence lies inside a flagged document");
    }

    [Fact]
    public void The_objective_is_the_mean_token_loss_over_the_kept_tokens()
    {
        var data = Data();
        var objective = new DocumentMaskObjective(data, Drop, batchSize: 4, gradientAccumulation: 1);
        using var model = new GptModel(Config, seed: 1);
        var (inputs, targets) = data.Batch(4, 4);
        using var ids = FromSpan<long>(inputs, [4, 10], Device.Cpu);
        using var y = FromSpan<long>(targets, [4, 10], Device.Cpu);
        var batch = new MicroBatch(ids, y, Step: 1, Index: 0);
        objective.BeginStep(model, new StepContext(1, 1e-3, [batch]));
        var value = objective.Compute(model, batch).Objective.ToArray<float>()[0];

        var losses = model.TokenLosses(ids, y).ToArray<float>();
        var mask = Enumerable.Range(4, 4).SelectMany(s => objective.Mask(s)).ToArray();
        mask.Should().Contain(0f).And.Contain(1f, "the batch mixes kept and flagged tokens, so the test can tell");
        var expected = losses.Where((_, i) => mask[i] > 0).Average();
        value.Should().BeApproximately(expected, 1e-5f);
        objective.Tokens.Should().Be((mask.Count(m => m > 0), 40L));
    }

    [Fact]
    public void Without_flags_it_trains_like_the_plain_token_mean_and_across_micro_batches_like_one_batch()
    {
        var options = new TrainingOptions { Steps = 3, BatchSize = 8, SequenceLength = 10, GradientAccumulation = 1, LearningRate = 3e-3, WarmupSteps = 1 };
        using var plainModel = new GptModel(Config, seed: 1);
        var plain = new GptTrainer(plainModel, Data(), options).Run();
        using var unflaggedModel = new GptModel(Config, seed: 1);
        var unflagged = new GptTrainer(unflaggedModel, Data(), options)
            { Objective = new DocumentMaskObjective(Data(), new bool[Lengths.Length], 8, 1) }.Run();
        unflagged.Should().Equal(plain, (a, b) => Math.Abs(a - b) < 1e-5);
        Parameters(unflaggedModel).Should().Equal(Parameters(plainModel), (a, b) => Math.Abs(a - b) < 1e-6);

        var one = Train(options, batch: 8, accumulation: 1);
        var four = Train(options, batch: 2, accumulation: 4);
        four.Should().Equal(one, (a, b) => Math.Abs(a - b) < 2e-5, "the kept tokens' mean spans the whole step");
        one.Zip(Parameters(plainModel), (a, b) => Math.Abs(a - b)).Max().Should().BeGreaterThan(1e-4f, "flagged tokens change the update");
    }

    private static float[] Train(TrainingOptions options, int batch, int accumulation)
    {
        using var model = new GptModel(Config, seed: 1);
        new GptTrainer(model, Data(), options with { BatchSize = batch, GradientAccumulation = accumulation })
            { Objective = new DocumentMaskObjective(Data(), Drop, batch, accumulation) }.Run();
        return Parameters(model);
    }

    private static float[] Parameters(GptModel model) => [.. model.Parameters().SelectMany(t => t.ToArray<float>())];
}
