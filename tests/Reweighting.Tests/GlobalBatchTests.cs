using FluentAssertions;
using Reweighting.Objectives;
using Reweighting.Strategies;
using Reweighting.Torch.Distributed;
using Xunit;

namespace Reweighting.Tests;

/// <summary>Under data parallelism a strategy weighs the global batch: two ranks (threads, as two processes would be)
/// gather their halves and keep their slices of the weights one rank computes on the whole batch.</summary>
public sealed class GlobalBatchTests
{
    private static readonly BatchScores Whole = new([2.0, 9.5, 3.1, 2.7, 8.8, 3.3, 2.9, 3.0], [64, 64, 32, 64, 64, 16, 64, 64],
        [0.5, 4.0, 0.6, 0.4, 3.9, 0.7, 0.5, 0.6]);

    private static BatchScores Half(int rank)
    {
        var range = (rank * 4)..(rank * 4 + 4);
        return new(Whole.Losses[range], Whole.TokenCounts[range], Whole.Variances![range]);
    }

    [Fact]
    public void Ranks_weighing_the_gathered_batch_keep_their_slices_of_the_whole_batchs_weights()
    {
        var strategy = new LinUpperStrategy();
        var whole = strategy.Weigh(Whole, new StrategyState(3));
        var expected = whole.LossCoefficients(Whole.TokenCounts);

        var results = LocalRanks.Run(2, group =>
        {
            var gathered = GlobalBatch.Gather(group, Half(group.Rank));
            var weights = strategy.Weigh(gathered, new StrategyState(3));
            return (Gathered: gathered, Slice: GlobalBatch.Local(group, weights.LossCoefficients(gathered.TokenCounts)));
        }, TimeSpan.FromMinutes(1));
        var gathered = results.Select(r => r.Gathered).ToArray();
        var slices = results.Select(r => r.Slice).ToArray();

        gathered.Should().AllSatisfy(g =>
        {
            g.Losses.Should().Equal(Whole.Losses);
            g.TokenCounts.Should().Equal(Whole.TokenCounts);
            g.Variances.Should().Equal(Whole.Variances);
        });
        slices[0].Concat(slices[1]).Should().Equal(expected, "the softmax, the 2/M bound and the token shares span both ranks");
        // Weighing each half alone would not: the two high-loss samples would each take their own half's weight.
        var alone = strategy.Weigh(Half(0), new StrategyState(3)).LossCoefficients(Half(0).TokenCounts);
        alone.Should().NotEqual(slices[0]);
    }
}
