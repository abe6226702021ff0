using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Statistics;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Training;
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

    [Fact]
    public void Uniform_weights_train_exactly_like_the_plain_token_mean_and_others_do_not()
    {
        using var plainModel = new GptModel(Config, seed: 1);
        var plain = new Trainer(plainModel, Data(), Options).Run();
        using var uniformModel = new GptModel(Config, seed: 1);
        var observed = new List<BatchWeights>();
        var uniform = new Trainer(uniformModel, Data(), Options)
            { Objective = new StrategyObjective(new UniformStrategy()) { WeightsObserved = (_, w) => observed.Add(w) } }.Run();
        for (var i = 0; i < plain.Count; i++) uniform[i].Should().BeApproximately(plain[i], 1e-5);
        observed.Should().HaveCount(Options.Steps * Options.GradientAccumulation);

        using var extremesModel = new GptModel(Config, seed: 1);
        var extremes = new Trainer(extremesModel, Data(), Options)
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
}
