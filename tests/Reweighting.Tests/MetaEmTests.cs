using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.MetaEm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Objectives;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Tests;

public sealed class ClusterPhiTests
{
    private static ClusterPhi TwoClusters() => new([0, 0, 3, 1], [Math.Log(0.5), Math.Log(2.0)], [Math.Log(0.75), Math.Log(0.25)]);

    [Fact]
    public void Weights_follow_the_formula_on_a_hand_computed_example()
    {
        // s_1 = (0, 0) sits on c_1; s_2 = (1, 0).
        var phi = TwoClusters();
        var w = phi.Weigh([0, 0, 1, 0], cap: 1.0);
        // d_11 = 0, d_12 = 10; d_21 = 1, d_22 = 5. lambda = (0.5, 2), pi = (0.75, 0.25).
        double E(double lambda, double d) => Math.Exp(-lambda * d);
        double U(double e1, double e2) => (0.75 * e1 * e1 + 0.25 * e2 * e2) / (0.75 * e1 + 0.25 * e2);
        var u1 = U(E(0.5, 0), E(2, 10));
        var u2 = U(E(0.5, 1), E(2, 5));
        w.Weights[0].Should().BeApproximately(u1 / (u1 + u2), 1e-12);
        w.Weights[1].Should().BeApproximately(u2 / (u1 + u2), 1e-12);
        var gamma21 = 0.75 * E(0.5, 1) / (0.75 * E(0.5, 1) + 0.25 * E(2, 5));
        w.Responsibilities[2].Should().BeApproximately(gamma21, 1e-12);
    }

    [Fact]
    public void Weights_sum_to_one_respect_the_cap_and_stay_finite_far_from_every_centre()
    {
        var phi = TwoClusters();
        var rng = new Random(3);
        var x = Enumerable.Range(0, 40).Select(_ => rng.NextDouble() * 8 - 4).ToArray();
        x[0] = 1e3; // a sample whose e_ik all underflow in linear space
        var w = phi.Weigh(x);
        w.Weights.Sum().Should().BeApproximately(1, 1e-12);
        w.Weights.Should().OnlyContain(v => v >= 0 && double.IsFinite(v) && v <= 2.0 / 20 + 1e-15);
        w.CapActive.Should().BeTrue("the samples nearest a centre would exceed 2/M uncapped");
    }

    [Fact]
    public void Initialisation_from_a_mixture_matches_its_isotropic_spread()
    {
        var gmm = new GmmParameters([0.2, 0.8], [[1.0, 2.0], [3.0, 4.0]], [[[1.0, 0.3], [0.3, 3.0]], [[0.5, 0], [0, 0.5]]], FeatureTransform.Raw);
        var phi = ClusterPhi.FromMixture(gmm);
        phi.Precision(0).Should().BeApproximately(2.0 / (2 * 4.0), 1e-12);
        phi.Precision(1).Should().BeApproximately(2.0 / (2 * 1.0), 1e-12);
        phi.MixingWeights().Should().BeEquivalentTo([0.2, 0.8], o => o.Using<double>(c => c.Subject.Should().BeApproximately(c.Expectation, 1e-12)).WhenTypeIs<double>());
        phi.Centres.Should().Equal(1.0, 2.0, 3.0, 4.0);
        ClusterPhi.FromJson(phi.ToJson()).ToVector().Should().Equal(phi.ToVector());
        var wide = ClusterPhi.FromMixture(gmm, width: 2);
        wide.Precision(0).Should().BeApproximately(phi.Precision(0) / 4, 1e-12, "twice the width, a quarter of the precision");
        wide.Centres.Should().Equal(phi.Centres);
        FluentActions.Invoking(() => ClusterPhi.FromMixture(gmm, width: 0)).Should().Throw<ArgumentException>();
        FluentActions.Invoking(() => new MetaEmOptions(InitialWidth: -1).Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*width*");
    }

    [Fact]
    public void Phi_from_the_clean_components_starts_the_noise_near_weight_zero()
    {
        double[][] identity = [[1, 0], [0, 1]];
        var gmm = new GmmParameters([0.4, 0.4, 0.2], [[0, 0], [3, 0], [10, 0]], [identity, identity, identity], FeatureTransform.Raw);
        double[] samples = [0, 0, 3, 0, 10, 0, 0.5, 0.2]; // easy, hard, noise, easy

        var all = ClusterPhi.FromMixture(gmm).Weigh(samples, cap: 1).Weights;
        var clean = ClusterPhi.FromMixture(gmm, [SampleLabel.Easy, SampleLabel.Hard, SampleLabel.Noisy]);
        var weights = clean.Weigh(samples, cap: 1).Weights;

        all[2].Should().BeGreaterThan(0.2, "with the noisy component in phi, its centre weighs like a clean one");
        clean.Components.Should().Be(2);
        clean.MixingWeights().Should().Equal([0.5, 0.5], (a, b) => Math.Abs(a - b) < 1e-12);
        weights[2].Should().BeLessThan(1e-6, "far from every clean centre");
        weights[0].Should().BeGreaterThan(0.25);
        ClusterPhi.FromMixture(gmm, [SampleLabel.Noisy, SampleLabel.Noisy, SampleLabel.Noisy]).Components
            .Should().Be(3, "labels that call everything noisy leave phi whole");
        FluentActions.Invoking(() => ClusterPhi.FromMixture(gmm, [SampleLabel.Easy])).Should().Throw<ArgumentException>();
    }

    [Theory]
    [InlineData(1.0)] // no clipping
    [InlineData(0.2)] // the 2/M bound of 10 samples, active
    public void Analytic_gradient_matches_central_differences(double cap)
    {
        var phi = TwoClusters();
        var rng = new Random(5);
        var x = Enumerable.Range(0, 20).Select(_ => rng.NextDouble() * 4 - 1).ToArray();
        var g = Enumerable.Range(0, 10).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double J(ClusterPhi p) => p.Weigh(x, cap).Weights.Select((w, i) => w * g[i]).Sum();
        var weights = phi.Weigh(x, cap);
        if (cap < 1) weights.CapActive.Should().BeTrue();
        var analytic = phi.Gradient(weights, x, g);
        var v = phi.ToVector();
        for (var j = 0; j < v.Length; j++)
        {
            const double h = 1e-6;
            var plus = (double[])v.Clone();
            var minus = (double[])v.Clone();
            plus[j] += h;
            minus[j] -= h;
            var numeric = (J(phi.WithVector(plus)) - J(phi.WithVector(minus))) / (2 * h);
            analytic[j].Should().BeApproximately(numeric, 1e-6 + 1e-4 * Math.Abs(numeric), $"entry {j}");
        }
    }

    [Fact]
    public void The_strategy_needs_variances_and_maps_statistics_through_the_features()
    {
        var strategy = new MetaEmStrategy(TwoClusters(), new StatFeatures(FeatureTransform.Raw));
        var act = () => strategy.Weigh(new BatchScores([1.0, 2.0], [4, 4]), new StrategyState(0));
        act.Should().Throw<ArgumentException>().WithMessage("*variance*");
        var w = strategy.Weigh(new BatchScores([0.0, 1.0], [4, 4], [0.0, 0.0]), new StrategyState(0));
        w.Weights.Should().Equal(TwoClusters().Weigh([0, 0, 1, 0]).Weights);
    }
}

public sealed class MetaGradientTests
{
    private static readonly GptConfig Config = new(VocabSize: 24, ContextLength: 12, Layers: 1, Heads: 2, Embedding: 16, Dropout: 0.1);

    private static (Tensor Ids, Tensor Targets) Batch(int seed, int rows)
    {
        var rng = new Random(seed);
        var ids = new long[rows * 12];
        var targets = new long[rows * 12];
        for (var r = 0; r < rows; r++)
        {
            var start = rng.Next(24);
            var noisy = r % 3 == 2;
            for (var t = 0; t < 12; t++)
            {
                ids[r * 12 + t] = noisy ? rng.Next(24) : (start + t) % 24;
                targets[r * 12 + t] = noisy ? rng.Next(24) : (start + t + 1) % 24;
            }
        }
        return (FromSpan<long>(ids, [rows, 12]), FromSpan<long>(targets, [rows, 12]));
    }

    private static double Cosine(double[] a, double[] b) =>
        a.Zip(b, (x, y) => x * y).Sum() / Math.Sqrt(a.Sum(x => x * x) * b.Sum(y => y * y));

    [Fact]
    public void Exact_and_estimated_alignments_agree_on_a_tiny_model()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Config, seed: 2);
        var (ids, targets) = Batch(1, 6);
        var (vIds, vTargets) = Batch(2, 4);
        var exact = MetaGradient.Exact(model, ids, targets, Enumerable.Repeat(1.0 / 6, 6).ToArray(), vIds, vTargets, learningRate: 1e-4);
        var direction = MetaGradient.ValidationGradient(model, vIds, vTargets);
        var before = model.Parameters().Select(p => p.ToArray<float>()).ToList();
        var differences = MetaGradient.CentralDifferences(model, ids, targets, direction, epsilon: 1e-2);
        var forward = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
        foreach (var estimate in new[] { differences, forward })
        {
            Cosine(exact, estimate).Should().BeGreaterThan(0.999);
            for (var i = 0; i < 6; i++) estimate[i].Should().BeApproximately(exact[i], 0.02 * exact.Max(Math.Abs));
        }
        // Both estimate the same first-order quantity: forward mode exactly, central differences to O(eps^2).
        for (var i = 0; i < 6; i++) forward[i].Should().BeApproximately(differences[i], 1e-3 * forward.Max(Math.Abs));
        model.Parameters().Should().OnlyContain(p => p.Grad == null, "the meta passes leave no gradients behind");
        model.Parameters().Select(p => p.ToArray<float>()).Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "the parameters are restored bit for bit");
        model.IsTraining.Should().BeTrue("the model's mode is restored");
        using (var level = ForwardAD.Enter())
            model.Parameters().Should().OnlyContain(p => level.Tangent(p) == null, "forward mode leaves no tangents behind");
    }

    /// <summary>Forward mode equals the inner product of each sample's reverse-mode gradient with the direction, on a
    /// two-layer model with causal attention over a batch with padding targets.</summary>
    [Fact]
    public void Forward_mode_alignments_equal_per_sample_reverse_mode_inner_products()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Config with { Layers = 2 }, seed: 5);
        var (ids, targets) = Batch(5, 5);
        targets = targets.Clone();
        targets.Select(0, 4).Narrow(0, 8, 4).FillInPlace(GptModel.IgnoreIndex);
        var (vIds, vTargets) = Batch(6, 3);
        var direction = MetaGradient.ValidationGradient(model, vIds, vTargets);
        var forward = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
        var parameters = model.Parameters().ToList();
        model.Eval();
        var losses = model.TokenLosses(ids, targets).Mean(1);
        for (var i = 0; i < 5; i++)
        {
            var grads = Autograd.Grad([losses.Select(0, i)], parameters, retainGraph: true);
            var inner = grads.Select((g, j) => g!.To(ScalarType.Float64).Mul(direction[j].To(ScalarType.Float64)).Sum().ToDouble()).Sum();
            forward[i].Should().BeApproximately(inner, 1e-4 * Math.Max(1, Math.Abs(inner)), $"sample {i}");
        }
    }

    [Fact]
    public void Exact_alignment_is_the_derivative_of_the_validation_improvement_of_one_sgd_step()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Config with { Dropout = 0 }, seed: 3);
        var (ids, targets) = Batch(3, 4);
        var (vIds, vTargets) = Batch(4, 4);
        const double lr = 0.05;
        var a = new[] { 0.1, 0.4, 0.3, 0.2 };
        var exact = MetaGradient.Exact(model, ids, targets, a, vIds, vTargets, lr);

        // U(a) = l_val(theta) − l_val(theta − lr sum_i a_i grad l_i), by actually taking the step.
        var parameters = model.Parameters().ToList();
        var theta = parameters.Select(p => p.Detach().Clone()).ToList();
        double ValidAfterStep(double[] coefficients)
        {
            using var inner = DisposeScope.Open();
            var c = FromSpan<float>(coefficients.Select(v => (float)v).ToArray(), [coefficients.Length]);
            var g = Autograd.Grad([(model.TokenLosses(ids, targets).Mean(1) * c).Sum()], parameters);
            using (NoGrad())
                for (var j = 0; j < parameters.Count; j++) parameters[j].AddInPlace(g[j]!.Detach() * -lr);
            double loss;
            using (NoGrad()) loss = model.TokenLosses(vIds, vTargets).Mean().ToDouble();
            using (NoGrad())
                for (var j = 0; j < parameters.Count; j++) parameters[j].CopyInPlace(theta[j]);
            return loss;
        }
        for (var i = 0; i < a.Length; i++)
        {
            const double delta = 0.05;
            var plus = (double[])a.Clone();
            var minus = (double[])a.Clone();
            plus[i] += delta;
            minus[i] -= delta;
            var dU = -(ValidAfterStep(plus) - ValidAfterStep(minus)) / (2 * delta); // dU/da_i
            (lr * exact[i]).Should().BeApproximately(dU, 0.05 * Math.Abs(dU) + 2e-5, $"sample {i}");
        }
    }

    /// <summary>Forward mode holds its accuracy in bfloat16 autocast (as it runs on CUDA), where a perturbation of the
    /// weights would vanish: on the CPU's bfloat16 autocast it stays aligned with the float32 values.</summary>
    [Fact]
    public void Forward_mode_alignments_survive_bfloat16_autocast()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Config with { Layers = 2, Embedding = 32 }, seed: 8);
        var (ids, targets) = Batch(7, 6);
        var (vIds, vTargets) = Batch(8, 4);
        var direction = MetaGradient.ValidationGradient(model, vIds, vTargets);
        var reference = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
        double[] half;
        using (Autocast(DeviceType.Cpu)) half = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
        half.Should().NotEqual(reference, "the autocast pass computed in bfloat16");
        Cosine(reference, half).Should().BeGreaterThan(0.99);
        for (var i = 0; i < 6; i++) half[i].Should().BeApproximately(reference[i], 0.05 * reference.Max(Math.Abs));

        // As meta-em calls it on CUDA: the validation gradient and every micro-batch's pass inside one autocast region,
        // whose cache of low-precision weight copies was filled before (or by an earlier level of) the tangents.
        double[] first, second;
        using (Autocast(DeviceType.Cpu))
        {
            MetaGradient.ValidationGradient(model, vIds, vTargets);
            first = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
            second = MetaGradient.DirectionalDerivatives(model, ids, targets, direction);
        }
        first.Should().Equal(half, "weight copies cached before the tangents were set must not be reused without them");
        second.Should().Equal(half);

        using (Autocast(DeviceType.Cpu))
        {
            var act = () => MetaGradient.CentralDifferences(model, ids, targets, direction);
            act.Should().Throw<InvalidOperationException>().WithMessage("*float32*");
        }
    }

    [Theory]
    [InlineData("differences", null)]
    [InlineData("forward", 2)]
    public void Meta_em_training_moves_phi_logs_every_update_and_resumes_exactly(string method, int? sequences)
    {
        using var dir = new TempDir();
        var rng = new Random(1);
        var docs = Enumerable.Range(0, 40).Select(d => (IReadOnlyList<long>)Enumerable.Range(0, 20)
            .Select(i => d % 4 == 3 ? (long)rng.Next(23) : (d + i) % 23).ToArray()).ToList();
        var clean = docs.Where((_, d) => d % 4 != 3).ToList();
        var options = new TrainingOptions { Steps = 6, BatchSize = 4, SequenceLength = 12, GradientAccumulation = 2, LearningRate = 3e-3, MinLearningRate = 3e-4, WarmupSteps = 1 };
        using var proxy = new GptModel(Config, seed: 9);
        var gmm = new GmmParameters([0.5, 0.5], [[3.0, 0.0], [3.3, 0.5]], [[[0.1, 0], [0, 0.1]], [[0.1, 0], [0, 0.1]]], FeatureTransform.Raw);

        MetaEmObjective Objective(List<PhiUpdate> log) =>
            new(new MetaEmStrategy(ClusterPhi.FromMixture(gmm), new StatFeatures(FeatureTransform.Raw)), new ProxyStatistics(proxy),
                new TokenStream(clean, 23, 12, 5), new MetaEmOptions(MetaLearningRate: 0.05, Method: MetaGradientMethods.Parse(method), Sequences: sequences))
            { PhiUpdated = log.Add };

        var fullLog = new List<PhiUpdate>();
        var full = Objective(fullLog);
        using var model = new GptModel(Config, seed: 4);
        var expected = new GptTrainer(model, new TokenStream(docs, 23, 12, 3), options) { Objective = full }.Run();
        fullLog.Should().HaveCount(options.Steps);
        full.History.Should().HaveCount(options.Steps);
        full.Strategy.Phi.ToVector().Should().NotEqual(ClusterPhi.FromMixture(gmm).ToVector(), "the meta-update moved phi");

        var ckpt = Path.Combine(dir.Path, "ckpt");
        var cts = new CancellationTokenSource();
        using (var first = new GptModel(Config, seed: 4))
            new GptTrainer(first, new TokenStream(docs, 23, 12, 3), options) { Objective = Objective([]), CheckpointDirectory = ckpt }
                .Run(progress: p => { if (p.Step >= 3) cts.Cancel(); }, cancel: cts.Token);
        File.Exists(Path.Combine(ckpt, GptTrainer.ObjectiveStateFile)).Should().BeTrue();
        var resumedObjective = Objective([]);
        using var second = new GptModel(Config, seed: 77);
        var tail = new GptTrainer(second, new TokenStream(docs, 23, 12, 3), options) { Objective = resumedObjective, CheckpointDirectory = ckpt }.Run(ckpt);
        tail.Should().HaveCount(3);
        for (var i = 0; i < 3; i++) tail[i].Should().BeApproximately(expected[3 + i], 1e-5);
        resumedObjective.Strategy.Phi.ToVector().Should().Equal(full.Strategy.Phi.ToVector());
        resumedObjective.History.Should().HaveCount(options.Steps);
    }
}

public sealed class MetaSubsetTests
{
    [Fact]
    public void Subsets_are_reproducible_distinct_sorted_and_draw_every_row_alike()
    {
        MetaEmObjective.SubsetRows(5, 1, 8, 8).Should().Equal(Enumerable.Range(0, 8), "taking every row draws nothing");
        MetaEmObjective.SubsetRows(5, 1, 8, 20).Should().Equal(Enumerable.Range(0, 8));
        var counts = new int[8];
        for (long step = 0; step < 4000; step++)
        {
            var rows = MetaEmObjective.SubsetRows(step, 0, 8, 3);
            rows.Should().HaveCount(3).And.OnlyHaveUniqueItems().And.BeInAscendingOrder().And.OnlyContain(r => r >= 0 && r < 8);
            MetaEmObjective.SubsetRows(step, 0, 8, 3).Should().Equal(rows, "a resumed run draws the same rows");
            foreach (var r in rows) counts[r]++;
        }
        // Each row is drawn with probability 3/8: 1500 of 4000 (binomial sd about 31).
        counts.Should().OnlyContain(c => Math.Abs(c - 1500) < 150);
        MetaEmObjective.SubsetRows(1, 0, 8, 3).Should().NotEqual(MetaEmObjective.SubsetRows(1, 1, 8, 3), "micro-batches draw apart");
    }

    [Fact]
    public void Options_refuse_a_subset_for_the_exact_gradient_and_name_bad_values()
    {
        var act = () => new MetaEmOptions(Method: MetaGradientMethod.Exact, Sequences: 2).Validate();
        act.Should().Throw<ArgumentException>().WithMessage("*exact*");
        act = () => new MetaEmOptions(Sequences: 0).Validate();
        act.Should().Throw<ArgumentException>().WithMessage("*at least 1 sequence*");
        var parse = () => MetaGradientMethods.Parse("jvp");
        parse.Should().Throw<ArgumentException>().WithMessage("*auto, differences, forward, exact*");
        foreach (var name in MetaGradientMethods.Names) MetaGradientMethods.Parse(name).Name().Should().Be(name);
        new MetaEmOptions().MethodOn(DeviceType.Cuda).Should().Be(MetaGradientMethod.Forward);
        new MetaEmOptions().MethodOn(DeviceType.Cpu).Should().Be(MetaGradientMethod.Differences);
        new MetaEmOptions(Method: MetaGradientMethod.Forward).MethodOn(DeviceType.Cpu).Should().Be(MetaGradientMethod.Forward);
    }
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("reweighting-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
