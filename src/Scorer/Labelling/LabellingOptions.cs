using Reweighting.Gmm;

namespace Reweighting.Scorer.Labelling;

/// <summary>How the scorer's GMM is fitted and refitted: warm-up, refit interval, reservoir, mixture settings.</summary>
public sealed record LabellingOptions
{
    /// <summary>The proxy model whose statistics are labelled; GMM versions are stored and reloaded per scorer model.</summary>
    public string ScorerModel { get; init; } = "";

    /// <summary>Documents observed before the first fit (version 1); until then nothing is labelled.</summary>
    public int WarmUpDocuments { get; init; } = 2_000;

    /// <summary>Documents observed after one fit before the next (warm-started) refit.</summary>
    public int RefitEveryDocuments { get; init; } = 20_000;

    /// <summary>Statistics kept in the reservoir, a uniform sample of every document observed; each fit runs on it.</summary>
    public int ReservoirCapacity { get; init; } = 20_000;

    /// <summary>K, the GMM's components; 0 (the default) chooses K by BIC in [<see cref="MinComponents"/>,
    /// <see cref="MaxComponents"/>] at every fit.</summary>
    public int Components { get; init; } = LabellingDefaults.Settings.Components;

    /// <summary>The smallest K the BIC search tries.</summary>
    public int MinComponents { get; init; } = LabellingDefaults.Settings.MinComponents;

    /// <summary>The largest K the BIC search tries.</summary>
    public int MaxComponents { get; init; } = LabellingDefaults.Settings.MaxComponents;

    /// <summary>Feature setting name (<see cref="GmmFeatureSetting.All"/>).</summary>
    public string FeatureSetting { get; init; } = LabellingDefaults.Settings.FeatureSetting;

    /// <summary>How components are named: <c>reference</c> (the default: from <see cref="ReferencePath"/>) or a label
    /// rule of <see cref="LabelRules.All"/>.</summary>
    public string LabelRule { get; init; } = LabellingDefaults.Settings.LabelRule;

    /// <summary>The rule that names components when <see cref="LabelRule"/> is <c>reference</c> and no reference is given.</summary>
    public string UnanchoredLabelRule { get; init; } = LabellingDefaults.Settings.UnanchoredLabelRule;

    /// <summary>Reference-anchored labelling: a component is noisy when the reference fills it less than this
    /// fraction of its share of the stream.</summary>
    public double OccupancyRatio { get; init; } = LabellingDefaults.Settings.OccupancyRatio;

    /// <summary>A clean reference corpus (JSONL, JSONL.gz or text; e.g. the held-out validation set): the scorer scores
    /// it with its proxy at start, and components it leaves empty are labelled noisy. Empty: no reference, and the
    /// <see cref="UnanchoredLabelRule"/> names the components.</summary>
    public string? ReferencePath { get; init; }

    /// <summary>k-means++ restarts of a cold fit (warm-started refits run once from the previous version).</summary>
    public int FitRestarts { get; init; } = 3;

    /// <summary>EM iterations per fit.</summary>
    public int MaxIterations { get; init; } = 300;

    /// <summary>Seed of the reservoir's replacement draws and of the cold fit's initialisations.</summary>
    public int Seed { get; init; } = 0;

    /// <summary>On start, refill the reservoir with a random sample of this scorer model's stored statistics, so refits
    /// after a restart still see the whole stream (and an interrupted warm-up does not start over).</summary>
    public bool ReseedFromStoredScores { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public LabellingOptions Validate()
    {
        if (string.IsNullOrWhiteSpace(ScorerModel)) throw new ArgumentException("labelling needs the scorer model id");
        var settings = ToSettings().Validate();
        if (WarmUpDocuments < settings.SmallestComponents)
            throw new ArgumentException(
                $"warm-up of {WarmUpDocuments} documents is fewer than the {settings.SmallestComponents} components");
        if (RefitEveryDocuments < 1) throw new ArgumentException($"refit interval must be at least 1 document, not {RefitEveryDocuments}");
        if (ReservoirCapacity < settings.SmallestComponents)
            throw new ArgumentException($"reservoir of {ReservoirCapacity} statistics cannot fit {settings.SmallestComponents} components");
        if (FitRestarts < 1) throw new ArgumentException($"fit restarts must be at least 1, not {FitRestarts}");
        if (MaxIterations < 1) throw new ArgumentException($"EM iterations must be at least 1, not {MaxIterations}");
        if (ReferencePath is { Length: > 0 } path && !File.Exists(path) && !Directory.Exists(path))
            throw new ArgumentException($"the labelling reference {path} does not exist");
        return this;
    }

    /// <summary>These options with the fitting and naming settings of <paramref name="settings"/>.</summary>
    public LabellingOptions With(LabellingSettings settings) => this with
    {
        FeatureSetting = settings.FeatureSetting, LabelRule = settings.LabelRule, UnanchoredLabelRule = settings.UnanchoredLabelRule,
        Components = settings.Components, MinComponents = settings.MinComponents, MaxComponents = settings.MaxComponents,
        OccupancyRatio = settings.OccupancyRatio,
    };

    /// <summary>The fitting and naming settings these options carry.</summary>
    public LabellingSettings ToSettings() =>
        new(FeatureSetting, LabelRule, UnanchoredLabelRule, Components, MinComponents, MaxComponents, OccupancyRatio);
}
