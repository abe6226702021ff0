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

    /// <summary>K, the GMM's components.</summary>
    public int Components { get; init; } = 3;

    /// <summary>Feature setting name (<see cref="GmmFeatureSetting.All"/>); default <c>raw-std</c>.</summary>
    public string FeatureSetting { get; init; } = GmmFeatureSetting.Default.Name;

    /// <summary>Label rule name (<see cref="LabelRules.All"/>); default <c>atypical</c>.</summary>
    public string LabelRule { get; init; } = LabelRules.Default.Name;

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
        if (Components < 1) throw new ArgumentException($"the GMM needs at least one component, not {Components}");
        if (WarmUpDocuments < Components)
            throw new ArgumentException($"warm-up of {WarmUpDocuments} documents is fewer than the {Components} components");
        if (RefitEveryDocuments < 1) throw new ArgumentException($"refit interval must be at least 1 document, not {RefitEveryDocuments}");
        if (ReservoirCapacity < Components)
            throw new ArgumentException($"reservoir of {ReservoirCapacity} statistics cannot fit {Components} components");
        if (FitRestarts < 1) throw new ArgumentException($"fit restarts must be at least 1, not {FitRestarts}");
        if (MaxIterations < 1) throw new ArgumentException($"EM iterations must be at least 1, not {MaxIterations}");
        _ = GmmFeatureSetting.Get(FeatureSetting);
        _ = LabelRules.Get(LabelRule);
        return this;
    }
}
