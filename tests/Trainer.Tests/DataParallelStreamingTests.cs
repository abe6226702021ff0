using FluentAssertions;
using Reweighting.InProcessKafka;
using Reweighting.Modeling.Training;
using Reweighting.Torch.Distributed;
using Xunit;

namespace Reweighting.Trainer.Tests;

/// <summary>The streaming trainer as two data-parallel ranks over Gloo (threads of this process, joined through a TCP
/// store as separate processes are): rank 0 reads the stream and passes every record on, each rank trains half of every
/// step's batch, and together they follow one trainer on the whole batch, for uniform training, a strategy that weighs the
/// model's own losses over the global batch (linupper, with gradient accumulation) and meta-em (whose GMM rank 0 fits and
/// sends, and whose meta-update all-gathers the alignments). A stop asked of any rank stops both after the same step, and
/// both resume from rank 0's checkpoint on the same trajectory.</summary>
public sealed class DataParallelStreamingTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);
    private readonly TrainerHarness _harness = new();

    public void Dispose() => _harness.Dispose();

    private sealed record RankRun(StreamingRunResult Result, float[] Parameters, long Sequences);

    private static float[] Parameters(Modeling.Gpt.GptModel model) => model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();

    private static RankRun Single(InProcessKafkaCluster cluster, TrainerOptions options)
    {
        using var model = TrainerHarness.Model();
        using var trainer = new StreamingTrainer(model, options);
        using var consumer = ScoredStream.Consumer(cluster);
        var result = trainer.RunAsync(consumer, ScoredStream.Partitions(cluster)).GetAwaiter().GetResult();
        return new RankRun(result, Parameters(model), trainer.SequencesTrained);
    }

    private static RankRun[] Ranks(InProcessKafkaCluster cluster, TrainerOptions options, long? rankOneStopsAfter = null) =>
        LocalRanks.Run(2, group =>
        {
            using var stop = new CancellationTokenSource();
            using var model = TrainerHarness.Model();
            using var trainer = new StreamingTrainer(model, options, group: group)
            {
                StepCompleted = r =>
                {
                    if (group.Rank == 1 && r.Step == rankOneStopsAfter) stop.Cancel();
                },
            };
            StreamingRunResult result;
            if (group.Rank == 0)
            {
                using var consumer = ScoredStream.Consumer(cluster);
                result = trainer.RunAsync(consumer, ScoredStream.Partitions(cluster), stop.Token).GetAwaiter().GetResult();
            }
            else
            {
                result = trainer.FollowAsync(stop.Token).GetAwaiter().GetResult();
            }
            return new RankRun(result, Parameters(model), trainer.SequencesTrained);
        }, Timeout);

    private static void ShouldFollow(IReadOnlyList<double> losses, IReadOnlyList<double> expected, string what)
    {
        losses.Should().HaveCount(expected.Count, what);
        for (var i = 0; i < expected.Count; i++) losses[i].Should().BeApproximately(expected[i], 1e-5, $"{what}, step {i + 1}");
    }

    private static void ShouldMatch(float[] parameters, float[] expected, string what)
    {
        parameters.Should().HaveCount(expected.Length);
        parameters.Zip(expected, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan(1e-4f, what);
    }

    [Theory]
    [InlineData("uniform", 1)]
    [InlineData("linupper", 2)]
    [InlineData("meta-em", 1)]
    public void Two_ranks_follow_one_trainer_on_the_same_stream(string strategy, int accumulation)
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(60));
        var options = _harness.Options(strategy, steps: 8);
        options = options with { Training = options.Training with { GradientAccumulation = accumulation } };

        var single = Single(cluster, options with { CheckpointDirectory = Path.Combine(_harness.Directory, "single") });
        var ranks = Ranks(cluster,
            options with { CheckpointDirectory = Path.Combine(_harness.Directory, "ranks"), ConsumerGroup = "ranks" });

        single.Result.Step.Should().Be(8);
        foreach (var (rank, r) in ranks.Select((r, i) => (i, r)))
        {
            r.Result.Stop.Should().Be(TrainerStopReason.Completed, $"rank {rank}");
            ShouldFollow(r.Result.Losses, single.Result.Losses, $"{strategy} ×{accumulation}, rank {rank}");
            ShouldMatch(r.Parameters, single.Parameters,
                $"{strategy} ×{accumulation}, rank {rank}: the averaged update is the whole batch's");
            r.Sequences.Should().Be(single.Sequences / 2, "each rank trains its half of every step's batch");
        }
    }

    [Fact]
    public void A_stop_asked_of_rank_one_stops_both_after_the_same_step_and_both_resume_from_rank_zeros_checkpoint()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(60));
        var options = _harness.Options("linupper", steps: 9) with { StopWhenIdleFor = TimeSpan.FromSeconds(2) };
        var uninterrupted = Single(cluster, options with { CheckpointDirectory = Path.Combine(_harness.Directory, "single") });

        var stopped = Ranks(cluster, options, rankOneStopsAfter: 4);
        stopped.Select(r => r.Result.Stop).Should().Equal(TrainerStopReason.Shutdown, TrainerStopReason.Shutdown);
        stopped.Select(r => r.Result.Step).Should().Equal(4L, 4L);
        File.Exists(Path.Combine(options.CheckpointDirectory, Modeling.Checkpoints.Checkpoint.StateFile))
            .Should().BeTrue("rank 0 checkpoints the stop");

        var resumed = Ranks(cluster, options);
        foreach (var rank in new[] { 0, 1 })
        {
            resumed[rank].Result.Stop.Should().Be(TrainerStopReason.Completed);
            ShouldFollow(stopped[rank].Result.Losses.Concat(resumed[rank].Result.Losses).ToList(), uninterrupted.Result.Losses,
                $"rank {rank}, stopped after step 4 and resumed: the same batches, each once, in the same order");
            ShouldMatch(resumed[rank].Parameters, uninterrupted.Parameters, $"rank {rank}");
        }
    }

    [Fact]
    public void Ranks_that_would_resume_from_different_checkpoints_refuse_to_start()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(30));
        var options = _harness.Options("uniform", steps: 3);
        Single(cluster, options).Result.Step.Should().Be(3);

        var act = () => LocalRanks.Run(2, group =>
        {
            using var model = TrainerHarness.Model();
            var own = group.Rank == 0 ? options : options with { CheckpointDirectory = Path.Combine(_harness.Directory, "elsewhere") };
            using var trainer = new StreamingTrainer(model, own with { Training = own.Training with { Steps = 6 } }, group: group);
            using var consumer = ScoredStream.Consumer(cluster);
            return group.Rank == 0
                ? trainer.RunAsync(consumer, ScoredStream.Partitions(cluster)).GetAwaiter().GetResult()
                : trainer.FollowAsync().GetAwaiter().GetResult();
        }, Timeout);

        act.Should().Throw<AggregateException>().Which.InnerExceptions.Should().HaveCount(2)
            .And.OnlyContain(e => e.Message.Contains("rank 0: 3, rank 1: 0") && e.Message.Contains("must be the same directory"));
    }

    [Fact]
    public void A_micro_batch_that_does_not_split_over_the_ranks_is_refused()
    {
        var options = _harness.Options() with { Training = _harness.Options().Training with { BatchSize = 3 } };
        var act = () => LocalRanks.Run(2, group =>
        {
            using var model = TrainerHarness.Model();
            using var trainer = new StreamingTrainer(model, options, group: group);
            return 0;
        }, Timeout);
        act.Should().Throw<AggregateException>().Which.InnerExceptions.Should()
            .OnlyContain(e => e.Message.Contains("3 sequences does not split evenly over 2 ranks"));
    }
}
