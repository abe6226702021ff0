using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.MetaEm;
using Reweighting.Modeling.Training;
using Reweighting.Statistics;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Objectives;
using Xunit;
using static Reweighting.Torch.Torch;

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
        var sample = Enumerable.Range(0, 60).Select(i => (Mean: 2.0 + i % 3, Variance: 0.5 + i % 5 * 0.1)).ToList();
        var gmm = StrategyObjectives.FitGmm(sample, Gmm.GmmFeatureSetting.Default.Name, Gmm.LabelRules.Default.Name, 1, "proxy");
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
        observed.Should().HaveCount(Options.Steps * Options.GradientAccumulation);

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
}
