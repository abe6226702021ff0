using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Xunit;

namespace Reweighting.Modeling.Tests;

public sealed class TrainerTests
{
    private static readonly GptConfig Config = new(VocabSize: 32, ContextLength: 16, Layers: 2, Heads: 2, Embedding: 32, Dropout: 0.1);

    private static TokenStream Data(ulong seed = 3)
    {
        var rng = new Random(1);
        // Documents with structure (counting sequences) so the loss can fall.
        var docs = Enumerable.Range(0, 40).Select(_ =>
        {
            var start = rng.Next(28);
            return (IReadOnlyList<long>)Enumerable.Range(0, 20).Select(i => (long)((start + i) % 31)).ToArray();
        });
        return new TokenStream(docs, endOfText: 31, sequenceLength: 16, seed);
    }

    private static readonly TrainingOptions Options = new()
    {
        Steps = 8, BatchSize = 4, SequenceLength = 16, GradientAccumulation = 2, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 2,
    };

    [Fact]
    public void Resuming_from_a_checkpoint_reproduces_the_uninterrupted_run()
    {
        using var dir = new TestSupport.TempDirectory();
        using var full = new GptModel(Config, seed: 4);
        var expected = new GptTrainer(full, Data(), Options).Run();

        using var first = new GptModel(Config, seed: 4);
        var ckpt = Path.Combine(dir.Path, "ckpt");
        var head = new GptTrainer(first, Data(), Options with { Steps = 8 }) { CheckpointDirectory = ckpt }
            .Run(cancel: CancelAfter(3, out var progress), progress: progress);
        head.Should().HaveCount(3);

        using var resumed = new GptModel(Config, seed: 99); // weights come from the checkpoint
        var tail = new GptTrainer(resumed, Data(), Options).Run(resumeFrom: ckpt);
        head.Concat(tail).Should().Equal(expected, "the same data, dropout masks and optimizer state");
        expected.Last().Should().BeLessThan(expected.First());
    }

    [Fact]
    public void A_queued_step_reports_what_run_reports_and_once_disposed_cannot_be_read()
    {
        StepResult Take(bool queued)
        {
            using var model = new GptModel(Config, seed: 4);
            using var step = new TrainingStep(model, Options);
            var data = Data();
            IReadOnlyList<MicroBatch> Build() => Enumerable.Range(0, 2).Select(i =>
            {
                var (x, y) = data.Batch(4L * i, 4);
                return step.MicroBatch(x, y, 4, 0, i);
            }).ToList();
            if (!queued) return step.Run(0, new MeanTokenLossObjective(), Build);
            using var pending = step.Begin(0, new MeanTokenLossObjective(), Build);
            var first = pending.Complete();
            pending.Complete().Should().BeSameAs(first, "completing again reports the same step");
            return first;
        }
        var run = Take(queued: false);
        var queued = Take(queued: true);
        queued.Should().Be(run);
        run.Loss.Should().BePositive();
        run.GradNorm.Should().BePositive();

        using var other = new GptModel(Config, seed: 4);
        using var training = new TrainingStep(other, Options);
        var stream = Data();
        var abandoned = training.Begin(0, new MeanTokenLossObjective(), () =>
        {
            var (x, y) = stream.Batch(0, 4);
            return [training.MicroBatch(x, y, 4, 0, 0)];
        });
        abandoned.Dispose();
        abandoned.Invoking(p => p.Complete()).Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Held_out_loss_is_reported_per_domain_and_overall()
    {
        using var model = new GptModel(Config with { Dropout = 0 }, seed: 4);
        var heldOut = new Dictionary<string, IReadOnlyList<IReadOnlyList<long>>>
        {
            ["code"] = [new long[] { 1, 2, 3, 4, 5 }],
            ["web"] = [new long[] { 7, 8, 9 }, Enumerable.Range(0, 40).Select(i => (long)(i % 30)).ToArray()],
        };
        var reports = new List<TrainingProgress>();
        new GptTrainer(model, Data(), Options with { Steps = 2, EvalEvery = 1 }) { HeldOut = heldOut }.Run(progress: reports.Add);
        reports.Should().HaveCount(2).And.OnlyContain(r => r.HeldOutLoss != null);
        var last = reports.Last().HeldOutLoss!;
        last.Keys.Should().BeEquivalentTo(["code", "web", "all"]);
        // "all" is the token-weighted mean: 4 predictions of code, 2 + 39 of web.
        last["all"].Should().BeApproximately((last["code"] * 4 + last["web"] * 41) / 45, 1e-9);
        reports.Should().OnlyContain(r => r.TokensPerSecond > 0 && r.LearningRate > 0);
    }

    [Fact]
    public void The_learning_rate_warms_up_linearly_then_decays_by_cosine_to_the_floor()
    {
        var o = new TrainingOptions { Steps = 110, WarmupSteps = 10, LearningRate = 1.0, MinLearningRate = 0.1 };
        LearningRateSchedule.At(0, o).Should().BeApproximately(0.1, 1e-12);
        LearningRateSchedule.At(9, o).Should().BeApproximately(1.0, 1e-12);
        LearningRateSchedule.At(10, o).Should().BeApproximately(1.0, 1e-12);
        LearningRateSchedule.At(60, o).Should().BeApproximately(0.55, 1e-12);
        LearningRateSchedule.At(110, o).Should().BeApproximately(0.1, 1e-12);
        Assert.Throws<ArgumentException>(() => (o with { MinLearningRate = 2 }).Validate());
    }

    [Fact]
    public void The_data_order_is_a_seeded_function_of_the_sequence_index()
    {
        var a = Data(seed: 5);
        var b = Data(seed: 5);
        var c = Data(seed: 6);
        Enumerable.Range(0, 50).Select(i => a.Sequence(i).Inputs[0]).Should().Equal(Enumerable.Range(0, 50).Select(i => b.Sequence(i).Inputs[0]));
        Enumerable.Range(0, 50).Select(i => a.Sequence(i).Inputs[0]).Should().NotEqual(Enumerable.Range(0, 50).Select(i => c.Sequence(i).Inputs[0]));
        var (x, y) = a.Sequence(7);
        y[..^1].Should().Equal(x[1..], "targets are the inputs shifted by one");
        Assert.Throws<ArgumentException>(() => new TokenStream([new long[] { 1 }], 0, 16, 1));
    }

    [Fact]
    public void Composition_names_the_documents_behind_each_sequences_targets()
    {
        // Documents of 5, 3 and 6 tokens, joined by end-of-text (99): 0..4 99 | 10..12 99 | 20..25 99.
        var docs = new[] { new long[] { 0, 1, 2, 3, 4 }, new long[] { 10, 11, 12 }, new long[] { 20, 21, 22, 23, 24, 25 } };
        var stream = new TokenStream(docs, 99, 4, seed: 7);
        for (var i = 0; i < stream.SequencesPerEpoch; i++)
        {
            var (_, targets) = stream.Sequence(i);
            var parts = stream.Composition(i);
            parts.Sum(p => p.Tokens).Should().Be(4);
            var expanded = parts.SelectMany(p => Enumerable.Repeat(p.Document, p.Tokens)).ToArray();
            // Each target token belongs to the document whose ids (or end-of-text) it is.
            for (var t = 0; t < 4; t++)
                expanded[t].Should().Be(targets[t] == 99 ? expanded[t] : (int)(targets[t] / 10), $"sequence {i} position {t}");
        }
    }

    [Fact]
    public void Uniform_sample_coefficients_reproduce_plain_training_and_other_weights_change_it()
    {
        using var plainModel = new GptModel(Config with { Dropout = 0 }, seed: 4);
        var plain = new GptTrainer(plainModel, Data(), Options).Run();
        using var uniformModel = new GptModel(Config with { Dropout = 0 }, seed: 4);
        var seen = new List<SampleLosses>();
        var uniform = new GptTrainer(uniformModel, Data(), Options)
        {
            SampleWeights = (batch, _) =>
            {
                seen.Add(batch);
                return batch.Losses.Select(_ => 1.0 / batch.Losses.Length).ToArray();
            },
        }.Run();
        for (var i = 0; i < plain.Count; i++) uniform[i].Should().BeApproximately(plain[i], 1e-5);
        seen.Should().HaveCount(Options.Steps * Options.GradientAccumulation);
        seen.Should().OnlyContain(b => b.Losses.Length == Options.BatchSize && b.TokenCounts.All(n => n == Options.SequenceLength));

        using var skewedModel = new GptModel(Config with { Dropout = 0 }, seed: 4);
        var skewed = new GptTrainer(skewedModel, Data(), Options)
        {
            SampleWeights = (batch, _) => batch.Losses.Select((_, i) => i == 0 ? 1.0 : 0.0).ToArray(), // only the first sequence counts
        }.Run();
        skewed.Skip(1).Should().NotEqual(plain.Skip(1));
        skewed[0].Should().BeApproximately(plain[0], 1e-6, "the reported loss is the plain token mean before any update");
    }

    private static CancellationToken CancelAfter(int steps, out Action<TrainingProgress> progress)
    {
        var cts = new CancellationTokenSource();
        progress = p =>
        {
            if (p.Step >= steps) cts.Cancel();
        };
        return cts.Token;
    }
}
