using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using Reweighting.Torch.Optim;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

/// <summary>The data-parallel step the trainer is to take: two ranks (threads, as two processes would be), each with
/// half of the global batch and the same initial model, average their gradients with one bucketed all-reduce before
/// AdamW; their losses and parameters must follow the single-rank run on the whole batch.</summary>
public sealed class DataParallelStepTests
{
    private static readonly GptConfig Tiny = GptConfig.Preset("tiny", vocabSize: 50);
    private const int Steps = 5;

    private static long[] Batch(int step)
    {
        var rng = new Random(100 + step);
        return Enumerable.Range(0, 8 * 33).Select(_ => (long)rng.Next(50)).ToArray();
    }

    /// <summary>Trains <see cref="Steps"/> steps on rows [first, first + rows) of each global batch of 8; with a group,
    /// averages gradients over it. Returns the global-batch loss of every step as this rank sees it, the first step's
    /// (averaged) gradients, and the parameters.</summary>
    private static (double[] Losses, float[] FirstGradients, float[] Parameters) Train(int first, int rows, ProcessGroup? group)
    {
        using var model = new GptModel(Tiny, seed: 5);
        var (decay, noDecay) = model.DecayGroups();
        using var opt = new AdamW([new ParamGroup(decay, 3e-3, 0.1), new ParamGroup(noDecay, 3e-3, 0.0)]);
        var losses = new double[Steps];
        float[] firstGradients = [];
        for (var step = 0; step < Steps; step++)
        {
            using var scope = DisposeScope.Open();
            var batch = FromArray(Batch(step), 8, 33).Narrow(0, first, rows);
            var loss = model.TokenLosses(batch.Narrow(1, 0, 32), batch.Narrow(1, 1, 32)).Mean();
            opt.ZeroGrad();
            loss.Backward();
            var value = FromArray(new[] { loss.ToDouble() }, 1);
            if (group is not null)
            {
                group.AllReduceMean(model.Parameters().Select(p => p.Grad!).ToList());
                group.AllReduceMean([value]);
            }
            if (step == 0) firstGradients = model.Parameters().SelectMany(p => p.Grad!.ToArray<float>()).ToArray();
            opt.Step();
            losses[step] = value.ToArray<double>()[0];
        }
        var parameters = model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
        return (losses, firstGradients, parameters);
    }

    [Fact]
    public void Two_ranks_averaging_gradients_follow_one_rank_on_the_whole_batch()
    {
        var single = Train(0, 8, null);

        var ranks = LocalRanks.Run(2, group => Train(group.Rank * 4, 4, group), TimeSpan.FromMinutes(2));

        ranks[0].Parameters.Should().Equal(ranks[1].Parameters, "both ranks apply the same averaged update");
        for (var step = 0; step < Steps; step++)
            ranks[0].Losses[step].Should().BeApproximately(single.Losses[step], 1e-5,
                $"step {step}: the mean of the halves is the whole batch's mean");
        // The averaged gradient is the whole batch's, up to float rounding (the halves' sums are added in another order).
        var scale = single.FirstGradients.Max(Math.Abs);
        ranks[0].FirstGradients.Zip(single.FirstGradients, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-5f * scale);
        // AdamW divides each gradient by its own running magnitude, so where a gradient is near zero a rounding difference
        // can move a parameter by up to the learning rate (3e-3) in a step; the parameters agree to a fraction of that.
        var drift = ranks[0].Parameters.Zip(single.Parameters, (a, b) => Math.Abs(a - b)).Max();
        drift.Should().BeLessThan(1e-3f, "the ranks took the whole batch's steps, up to AdamW's amplified rounding");
    }
}
