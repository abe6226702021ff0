using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.MetaEm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using static Reweighting.Torch.Torch;

namespace Reweighting.Objectives;

/// <summary>A strategy's settings, as `reweight train` and the trainer service take them.</summary>
/// <param name="Temperature">Final softmax temperature of the loss-shape strategies.</param>
/// <param name="BurnIn">Uniform steps before the loss-shape strategies start.</param>
/// <param name="AnnealSteps">Steps over which r falls from 100 to the final value (default: half the run).</param>
/// <param name="TopFraction">token-masked: share of each sequence's tokens trained by MLE.</param>
/// <param name="Meta">meta-em's meta-update.</param>
/// <param name="PhiFromCleanComponents">meta-em: initialise phi from the GMM's components its label map does not call
/// noisy (labels anchored on a clean reference), so noise starts near weight 0; otherwise from every component.</param>
public sealed record StrategyParameters(double Temperature, int BurnIn, int? AnnealSteps, double TopFraction, MetaEmOptions Meta,
    bool PhiFromCleanComponents = false);

/// <summary>Builds the training objective of each strategy by name: the Sow strategies weigh the model's own losses;
/// meta-em and cluster-heuristic weigh <c>statistics</c> (a proxy's, or the scorer's carried by scored batches) under a
/// GMM; token-masked distils from a reference model.</summary>
public static class StrategyObjectives
{
    /// <param name="name">One of <see cref="StrategyCatalogue.Names"/>.</param>
    /// <param name="parameters">The strategy's settings.</param>
    /// <param name="totalSteps">The run's length (the default anneal is half of it).</param>
    /// <param name="statistics">meta-em, cluster-heuristic: where each sequence's statistics come from.</param>
    /// <param name="gmm">meta-em, cluster-heuristic: the GMM (its parameters, feature map and label map).</param>
    /// <param name="validation">meta-em: the clean validation stream of the meta-update.</param>
    /// <param name="reference">token-masked: the reference model.</param>
    /// <param name="observe">Called with each micro-batch's sample weights (not for token-masked).</param>
    /// <param name="phiUpdated">meta-em: called after each meta-update.</param>
    /// <param name="group">The data-parallel group: the weights cover every rank's batch (null: one process).</param>
    public static ITrainingObjective Create(string name, StrategyParameters parameters, long totalSteps, ISampleStatisticsSource? statistics = null,
        GmmModel? gmm = null, TokenStream? validation = null, GptModel? reference = null, Action<MicroBatch, BatchWeights>? observe = null,
        Action<PhiUpdate>? phiUpdated = null, ProcessGroup? group = null)
    {
        var strategy = StrategyCatalogue.Get(name);
        if (strategy.HasReferenceModel && reference is null) throw new ArgumentException($"{name} needs a reference model");
        if (strategy.NeedsGmm && gmm is null) throw new ArgumentException($"{name} needs a GMM over the documents' statistics");
        if (strategy.NeedsGmm && statistics is null) throw new ArgumentException($"{name} needs a source of (loss mean, variance) statistics");
        if (strategy.NeedsGmm && gmm!.Parameters.Transform == FeatureTransform.PerByte)
        {
            throw new ArgumentException($"{name} weighs documents by (loss mean, loss variance), but GMM version {gmm.Version} is fitted per byte " +
                                        "(the scorer's labelling GMM): train without a GMM version so the trainer fits its own");
        }
        if (strategy.NeedsValidation && validation is null) throw new ArgumentException($"{name} needs a clean validation stream");
        var shape = new LossShapeOptions(parameters.Temperature, 100, parameters.BurnIn, parameters.AnnealSteps ?? (int)Math.Max(1, totalSteps / 2));
        return strategy.Name switch
        {
            "uniform" => new StrategyObjective(new UniformStrategy()) { WeightsObserved = observe, Group = group },
            "linupper" => new StrategyObjective(new LinUpperStrategy(shape)) { WeightsObserved = observe, Group = group },
            "quadratic" => new StrategyObjective(new QuadraticStrategy(shape)) { WeightsObserved = observe, Group = group },
            "extremes" => new StrategyObjective(new ExtremesStrategy(shape)) { WeightsObserved = observe, Group = group },
            "token-masked" => new TokenMaskedObjective(reference!, new TokenMaskedOptions(parameters.TopFraction)),
            "cluster-heuristic" => new StrategyObjective(new ClusterHeuristicStrategy(GmmLabeller.FromModel(gmm!)), statistics)
            {
                WeightsObserved = observe, Group = group,
            },
            "meta-em" => new MetaEmObjective(new MetaEmStrategy(InitialPhi(gmm!, parameters), StatFeatures.FromParameters(gmm!.Parameters)),
                statistics!, validation!, parameters.Meta, group) { WeightsObserved = observe, PhiUpdated = phiUpdated },
            _ => throw new InvalidOperationException($"the strategy catalogue lists '{name}' but no objective is built for it"),
        };
    }

    /// <summary>meta-em's starting phi (see <see cref="StrategyParameters.PhiFromCleanComponents"/>).</summary>
    public static ClusterPhi InitialPhi(GmmModel gmm, StrategyParameters parameters) => parameters.PhiFromCleanComponents
        ? ClusterPhi.FromMixture(gmm.Parameters, gmm.LabelMap, parameters.Meta.InitialWidth)
        : ClusterPhi.FromMixture(gmm.Parameters, parameters.Meta.InitialWidth);

    /// <summary>K of the GMM a trainer fits on (loss mean, loss variance) for meta-em and cluster-heuristic (0: chosen by
    /// BIC over the range the labelling defaults search, as the scorer chooses its own). K by BIC was measured against 3
    /// with `eval reweighting` on three corpora with 20% noise (5 seeds each) and lost on the one where meta-em gains
    /// most (README, "meta-em's GMM"), so K stays 3.</summary>
    public const int DefaultGmmComponents = 3;

    /// <summary>A GMM fitted on (loss mean, loss variance) statistics under a feature map, labelled by a rule (version 0:
    /// not a stored version); <paramref name="components"/> is K, 0 chosen by BIC (default: <see cref="DefaultGmmComponents"/>).</summary>
    public static GmmModel FitGmm(IReadOnlyList<(double Mean, double Variance)> stats, string featureSetting, string labelRule, ulong seed,
        string scorerModel, int components = DefaultGmmComponents)
    {
        var settings = (LabellingDefaults.Settings with { FeatureSetting = featureSetting, LabelRule = labelRule, Components = components })
            .Validate();
        var options = new GmmFitOptions(Seed: (int)(seed % int.MaxValue));
        var fit = settings.ChoosesComponents
            ? MixtureLabelling.FitComponents(stats, settings, options, null).Fit
            : StatisticsMixture.Fit(stats, GmmFeatureSetting.Get(featureSetting), options with { Components = components }).Fit;
        var labels = LabelRules.Get(labelRule).Map(fit.Parameters);
        return new GmmModel(0, scorerModel, fit.Parameters, labels, stats.Count, fit.MeanLogLikelihood, DateTimeOffset.UtcNow);
    }

    /// <summary>Scores the first <paramref name="sampleSize"/> sequences of <paramref name="train"/> on the proxy,
    /// <paramref name="batchSize"/> at a time on <paramref name="device"/>, and fits the GMM on their statistics with
    /// <see cref="FitGmm"/> (scorer model "proxy"): the warm-up reservoir of a run that has a proxy but no scorer.
    /// With <paramref name="reference"/> (a clean stream), its first <paramref name="sampleSize"/> sequences' statistics
    /// name the components instead of <paramref name="labelRule"/>: a component they leave nearly empty is noisy
    /// (<see cref="ReferenceAnchoring"/>).</summary>
    public static GmmModel FitGmmOnProxy(ProxyStatistics statistics, TokenStream train, int sampleSize, int batchSize, Device device, string featureSetting,
        string labelRule, ulong seed, TokenStream? reference = null, int components = DefaultGmmComponents) =>
        FitGmmAnchored(Sample(statistics, train, sampleSize, batchSize, device),
            reference is null ? null : Sample(statistics, reference, sampleSize, batchSize, device), featureSetting, labelRule, seed, components);

    /// <summary><see cref="FitGmm"/> on <paramref name="train"/> (scorer model "proxy"), its components named from the clean
    /// statistics <paramref name="reference"/> when given (<see cref="ReferenceAnchoring"/>), by <paramref name="labelRule"/>
    /// otherwise.</summary>
    public static GmmModel FitGmmAnchored(IReadOnlyList<(double Mean, double Variance)> train,
        IReadOnlyList<(double Mean, double Variance)>? reference, string featureSetting, string labelRule, ulong seed,
        int components = DefaultGmmComponents)
    {
        var gmm = FitGmm(train, featureSetting, labelRule, seed, "proxy", components);
        return reference is null ? gmm : gmm with { LabelMap = ReferenceAnchoring.MapStatistics(gmm.Parameters, reference) };
    }

    private static List<(double Mean, double Variance)> Sample(ProxyStatistics statistics, TokenStream data, int sampleSize, int batchSize,
        Device device)
    {
        var sample = new List<(double, double)>(sampleSize);
        for (long first = 0; first < sampleSize; first += batchSize)
        {
            using var scope = DisposeScope.Open();
            var count = (int)Math.Min(batchSize, sampleSize - first);
            var (x, y) = data.Batch(first, count);
            var sequenceLength = x.Length / count;
            var stats = statistics.Compute(FromSpan<long>(x, [count, sequenceLength], device), FromSpan<long>(y, [count, sequenceLength], device));
            for (var i = 0; i < count; i++) sample.Add((stats.Means[i], stats.Variances[i]));
        }
        return sample;
    }
}
