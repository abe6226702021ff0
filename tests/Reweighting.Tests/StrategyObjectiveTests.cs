using FluentAssertions;
using Reweighting.Contracts;
using Reweighting.Modeling.Gpt;
using Reweighting.MetaEm;
using Reweighting.Modeling.Training;
using Reweighting.Statistics;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Objectives;
using Xunit;
using static Reweighting.Torch.Torch;
using static Reweighting.Tests.Draws;

namespace Reweighting.Tests;

public sealed class StrategyObjectiveTests
{
    private static readonly GptConfig Config = new(VocabSize: 20, ContextLength: 10, Layers: 1, Heads: 2, Embedding: 16, Dropout: 0);

    private static TokenStream Data()
    {
        var rng = new Random(2);
        var docs = Enumerable.Range(0, 30).Select(d => (IReadOnlyList<long>)Enumerable.Range(0, 15)
            .Select(i => d % 3 == 0 ? (long)rng.Next(19) : (d + i) % 19).ToArray()).ToList();
        return new TokenStream(docs, 19, 10, 4);
    }

    private static readonly TrainingOptions Options = new() { Steps = 5, BatchSize = 4, SequenceLength = 10, GradientAccumulation = 2, LearningRate = 3e-3, WarmupSteps = 1 };

    /// <summary>The catalogue is the one list: every strategy in it builds an objective from what its descriptor says it
    /// needs, refuses to build without it, and trains a step.</summary>
    [Fact]
    public void Every_catalogued_strategy_builds_an_objective_from_what_its_descriptor_says_it_needs()
    {
        StrategyCatalogue.Names.Should().OnlyHaveUniqueItems().And.StartWith("uniform");
        StrategyCatalogue.WeightedNames.Should().Equal(StrategyCatalogue.Names.Skip(1));
        using var proxy = new GptModel(Config, seed: 3);
        var statistics = new ProxyStatistics(proxy);
        var gmm = SampleGmm();
        var parameters = new StrategyParameters(0.4, 0, null, 0.25, new MetaEmOptions());
        foreach (var strategy in StrategyCatalogue.All)
        {
            using var model = new GptModel(Config, seed: 1);
            var objective = StrategyObjectives.Create(strategy.Name, parameters, Options.Steps, strategy.NeedsGmm ? statistics : null, strategy.NeedsGmm ? gmm : null,
                strategy.NeedsValidation ? Data() : null, strategy.HasReferenceModel ? proxy : null);
            var losses = new GptTrainer(model, Data(), Options with { Steps = 1 }) { Objective = objective }.Run();
            losses.Should().ContainSingle().Which.Should().BeGreaterThan(0, strategy.Name);
            (objective is MetaEmObjective).Should().Be(strategy.HasMetaUpdate, strategy.Name);
            (objective is TokenMaskedObjective).Should().Be(strategy.HasReferenceModel, strategy.Name);
            if (strategy.NeedsGmm)
                FluentActions.Invoking(() => StrategyObjectives.Create(strategy.Name, parameters, 1, statistics, null, Data())).Should().Throw<ArgumentException>().WithMessage("*GMM*");
            if (strategy.HasReferenceModel)
                FluentActions.Invoking(() => StrategyObjectives.Create(strategy.Name, parameters, 1)).Should().Throw<ArgumentException>().WithMessage("*reference model*");
            if (strategy.NeedsValidation)
                FluentActions.Invoking(() => StrategyObjectives.Create(strategy.Name, parameters, 1, statistics, gmm)).Should().Throw<ArgumentException>().WithMessage("*validation*");
        }
        FluentActions.Invoking(() => StrategyObjectives.Create("no-such", parameters, 1)).Should().Throw<ArgumentException>().WithMessage("*unknown strategy 'no-such'*");
    }

    /// <summary>Sow et al. normalise over the whole batch: under gradient accumulation the weights, the 2/M bound and the
    /// update must not depend on how the step's sequences are split into micro-batches.</summary>
    [Theory]
    [InlineData("quadratic")]          // the model's own losses: one forward pass without gradients before the step
    [InlineData("cluster-heuristic")]  // a proxy's statistics
    [InlineData("meta-em")]            // a proxy's statistics and a meta-update over the step
    public void Four_micro_batches_of_four_weigh_and_update_like_one_of_sixteen(string strategy)
    {
        var (oneWeights, oneParameters, onePhi) = OneStep(strategy, batch: 16, accumulation: 1);
        var (fourWeights, fourParameters, fourPhi) = OneStep(strategy, batch: 4, accumulation: 4);

        oneWeights.Should().ContainSingle().Which.Weights.Should().HaveCount(16);
        fourWeights.Should().ContainSingle("the step is weighed once").Which.Weights.Should()
            .Equal(oneWeights[0].Weights, (a, b) => Math.Abs(a - b) < 1e-6);
        fourWeights[0].CapActive.Should().Be(oneWeights[0].CapActive);
        oneWeights[0].MaxWeightTimesM.Should().BeGreaterThan(1.05, "the weights are far from uniform, so the test can tell");
        for (var p = 0; p < oneParameters.Count; p++)
            fourParameters[p].Should().Equal(oneParameters[p], (a, b) => Math.Abs(a - b) < 2e-5, $"parameter {p}");
        // Adam's first step moves each coordinate by about the meta learning rate (0.1) whatever its gradient's size, so
        // a near-zero gradient's float32 noise (central differences over 4 or 16 rows) shows at 1e-5.
        fourPhi.Should().Equal(onePhi, (a, b) => Math.Abs(a - b) < 1e-4);
    }

    [Fact]
    public void Meta_em_with_a_meta_learning_rate_of_zero_keeps_phi_at_its_initialisation()
    {
        var (frozenStart, frozenEnd) = TrainedPhi(new MetaEmOptions(MetaLearningRate: 0));
        frozenEnd.ToVector().Should().Equal(frozenStart.ToVector());
        var (learningStart, learningEnd) = TrainedPhi(new MetaEmOptions(MetaLearningRate: 0.1));
        learningEnd.ToVector().Should().NotEqual(learningStart.ToVector(), "the same run with a meta learning rate moves phi");
        learningStart.ToVector().Should().Equal(frozenStart.ToVector(), "both start from the GMM");
    }

    /// <summary>With a narrowest width the meta-update may move phi but never narrows a kernel past it: every lambda_k
    /// stays at or below lambda_k0 (w0 / w_min)², where the same run without the bound (MinWidth 0) takes some lambda
    /// above it. null is the default, the initial width.</summary>
    [Theory]
    [InlineData(null)]
    [InlineData(4.0)]
    [InlineData(3.9)]
    public void Meta_em_with_a_narrowest_width_keeps_every_precision_at_or_below_its_bound(double? minWidth)
    {
        var free = new MetaEmOptions(MetaLearningRate: 0.1, InitialWidth: 4, MinWidth: 0);
        var bound = 2 * Math.Log(4 / (minWidth ?? 4));
        var (freeStart, freeEnd) = TrainedPhi(free);
        freeEnd.LogPrecisions.Where((rho, k) => rho > freeStart.LogPrecisions[k] + bound + 1e-9).Should()
            .NotBeEmpty("without the bound some kernel narrows past it, so the test can tell");
        var (start, end) = TrainedPhi(free with { MinWidth = minWidth });
        start.LogPrecisions.Should().Equal(freeStart.LogPrecisions);
        end.LogPrecisions.Where((rho, k) => rho > start.LogPrecisions[k] + bound + 1e-12).Should().BeEmpty();
    }

    [Fact]
    public void By_default_the_kernels_never_narrow_and_zero_removes_the_bound()
    {
        new MetaEmOptions().MaxLogPrecision(-3).Should().Be(-3, "the default bound is the initial width itself");
        new MetaEmOptions(InitialWidth: 8, MinWidth: 4).MaxLogPrecision(-3).Should().BeApproximately(-3 + 2 * Math.Log(2), 1e-12);
        new MetaEmOptions(MinWidth: 0).MaxLogPrecision(-3).Should().Be(double.PositiveInfinity);
        var tooWide = () => new MetaEmOptions(InitialWidth: 4, MinWidth: 8).Validate();
        tooWide.Should().Throw<ArgumentException>().WithMessage("*at most the initial width 4*");
        var negative = () => new MetaEmOptions(MinWidth: -1).Validate();
        negative.Should().Throw<ArgumentException>();
    }

    /// <summary>A GMM fitted on 60 constructed (mean, variance) statistics in three groups.</summary>
    private static GmmModel SampleGmm()
    {
        var sample = Enumerable.Range(0, 60).Select(i => (Mean: 2.0 + i % 3, Variance: 0.5 + i % 5 * 0.1)).ToList();
        return StrategyObjectives.FitGmm(sample, Gmm.GmmFeatureSetting.Default.Name, Gmm.LabelRules.Default.Name, 1, "proxy");
    }

    /// <summary>meta-em's phi before and after a short training run with <paramref name="meta"/>, from <see cref="SampleGmm"/>.</summary>
    private static (ClusterPhi Initial, ClusterPhi Final) TrainedPhi(MetaEmOptions meta)
    {
        using var proxy = new GptModel(Config, seed: 3);
        var parameters = new StrategyParameters(0.4, 0, null, 0.25, meta);
        var objective = (MetaEmObjective)StrategyObjectives.Create("meta-em", parameters, Options.Steps, new ProxyStatistics(proxy),
            SampleGmm(), Data());
        var initial = objective.Strategy.Phi;
        using var model = new GptModel(Config, seed: 1);
        new GptTrainer(model, Data(), Options) { Objective = objective }.Run();
        return (initial, objective.Strategy.Phi);
    }

    private static (List<BatchWeights> Weights, List<float[]> Parameters, double[] Phi) OneStep(string strategy, int batch,
        int accumulation)
    {
        using var proxy = new GptModel(Config, seed: 3);
        var statistics = new ProxyStatistics(proxy);
        var gmm = SampleGmm();
        var weights = new List<BatchWeights>();
        // A sharp, fixed temperature makes the loss-shape weights far from uniform from the first step, and so does a
        // narrow kernel meta-em's.
        var parameters = new StrategyParameters(0.05, 0, 1, 0.25, new MetaEmOptions(MetaLearningRate: 0.1, ValidationBatch: 4,
            InitialWidth: 1));
        var objective = strategy == "quadratic"
            ? new StrategyObjective(new QuadraticStrategy(new LossShapeOptions(0.05, 0.05, 0, 1)))
            {
                WeightsObserved = (_, w) => weights.Add(w),
            }
            : StrategyObjectives.Create(strategy, parameters, 1, statistics, gmm, Data(), observe: (_, w) => weights.Add(w));
        using var model = new GptModel(Config, seed: 1);
        var options = Options with { Steps = 1, BatchSize = batch, GradientAccumulation = accumulation };
        new GptTrainer(model, Data(), options) { Objective = objective }.Run();
        var phi = objective is MetaEmObjective meta ? meta.Strategy.Phi.ToVector() : [];
        return (weights, [.. model.Parameters().Select(t => t.ToArray<float>())], phi);
    }

    /// <summary>With K = 0 the trainer's GMM chooses K by BIC, as the scorer does: three clean domains and one noise family,
    /// well apart in (mean, variance), give four components, the clean documents name three of them clean, and meta-em's
    /// phi starts near every clean domain, so none of them starts with the noise's weights. Without it K is the default 3.</summary>
    [Fact]
    public void With_k_zero_the_trainers_gmm_chooses_k_by_bic_and_meta_em_starts_near_every_clean_domain()
    {
        var rng = new Random(5);
        (double, double) Around(double mean, double variance) => (mean + 0.05 * Normal(rng), variance + 0.05 * Normal(rng));
        (double Mean, double Variance)[] domains = [(3, 2), (4.5, 6), (6, 3)];
        var clean = Enumerable.Range(0, 240).Select(i => Around(domains[i % 3].Mean, domains[i % 3].Variance)).ToList();
        var noise = Enumerable.Range(0, 60).Select(_ => Around(8, 12)).ToList();
        var reference = Enumerable.Range(0, 90).Select(i => Around(domains[i % 3].Mean, domains[i % 3].Variance)).ToList();
        var stream = clean.Concat(noise).ToList();

        var gmm = StrategyObjectives.FitGmmAnchored(stream, reference, Gmm.GmmFeatureSetting.Default.Name, Gmm.LabelRules.Default.Name, 1,
            components: 0);
        gmm.Parameters.Components.Should().Be(4);
        gmm.LabelMap.Count(l => l == SampleLabel.Noisy).Should().Be(1);
        var phi = StrategyObjectives.InitialPhi(gmm, new StrategyParameters(0.4, 0, null, 0.25, new MetaEmOptions(InitialWidth: 1), PhiFromCleanComponents: true));
        phi.Components.Should().Be(3);
        var features = Gmm.StatFeatures.FromParameters(gmm.Parameters);
        double LogRawWeight((double Mean, double Variance) s)
        {
            var x = new double[Gmm.StatFeatures.Dimensions];
            features.Apply(s.Mean, s.Variance, x);
            return phi.Weigh(x).LogRawWeights[0];
        }
        var noiseWeight = noise.Select(LogRawWeight).Max();
        foreach (var domain in domains)
            LogRawWeight(domain).Should().BeGreaterThan(noiseWeight + 5, $"the clean domain at {domain} starts far above the noise");

        var fixedK = StrategyObjectives.FitGmmAnchored(stream, reference, Gmm.GmmFeatureSetting.Default.Name, Gmm.LabelRules.Default.Name, 1);
        fixedK.Parameters.Components.Should().Be(StrategyObjectives.DefaultGmmComponents).And.Be(3);
    }

    [Fact]
    public void Uniform_weights_train_exactly_like_the_plain_token_mean_and_others_do_not()
    {
        using var plainModel = new GptModel(Config, seed: 1);
        var plain = new GptTrainer(plainModel, Data(), Options).Run();
        using var uniformModel = new GptModel(Config, seed: 1);
        var observed = new List<BatchWeights>();
        var uniform = new GptTrainer(uniformModel, Data(), Options)
            { Objective = new StrategyObjective(new UniformStrategy()) { WeightsObserved = (_, w) => observed.Add(w) } }.Run();
        for (var i = 0; i < plain.Count; i++) uniform[i].Should().BeApproximately(plain[i], 1e-5);
        observed.Should().HaveCount(Options.Steps, "one set of weights per step, over all its micro-batches");
        observed.Should().OnlyContain(w => w.Weights.Length == Options.BatchSize * Options.GradientAccumulation);

        using var extremesModel = new GptModel(Config, seed: 1);
        var extremes = new GptTrainer(extremesModel, Data(), Options)
            { Objective = new StrategyObjective(new ExtremesStrategy(new LossShapeOptions(0.1, 0.1, 0, 0))) }.Run();
        extremes.Skip(1).Should().NotEqual(plain.Skip(1));
    }

    [Fact]
    public void Proxy_statistics_are_the_population_mean_and_variance_of_each_sequences_token_losses()
    {
        using var scope = DisposeScope.Open();
        using var proxy = new GptModel(Config with { Dropout = 0.3 }, seed: 5);
        var (x, y) = Data().Batch(0, 3);
        var ids = FromSpan<long>(x, [3, 10]);
        var targets = FromSpan<long>(y, [3, 10]);
        var stats = new ProxyStatistics(proxy).Compute(ids, targets);
        proxy.IsTraining.Should().BeTrue("the proxy's mode is restored");
        proxy.Eval();
        float[] losses;
        using (NoGrad()) losses = proxy.TokenLosses(ids, targets).ToArray<float>();
        for (var i = 0; i < 3; i++)
        {
            var expected = LossStatistics.Of(losses.AsSpan(i * 10, 10));
            stats.Means[i].Should().BeApproximately(expected.Mean, 1e-6);
            stats.Variances[i].Should().BeApproximately(expected.Variance, 1e-6);
        }
    }

    [Fact]
    public void The_proxy_fit_scores_exactly_the_first_sample_sequences_and_fits_on_their_statistics()
    {
        using var proxy = new GptModel(Config, seed: 5);
        var statistics = new ProxyStatistics(proxy);
        var data = Data();
        // 10 sequences in batches of 4: the last batch is short.
        var gmm = StrategyObjectives.FitGmmOnProxy(statistics, data, sampleSize: 10, batchSize: 4, Device.Cpu, Gmm.GmmFeatureSetting.Default.Name,
            Gmm.LabelRules.Default.Name, seed: 1);
        var sample = new List<(double, double)>();
        using (DisposeScope.Open())
        {
            var (x, y) = data.Batch(0, 10);
            var stats = statistics.Compute(FromSpan<long>(x, [10, 10]), FromSpan<long>(y, [10, 10]));
            for (var i = 0; i < 10; i++) sample.Add((stats.Means[i], stats.Variances[i]));
        }
        var expected = StrategyObjectives.FitGmm(sample, Gmm.GmmFeatureSetting.Default.Name, Gmm.LabelRules.Default.Name, 1, "proxy");
        gmm.SampleCount.Should().Be(10);
        gmm.ScorerModel.Should().Be("proxy");
        gmm.LabelMap.Should().Equal(expected.LabelMap);
        // The proxy's float32 losses differ in their last bits between batch shapes (4, 4, 2 against 10 at once).
        const double batchShapeTolerance = 1e-4;
        gmm.Parameters.Weights.Should().Equal(expected.Parameters.Weights, (a, b) => Math.Abs(a - b) < batchShapeTolerance);
        gmm.LogLikelihood.Should().BeApproximately(expected.LogLikelihood, batchShapeTolerance);
    }

    /// <summary>A corpus run weighs whole-document statistics as the streaming trainer does: each sequence of micro-batch j of
    /// step t (sequences t·B·A + j·B onwards) combines the statistics of the documents its targets come from by their
    /// token counts, and a sequence inside one document carries exactly that document's.</summary>
    [Fact]
    public void Document_statistics_give_each_sequence_its_documents_token_weighted_statistics()
    {
        var docs = new[] { 25, 3, 40, 12 }
            .Select((n, d) => (IReadOnlyList<long>)Enumerable.Range(0, n).Select(i => (long)((d + i) % 19)).ToArray()).ToList();
        var data = new TokenStream(docs, 19, 10, 7);
        (double Mean, double Variance)?[] stats = [(2.0, 0.5), null, (4.0, 1.5), (3.0, 0.25)];
        var source = new DocumentSequenceStatistics(data, stats, batchSize: 2, gradientAccumulation: 3);
        var step = 1L;
        var index = 2;
        using var ids = Zeros([2, 10], ScalarType.Int64);
        var computed = source.Compute(new MicroBatch(ids, ids, step, index));
        var inside = false;
        for (var row = 0; row < 2; row++)
        {
            var sequence = step * 6 + index * 2 + row;
            var parts = data.Composition(sequence).Where(p => stats[p.Document] is not null)
                .Select(p => (p.Tokens, stats[p.Document]!.Value.Mean, stats[p.Document]!.Value.Variance)).ToList();
            var n = parts.Sum(p => p.Tokens);
            var mean = parts.Sum(p => p.Tokens * p.Mean) / n;
            var variance = parts.Sum(p => p.Tokens * (p.Variance + (p.Mean - mean) * (p.Mean - mean))) / n;
            computed.Means[row].Should().BeApproximately(mean, 1e-12);
            computed.Variances[row].Should().BeApproximately(variance, 1e-12);
            source.Of(sequence).Should().Be((computed.Means[row], computed.Variances[row]));
        }
        for (long sequence = 0; sequence < data.SequencesPerEpoch; sequence++)
        {
            if (data.Composition(sequence) is not [var only] || stats[only.Document] is not { } s) continue;
            source.Of(sequence).Should().Be(s, "a sequence inside one document carries its statistics");
            inside = true;
        }
        inside.Should().BeTrue("some sequence lies inside one document");
        source.Invoking(x => x.Compute(new MicroBatch(Zeros([3, 10], ScalarType.Int64), ids, 0, 0))).Should().Throw<ArgumentException>()
            .WithMessage("*3 sequences*2*");
        ((ISampleStatisticsSource)source).Invoking(x => x.Compute(ids, ids)).Should().Throw<InvalidOperationException>()
            .WithMessage("*position*");
        new Action(() => _ = new DocumentSequenceStatistics(data, [null, null, null, null], 2, 1)).Should().Throw<ArgumentException>();
    }
}
