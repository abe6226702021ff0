using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.MetaEm;
using Reweighting.Objectives;
using Reweighting.Strategies;
using Xunit;

namespace Reweighting.Trainer.Tests;

public sealed class StreamingTrainerTests
{
    [Theory]
    [InlineData("uniform")]
    [InlineData("meta-em")]
    [InlineData("cluster-heuristic")]
    public async Task A_run_killed_after_a_checkpoint_resumes_and_trains_every_batch_exactly_once_on_the_same_trajectory(string strategy)
    {
        // Batch 3 is resent late in the stream, after the checkpoint the crashed run resumes from: the checkpoint's
        // batch ids must catch it.
        var batches = TrainerHarness.Batches(18);
        batches.Insert(11, batches[3]);
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, batches);

        using var straight = new TrainerHarness();
        var uninterrupted = await straight.RunAsync(cluster, straight.Options(strategy));
        uninterrupted.Result.Step.Should().Be(12);
        uninterrupted.Result.DuplicatesSkipped.Should().Be(1);

        using var crashing = new TrainerHarness();
        var options = crashing.Options(strategy);
        var first = await crashing.RunAsync(cluster, options, crashAfter: 7);
        first.Result.Stop.Should().Be(TrainerStopReason.Fatal);
        var second = await crashing.RunAsync(cluster, options);

        second.Steps.First().Step.Should().Be(7, "the last checkpoint was at step 6");
        second.Result.Step.Should().Be(12);
        second.RunId.Should().Be(first.RunId);
        var trained = first.Steps.Where(s => s.Step <= 6).SelectMany(s => s.CompletedBatches).Concat(second.Completed).ToList();
        trained.Should().OnlyHaveUniqueItems();
        trained.Should().Equal(uninterrupted.Completed);
        trained.Should().HaveCountGreaterThan(8);

        var resumedLosses = first.Steps.Where(s => s.Step <= 6).Select(s => s.Loss).Concat(second.Steps.Select(s => s.Loss)).ToList();
        resumedLosses.Should().HaveCount(12);
        for (var i = 0; i < 12; i++)
            resumedLosses[i].Should().BeApproximately(uninterrupted.Steps[i].Loss, 1e-6, $"step {i + 1} of the resumed run repeats the uninterrupted one");
    }

    [Fact]
    public async Task With_SkipNoisy_the_documents_the_scorer_labelled_noisy_are_left_out_of_training()
    {
        var batches = TrainerHarness.Batches(16);
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, batches);
        using var h = new TrainerHarness();
        var options = h.Options(steps: 1000) with { SkipNoisy = true };

        var run = await h.RunAsync(cluster, options);

        // Every batch is read (the run stops when the stream is idle); validation documents are held out before the filter.
        var expected = batches.SelectMany(b => b.Documents)
            .Count(d => d.Label == SampleLabel.Noisy && !Streaming.ValidationSplit.IsValidation(d.Id, options.ValidationFraction));
        expected.Should().BeGreaterThan(5);
        run.Result.Stop.Should().Be(TrainerStopReason.Idle);
        run.Result.NoisySkipped.Should().Be(expected);
        var cluster2 = ScoredStream.Cluster();
        ScoredStream.Produce(cluster2, batches);
        using var h2 = new TrainerHarness();
        var all = await h2.RunAsync(cluster2, h2.Options(steps: 1000));
        all.Result.NoisySkipped.Should().Be(0);
        all.Result.Step.Should().BeGreaterThan(run.Result.Step, "the filtered stream holds fewer tokens, so fewer steps");
    }

    [Fact]
    public async Task With_SkipNoisy_and_a_stored_version_documents_are_judged_by_it_not_by_the_label_they_travelled_with()
    {
        // Every document travels as easy (scored provisionally); the stored version calls the high-loss ones noisy.
        var batches = TrainerHarness.Batches(16)
            .Select(b => b with { Documents = [.. b.Documents.Select(d => d with { Label = SampleLabel.Easy })] }).ToList();
        double[][] identity = [[1, 0], [0, 1]];
        var version = new GmmModel(1, "tiny-proxy",
            new GmmParameters([0.75, 0.25], [[2.5, 0.75], [5.5, 3.5]], [identity, identity], FeatureTransform.Raw),
            [SampleLabel.Easy, SampleLabel.Noisy], 100, -1, DateTimeOffset.UnixEpoch);
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, batches);
        using var h = new TrainerHarness();
        var options = h.Options(steps: 1000) with { SkipNoisy = true, GmmVersion = 1 };

        var run = await h.RunAsync(cluster, options, gmmLookup: (v, _) => Task.FromResult<GmmModel?>(v == 1 ? version : null));

        var expected = TrainerHarness.Batches(16).SelectMany(b => b.Documents)
            .Count(d => d.Label == SampleLabel.Noisy && !Streaming.ValidationSplit.IsValidation(d.Id, options.ValidationFraction));
        expected.Should().BeGreaterThan(5);
        run.Result.NoisySkipped.Should().Be(expected, "the high-loss documents, whatever label they carried");
    }

    [Fact]
    public async Task Restarts_on_several_partitions_train_every_batch_exactly_once()
    {
        var cluster = ScoredStream.Cluster(partitions: 3);
        ScoredStream.Produce(cluster, TrainerHarness.Batches(30));
        using var h = new TrainerHarness();
        var options = h.Options(steps: 100);
        var trained = new List<Guid>();
        // Crash twice after a checkpoint and once between, then run until the stream is drained.
        foreach (var crash in new long[] { 4, 8, 11 })
        {
            var run = await h.RunAsync(cluster, options, crashAfter: crash);
            var checkpointed = crash / 3 * 3;
            trained.AddRange(run.Steps.Where(s => s.Step <= checkpointed).SelectMany(s => s.CompletedBatches));
        }
        var last = await h.RunAsync(cluster, options);
        last.Result.Stop.Should().Be(TrainerStopReason.Idle);
        trained.AddRange(last.Completed);

        trained.Should().OnlyHaveUniqueItems();
        trained.Should().BeSubsetOf(Enumerable.Range(0, 30).Select(ScoredStream.IdOf));
        // All but the tail whose last tokens wait, packed, for a step's worth more (under two batches' tokens).
        trained.Should().HaveCountGreaterThanOrEqualTo(28);
    }

    [Fact]
    public async Task A_shutdown_checkpoints_the_step_it_reached_and_the_next_start_continues_there()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(16));
        using var h = new TrainerHarness();
        var options = h.Options(steps: 10);
        var first = await h.RunAsync(cluster, options, onStep: (r, stop) => { if (r.Step == 5) stop.Cancel(); });
        first.Result.Stop.Should().Be(TrainerStopReason.Shutdown);
        first.Result.Step.Should().Be(5);
        var second = await h.RunAsync(cluster, options);
        second.Steps.First().Step.Should().Be(6, "the shutdown checkpointed step 5");
        second.Result.Step.Should().Be(10);
        first.Completed.Concat(second.Completed).Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public async Task A_resent_batch_is_not_trained_twice()
    {
        var batches = TrainerHarness.Batches(10);
        var withResend = new List<Contracts.Batches.ScoredBatch>(batches);
        withResend.Insert(6, batches[2]);
        var clean = ScoredStream.Cluster();
        ScoredStream.Produce(clean, batches);
        var resent = ScoredStream.Cluster();
        ScoredStream.Produce(resent, withResend);

        using var a = new TrainerHarness();
        var expected = await a.RunAsync(clean, a.Options(steps: 100));
        using var b = new TrainerHarness();
        var actual = await b.RunAsync(resent, b.Options(steps: 100));

        actual.Result.Stop.Should().Be(TrainerStopReason.Idle);
        actual.Result.DuplicatesSkipped.Should().Be(1);
        actual.Completed.Should().OnlyHaveUniqueItems().And.Equal(expected.Completed);
        actual.Result.Step.Should().Be(expected.Result.Step, "the resend adds no tokens");
        actual.Result.Losses.Should().Equal(expected.Result.Losses);
    }

    [Fact]
    public async Task Uniform_training_on_the_stream_lowers_the_loss_and_the_validation_loss()
    {
        var cluster = ScoredStream.Cluster(partitions: 3);
        ScoredStream.Produce(cluster, TrainerHarness.Batches(40));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options(steps: 24) with { Training = h.Options().Training with { Steps = 24, LearningRate = 1e-2, MinLearningRate = 1e-3 } });

        run.Result.Step.Should().Be(24);
        run.Result.Stop.Should().Be(TrainerStopReason.Completed);
        var valid = run.Steps.Where(s => s.ValidationLoss is not null).Select(s => s.ValidationLoss!["all"]).ToList();
        valid.Should().HaveCountGreaterThan(3, "every 4th step once the stream has routed validation documents");
        valid[^1].Should().BeLessThan(valid[0]);
        run.Steps.TakeLast(4).Average(s => s.Loss).Should().BeLessThan(run.Steps.Take(4).Average(s => s.Loss));
        run.Steps.Should().OnlyContain(s => double.IsFinite(s.Loss) && s.GradNorm > 0 && s.TokensPerSecond > 0);
        run.Trainer.ReadDuringSteps.Should().BePositive("with records waiting, the next step's batches are read while a step computes");
    }

    [Fact]
    public async Task Meta_em_weighs_the_scorer_statistics_and_moves_phi()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(16));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options("meta-em", steps: 8));

        run.Result.Step.Should().Be(8);
        run.Trainer.Gmm!.Version.Should().Be(0, "no scorer GMM is stored, so the trainer fitted one on its warm-up reservoir");
        var meta = (MetaEmObjective)run.Trainer.Objective!;
        meta.History.Should().HaveCount(8);
        meta.History[^1].Phi.ToVector().Should().NotEqual(meta.History[0].Phi.ToVector());
    }

    /// <summary>The scorer labels with a GMM the trainer cannot use here (none is stored), so the trainer fits its own on the
    /// warm-up reservoir; the documents the scorer's labels keep name its components, and meta-em's phi starts from the
    /// clean ones alone: the documents the scorer calls noisy start near weight 0.</summary>
    [Fact]
    public async Task Meta_em_in_the_service_starts_from_the_components_the_scorers_labels_keep()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(16, gmmVersion: 1));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options("meta-em", steps: 2) with { MetaLearningRate = 0 });

        var gmm = run.Trainer.Gmm!;
        gmm.Version.Should().Be(0, "the scorer's version is not stored, so the trainer fitted its own");
        gmm.LabelMap.Should().Contain(SampleLabel.Noisy, "the documents the scorer calls noisy fill a component the others leave empty");
        var phi = ((MetaEmObjective)run.Trainer.Objective!).Strategy;
        phi.Phi.Components.Should().Be(gmm.LabelMap.Count(l => l != SampleLabel.Noisy));
        // ScoredStream's clean documents have statistics near (2.5, 0.75), its noisy ones near (5.5, 3.5).
        var weights = phi.Phi.Weigh(phi.FeaturesOf(new BatchScores([2.5, 5.5], [16, 16], [0.75, 3.5])), cap: 1).Weights;
        weights[1].Should().BeLessThan(0.01 * weights[0], "noise starts near weight 0");
    }

    [Fact]
    public async Task A_full_read_ahead_fits_the_gmm_on_what_it_holds_rather_than_wait_for_the_whole_sample()
    {
        // 120 unversioned batches hold more tokens than the warm-up may read ahead (64 steps of 4x16), and far fewer
        // documents than the requested GMM sample: the trainer must fit on what it read and train, not spin.
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(120));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options("cluster-heuristic", steps: 4) with { GmmSample = 100_000 }).WaitAsync(TimeSpan.FromSeconds(90));

        run.Result.Step.Should().Be(4);
        run.Trainer.Gmm!.Version.Should().Be(0, "no scorer GMM is known, so the trainer fitted one on its read-ahead");
    }

    [Fact]
    public async Task A_configured_gmm_version_is_looked_up_even_when_the_batches_name_none()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(10));
        var asked = new List<int>();
        Task<GmmModel?> Lookup(int version, CancellationToken ct)
        {
            asked.Add(version);
            return Task.FromResult<GmmModel?>(new GmmModel(version, "tiny-proxy",
                new GmmParameters([0.5, 0.5], [[-0.5, 0.0], [0.5, 0.0]], [[[0.3, 0.0], [0.0, 0.3]], [[0.3, 0.0], [0.0, 0.3]]], FeatureTransform.Raw, [3.0, 1.5], [1.2, 1.0]),
                [SampleLabel.Easy, SampleLabel.Noisy], 500, -1.0, DateTimeOffset.UtcNow));
        }
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options("cluster-heuristic", steps: 3) with { GmmVersion = 5, ValidationFraction = 0 }, gmmLookup: Lookup);

        run.Result.Step.Should().Be(3);
        asked.Should().Equal(5);
        run.Trainer.Gmm!.Version.Should().Be(5);
    }

    [Fact]
    public async Task Cluster_heuristic_weighs_the_statistics_the_scorer_sent()
    {
        // The same tokens twice: once with the scorer's varied statistics, once with every document at the same point.
        // At one point every sample sits at the batch's global point and the heuristic weighs uniformly.
        var varied = TrainerHarness.Batches(10, gmmVersion: 1);
        var flat = varied.Select(b => b with
        {
            Documents = b.Documents.Select(d => d with { LossMean = 3.0, LossVariance = 1.0, Label = SampleLabel.Hard }).ToList(),
        }).ToList();
        Task<GmmModel?> Lookup(int version, CancellationToken ct) => Task.FromResult<GmmModel?>(new GmmModel(version, "tiny-proxy",
            new GmmParameters([0.5, 0.3, 0.2], [[-0.8, -0.5], [0.2, 0.0], [1.5, 1.6]],
                [[[0.2, 0.0], [0.0, 0.2]], [[0.3, 0.0], [0.0, 0.3]], [[0.4, 0.0], [0.0, 0.4]]], FeatureTransform.Raw, [3.0, 1.5], [1.2, 1.0]),
            [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy], 1000, -1.5, DateTimeOffset.UtcNow));

        async Task<IReadOnlyList<double>> Losses(string strategy, List<Contracts.Batches.ScoredBatch> batches)
        {
            var cluster = ScoredStream.Cluster();
            ScoredStream.Produce(cluster, batches);
            using var h = new TrainerHarness();
            return (await h.RunAsync(cluster, h.Options(strategy, steps: 6) with { ValidationFraction = 0 }, gmmLookup: Lookup)).Result.Losses;
        }

        var uniform = await Losses("uniform", varied);
        (await Losses("cluster-heuristic", flat)).Should().Equal(uniform);
        var weighted = await Losses("cluster-heuristic", varied);
        weighted.Skip(1).Should().NotEqual(uniform.Skip(1), "the scorer's statistics change the weights, hence the updates");
    }

    [Fact]
    public async Task Token_masked_trains_against_its_reference_evaluates_a_validation_file_and_announces_the_run()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(8));
        using var h = new TrainerHarness();
        Directory.CreateDirectory(h.Directory);
        var validationFile = Path.Combine(h.Directory, "valid.jsonl");
        File.WriteAllLines(validationFile, [
            "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]",
            "{\"tokens\": [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30], \"domain\": \"books\"}",
        ]);
        using var reference = TrainerHarness.Model();
        var events = new List<Contracts.Control.ControlEvent>();
        var run = await h.RunAsync(cluster, h.Options("token-masked", steps: 4) with
        {
            ReferenceCheckpoint = "in-memory", ValidationFile = validationFile, ValidationFraction = 0,
        }, reference: reference, events: events);

        run.Result.Step.Should().Be(4);
        run.Trainer.Objective.Should().BeOfType<TokenMaskedObjective>();
        var valid = run.Steps[^1].ValidationLoss!;
        valid.Keys.Should().BeEquivalentTo(["all", "books", "(none)"]);
        events.OfType<Contracts.Control.TrainerStarted>().Should().ContainSingle().Which.Strategy.Should().Be("token-masked");
        events.OfType<Contracts.Control.TrainerCheckpointed>().Select(c => c.Step).Should().Equal(3, 4);
        events.OfType<Contracts.Control.TrainerCheckpointed>().Last().Offsets.Should().ContainSingle().Which.NextOffset.Should().BeGreaterThan(0);
        events[^1].Should().BeOfType<Contracts.Control.TrainerStopped>().Which.Reason.Should().Be("completed");
    }

    [Fact]
    public void A_malformed_validation_file_is_refused_with_its_line()
    {
        var path = Path.GetTempFileName();
        File.WriteAllLines(path, ["[1, 2, 3]", "{\"text\": \"needs a tokenizer\"}"]);
        var act = () => Streaming.ValidationSet.FromFile(path);
        act.Should().Throw<InvalidDataException>().WithMessage($"{path}:2: not a validation document*");
        File.Delete(path);
    }

    [Fact]
    public async Task Meta_em_refuses_to_start_without_a_validation_stream()
    {
        using var h = new TrainerHarness();
        var act = () => new StreamingTrainer(TrainerHarness.Model(), h.Options("meta-em") with { ValidationFraction = 0 });
        act.Should().Throw<ArgumentException>().WithMessage("*meta-em needs a clean validation stream*");
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_corrupt_record_is_skipped_and_training_goes_on()
    {
        var cluster = ScoredStream.Cluster();
        ScoredStream.Produce(cluster, TrainerHarness.Batches(3));
        cluster.AppendRaw(Topics.ScoredBatches, 0, null, [1, 2, 3]);
        ScoredStream.Produce(cluster, TrainerHarness.Batches(8).Skip(3));
        using var h = new TrainerHarness();
        var run = await h.RunAsync(cluster, h.Options(steps: 100));
        run.Result.CorruptSkipped.Should().Be(1);
        run.Completed.Should().HaveCountGreaterThan(5);
    }

    [Fact]
    public void An_interrupted_checkpoint_swap_is_recovered_from_the_copy_moved_aside()
    {
        var root = Path.Combine(Path.GetTempPath(), "reweight-trainer-tests", Guid.NewGuid().ToString("N"));
        var target = Path.Combine(root, "ckpt");
        var aside = target + ".0123.old";
        Directory.CreateDirectory(aside);
        File.WriteAllText(Path.Combine(aside, "trainer_state.json"), "{}");
        Directory.CreateDirectory(Path.Combine(root, ".ckpt.4567.staging"));
        StreamingTrainer.RecoverInterruptedSwap(target);
        File.Exists(Path.Combine(target, "trainer_state.json")).Should().BeTrue();
        Directory.Exists(aside).Should().BeFalse();
        Directory.Exists(Path.Combine(root, ".ckpt.4567.staging")).Should().BeFalse();
        Directory.Delete(root, recursive: true);
    }
}
