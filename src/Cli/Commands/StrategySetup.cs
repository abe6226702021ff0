using System.CommandLine;
using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.MetaEm;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using Reweighting.Objectives;

namespace Reweighting.Cli.Commands;

/// <summary>How a strategy is set up for a run (the command-line choices).</summary>
internal sealed record StrategySettings
{
    public double Temperature { get; init; } = 0.4;
    public int BurnIn { get; init; }
    public int? AnnealSteps { get; init; }
    public MetaEmOptions Meta { get; init; } = new();
    public double TopFraction { get; init; } = 0.25;
    public int GmmSample { get; init; } = 512;
    public string GmmFeatures { get; init; } = GmmFeatureSetting.Default.Name;
    public string LabelRule { get; init; } = LabelRules.Default.Name;
    /// <summary>K of the GMM meta-em and cluster-heuristic weigh under; 0: chosen by BIC.</summary>
    public int GmmComponents { get; init; } = StrategyObjectives.DefaultGmmComponents;
    public ulong Seed { get; init; }
}

/// <summary>Whole-document statistics for a corpus run: each training document's (loss mean, loss variance) in the order
/// the training stream was built from (null: no scored token), and the clean validation documents' that name the GMM's
/// components.</summary>
internal sealed record DocumentScores(IReadOnlyList<(double Mean, double Variance)?> Train,
    IReadOnlyList<(double Mean, double Variance)> Reference)
{
    /// <summary>The training documents <paramref name="keep"/> keeps, in order (a stream built from them alone).</summary>
    public DocumentScores Keeping(bool[] keep) => this with { Train = [.. Train.Where((_, i) => keep[i])] };
}

/// <summary>Sets up each strategy for `reweight train` and the evaluations (<see cref="StrategyObjectives"/> builds the
/// objective): meta-em and cluster-heuristic weigh the proxy's statistics under a GMM fitted on a sample of the
/// training stream; token-masked distils from the proxy.</summary>
internal static class StrategySetup
{
    /// <summary>The `--gmm-components` option of `reweight train` and `eval reweighting`: K of the (loss mean, variance) GMM
    /// meta-em and cluster-heuristic weigh under (read it with <see cref="GmmComponents"/>).</summary>
    public static Option<int> GmmComponentsOption() => new("--gmm-components")
    {
        Description = "meta-em, cluster-heuristic: K of the (loss mean, variance) GMM they weigh under; 0: chosen by BIC",
        DefaultValueFactory = _ => StrategyObjectives.DefaultGmmComponents,
    };

    /// <summary>The `--meta-min-width` option of `reweight train` and `eval reweighting` (<see cref="MetaEmOptions.MinWidth"/>).</summary>
    public static Option<double?> MetaMinWidthOption() => new("--meta-min-width")
    {
        Description = "meta-em: the narrowest kernel width the meta-update may reach, in units of each GMM component's spread and at " +
                      "most the initial width (default: the initial width, so the kernels never narrow; 0: no bound, the paper's update)",
    };

    /// <summary>The value of <paramref name="option"/> (<see cref="GmmComponentsOption"/>), refused below 0.</summary>
    public static int GmmComponents(ParseResult parse, Option<int> option) => parse.GetValue(option) is >= 0 and var k ? k
        : throw new ArgumentException("--gmm-components must be 0 (chosen by BIC) or positive");

    /// <summary>A strategy's objective. <paramref name="observe"/> sees each micro-batch's weights (not for token-masked,
    /// which weighs tokens rather than samples); <paramref name="log"/> gets one-off setup lines; under data parallelism
    /// <paramref name="group"/> makes the weights cover every rank's batch.</summary>
    public static ITrainingObjective Create(string name, StrategySettings settings, int totalSteps, GptModel? proxy, TokenStream train, TokenStream? validation,
        TrainingOptions options, Action<MicroBatch, BatchWeights>? observe = null, Action<PhiUpdate>? phiUpdated = null,
        Action<string>? log = null, ProcessGroup? group = null, DocumentScores? documents = null)
    {
        var strategy = StrategyCatalogue.Get(name);
        if (strategy.NeedsProxy && proxy is null) throw new ArgumentException($"--strategy {name} needs --proxy: a proxy checkpoint with the same tokenizer");
        // With a clean validation stream the GMM's components are named from it, and meta-em starts from the clean ones.
        var anchored = strategy.NeedsGmm && validation is not null;
        var parameters = new StrategyParameters(settings.Temperature, settings.BurnIn, settings.AnnealSteps, settings.TopFraction,
            settings.Meta, PhiFromCleanComponents: anchored);
        if (!strategy.NeedsGmm)
            return StrategyObjectives.Create(name, parameters, totalSteps, reference: proxy, observe: observe, group: group);
        if (strategy.NeedsValidation && validation is null) throw new ArgumentException($"{name} needs a clean validation stream for its meta-update");
        ISampleStatisticsSource statistics;
        GmmModel gmm;
        if (documents is null)
        {
            var proxyStatistics = new ProxyStatistics(proxy!);
            statistics = proxyStatistics;
            gmm = FitMixture(proxyStatistics, train, anchored ? validation : null, settings, options, log);
        }
        else
        {
            if (group is { WorldSize: > 1 }) throw new ArgumentException("document statistics are set up for one process");
            statistics = new DocumentSequenceStatistics(train, documents.Train, options.BatchSize, options.GradientAccumulation);
            var scored = documents.Train.Where(d => d is not null).Select(d => d!.Value).ToList();
            gmm = StrategyObjectives.FitGmmAnchored(scored, anchored ? documents.Reference : null, settings.GmmFeatures, settings.LabelRule,
                settings.Seed, settings.GmmComponents);
            log?.Invoke($"GMM fitted on the statistics of {scored.Count} training documents " +
                        $"({(anchored ? $"named from {documents.Reference.Count} clean documents" : $"named by {settings.LabelRule}")}): " +
                        gmm.DescribeComponents());
        }
        if (strategy.HasMetaUpdate)
        {
            var phi = StrategyObjectives.InitialPhi(gmm, parameters);
            var source = anchored
                ? $"the {phi.Components} of its {gmm.LabelMap.Length} components the clean reference does not call noisy"
                : "every component";
            log?.Invoke($"meta-em: phi initialised from the GMM ({source}): " +
                        $"lambda [{string.Join(" ", Enumerable.Range(0, phi.Components).Select(c => phi.Precision(c).ToString("G3")))}]" +
                        $" pi [{string.Join(" ", phi.MixingWeights().Select(p => p.ToString("F2")))}]");
            log?.Invoke($"meta-em: {settings.Meta.Describe(Device.Parse(options.Device).Type)}");
        }
        return StrategyObjectives.Create(name, parameters, totalSteps, statistics, gmm, validation, observe: observe,
            phiUpdated: phiUpdated, group: group);
    }

    /// <summary>The document GMM fitted on the proxy statistics of the first <see cref="StrategySettings.GmmSample"/>
    /// training sequences (the trainer's warm-up reservoir), its components named from <paramref name="reference"/> when
    /// given.</summary>
    private static GmmModel FitMixture(ProxyStatistics statistics, TokenStream train, TokenStream? reference, StrategySettings settings,
        TrainingOptions options, Action<string>? log)
    {
        var gmm = StrategyObjectives.FitGmmOnProxy(statistics, train, settings.GmmSample, options.BatchSize, Device.Parse(options.Device), settings.GmmFeatures,
            settings.LabelRule, settings.Seed, reference, settings.GmmComponents);
        var naming = reference is null ? $"named by {settings.LabelRule}" : "named from the clean validation stream";
        log?.Invoke($"GMM fitted on the proxy statistics of {gmm.SampleCount} training sequences ({naming}): {gmm.DescribeComponents()}");
        return gmm;
    }
}
