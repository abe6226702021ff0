namespace Reweighting.Gmm;

/// <summary>The one set of labelling defaults: the scorer service, <c>reweight demo</c> and <c>reweight eval
/// noise-detection</c> all start from <see cref="Settings"/> (a test checks that they agree). Nothing here may be
/// chosen per corpus; how these values were chosen, and on which corpora they were checked, is in docs/reweighting.md.</summary>
public static class LabellingDefaults
{
    /// <summary>The label rule name meaning reference-anchored labelling (<see cref="ReferenceAnchoring"/>): the noisy
    /// components are those a clean reference leaves empty.</summary>
    public const string ReferenceRule = "reference";

    /// <summary>The default settings.</summary>
    public static LabellingSettings Settings { get; } = new();
}

/// <summary>How the document GMM is fitted and its components named.</summary>
/// <param name="FeatureSetting">The feature map (<see cref="GmmFeatureSetting.All"/>).</param>
/// <param name="LabelRule"><see cref="LabellingDefaults.ReferenceRule"/> or a rule of <see cref="LabelRules.All"/>.</param>
/// <param name="UnanchoredLabelRule">The rule used when <paramref name="LabelRule"/> is the reference rule but no
/// reference is given.</param>
/// <param name="Components">K; 0 chooses K by BIC in [<paramref name="MinComponents"/>, <paramref name="MaxComponents"/>].</param>
/// <param name="MinComponents">The smallest K the BIC search tries.</param>
/// <param name="MaxComponents">The largest K the BIC search tries.</param>
/// <param name="OccupancyRatio">Reference-anchored labelling: a component is noisy when the reference fills it less
/// than this fraction of its share of the stream.</param>
public sealed record LabellingSettings(
    string FeatureSetting = "per-byte-std",
    string LabelRule = LabellingDefaults.ReferenceRule,
    string UnanchoredLabelRule = "atypical",
    int Components = 0,
    int MinComponents = 2,
    int MaxComponents = 8,
    double OccupancyRatio = ReferenceAnchoring.DefaultOccupancyRatio)
{
    /// <summary>True when K is chosen by BIC.</summary>
    public bool ChoosesComponents => Components == 0;

    /// <summary>Whether the components are named from a reference (when one is given).</summary>
    public bool AnchorsOnReference => LabelRule == LabellingDefaults.ReferenceRule;

    /// <summary>The smallest K any fit under these settings may use (to check a warm-up or reservoir is big enough).</summary>
    public int SmallestComponents => ChoosesComponents ? MinComponents : Components;

    /// <summary>The rule that names components when no reference is given.</summary>
    public ILabelRule FallbackRule => LabelRules.Get(AnchorsOnReference ? UnanchoredLabelRule : LabelRule);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public LabellingSettings Validate()
    {
        _ = GmmFeatureSetting.Get(FeatureSetting);
        if (!AnchorsOnReference) _ = LabelRules.Get(LabelRule);
        _ = LabelRules.Get(UnanchoredLabelRule);
        if (Components < 0) throw new ArgumentException($"K must be 0 (chosen by BIC) or positive, not {Components}");
        if (MinComponents < 1 || MaxComponents < MinComponents)
            throw new ArgumentException($"the BIC search range of K [{MinComponents}, {MaxComponents}] is empty or starts below 1");
        if (OccupancyRatio is not (> 0 and < 1))
            throw new ArgumentException($"the occupancy ratio must be in (0, 1), not {OccupancyRatio}");
        return this;
    }

    /// <summary>One line for logs and summaries, e.g. "K by BIC in [2, 8], raw-std features, reference-anchored labels".</summary>
    public string Describe(bool hasReference) =>
        $"{(ChoosesComponents ? $"K by BIC in [{MinComponents}, {MaxComponents}]" : $"K = {Components}")}, {FeatureSetting} features, " +
        (AnchorsOnReference
            ? hasReference ? "reference-anchored labels" : $"{UnanchoredLabelRule} labels (no clean reference given to anchor them)"
            : $"{LabelRule} labels");
}
