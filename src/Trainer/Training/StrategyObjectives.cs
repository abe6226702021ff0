using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.MetaEm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Training;

namespace Reweighting.Trainer.Training;

/// <summary>Builds the training objective of the configured strategy, as <c>reweight train</c> does, except that
/// meta-em and cluster-heuristic weigh the scorer's statistics carried by the scored batches (no proxy pass) under a GMM
/// the caller resolves: the scorer's stored GMM version, or one the trainer fitted on its warm-up reservoir.</summary>
public static class StrategyObjectives
{
    /// <summary>The objective of <see cref="TrainerOptions.Strategy"/>.</summary>
    /// <param name="options">The trainer's settings.</param>
    /// <param name="statistics">Where meta-em and cluster-heuristic read each sequence's statistics.</param>
    /// <param name="gmm">The GMM for meta-em and cluster-heuristic (null for the others).</param>
    /// <param name="validation">meta-em's clean validation stream.</param>
    /// <param name="reference">token-masked's reference model.</param>
    /// <param name="phiUpdated">Called after each meta-update of phi.</param>
    public static ITrainingObjective Create(TrainerOptions options, ISampleStatisticsSource statistics, GmmModel? gmm, TokenStream? validation,
        GptModel? reference, Action<PhiUpdate>? phiUpdated = null)
    {
        var steps = options.Training.Steps;
        var shape = new LossShapeOptions(options.Temperature, 100, options.BurnIn, options.AnnealSteps ?? Math.Max(1, steps / 2));
        switch (options.Strategy)
        {
            case "uniform": return new StrategyObjective(new UniformStrategy());
            case "linupper": return new StrategyObjective(new LinUpperStrategy(shape));
            case "quadratic": return new StrategyObjective(new QuadraticStrategy(shape));
            case "extremes": return new StrategyObjective(new ExtremesStrategy(shape));
            case "token-masked":
                return new TokenMaskedObjective(reference ?? throw new ArgumentException("token-masked needs a reference model"), new TokenMaskedOptions(options.TopFraction));
        }
        if (gmm is null) throw new ArgumentException($"{options.Strategy} needs a GMM over the scorer's statistics");
        if (options.Strategy == "cluster-heuristic") return new StrategyObjective(new ClusterHeuristicStrategy(GmmLabeller.FromModel(gmm)), statistics);
        if (options.Strategy != "meta-em") throw new ArgumentException($"unknown strategy '{options.Strategy}'");
        var phi = ClusterPhi.FromMixture(gmm.Parameters);
        return new MetaEmObjective(new MetaEmStrategy(phi, StatFeatures.FromParameters(gmm.Parameters)), statistics,
            validation ?? throw new ArgumentException("meta-em needs a clean validation stream"), options.Meta) { PhiUpdated = phiUpdated };
    }

    /// <summary>A GMM fitted by the trainer on (loss mean, loss variance) statistics, labelled by the configured rule.</summary>
    public static GmmModel Fit(IReadOnlyList<(double Mean, double Variance)> stats, TrainerOptions options, string scorerModel)
    {
        var fitted = StatisticsMixture.Fit(stats, GmmFeatureSetting.Get(options.GmmFeatures),
            new GmmFitOptions(Seed: (int)(options.Training.Seed % int.MaxValue)));
        var labels = LabelRules.Get(options.LabelRule).Map(fitted.Fit.Parameters);
        return new GmmModel(0, scorerModel, fitted.Fit.Parameters, labels, stats.Count, fitted.Fit.MeanLogLikelihood, DateTimeOffset.UtcNow);
    }
}
