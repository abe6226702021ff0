using Reweighting.Contracts;
using Reweighting.Gmm;
using Reweighting.Statistics;

namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>One label rule under one feature setting: the noisy-label responsibility as the score, the hard label noisy
/// as the flag, and which documents it labels hard.</summary>
internal sealed record Detection(double[] Score, bool[] Flag, bool[] Hard);

/// <summary>The GMM side of noise detection, and all of it: one mixture per feature setting fitted on the corpus's
/// (loss mean, loss variance) as the scorer service fits it (<see cref="MixtureLabelling"/>: K fixed or by BIC), and
/// every label rule's labels of every document, plus reference-anchored labels when a clean reference is given. The
/// evaluation only reads <see cref="Detection"/>s.</summary>
internal sealed class GmmLabelling
{
    /// <summary>The row reference-anchored labelling takes among the label rules.</summary>
    public const string ReferenceRule = LabellingDefaults.ReferenceRule;

    private GmmLabelling(Dictionary<string, (GmmFit Fit, StatFeatures Features)> fits,
        Dictionary<string, Dictionary<string, Detection>> rules, string chosenRule, string chosenFeatures,
        (ReferenceNovelty Detector, Detection Labels)? novelty)
    {
        Novelty = novelty;
        Fits = fits;
        Rules = rules;
        ChosenRule = chosenRule;
        ChosenFeatures = chosenFeatures;
    }

    /// <summary>With a reference the detector can use (counted bytes, at least <see cref="ReferenceNovelty.MinReference"/>
    /// documents) and reference-anchored naming: the document-level detector fitted against it, as the scorer service fits
    /// one with every version, and the labels of the chosen fit under it (its distance to the reference as the score).
    /// These are the method <c>gmm</c>.</summary>
    public (ReferenceNovelty Detector, Detection Labels)? Novelty { get; }

    /// <summary>The chosen rule's labels of the chosen fit, decided per component (the method <c>gmm_components</c> when a
    /// detector decides <c>gmm</c>).</summary>
    public Detection ComponentLabels => Rules[ChosenRule][ChosenFeatures];

    /// <summary>The labels users get, the method <c>gmm</c>: the detector's where there is one, else the components'.</summary>
    public Detection Labels => Novelty?.Labels ?? ComponentLabels;

    /// <summary>The feature setting behind the method <c>gmm</c>: the settings', or its per-token counterpart when the
    /// scores carry no bytes.</summary>
    public string ChosenFeatures { get; }

    /// <summary>Feature setting name → the mixture fitted under it and its feature map.</summary>
    public IReadOnlyDictionary<string, (GmmFit Fit, StatFeatures Features)> Fits { get; }

    /// <summary>Label rule name (and <see cref="ReferenceRule"/> when there is a reference) → feature setting name → labels.</summary>
    public IReadOnlyDictionary<string, Dictionary<string, Detection>> Rules { get; }

    /// <summary>The rule that names the method <c>gmm</c>'s components: <see cref="ReferenceRule"/> when the settings anchor
    /// on a reference and one is given, else the settings' (fallback) rule. The scorer service decides the same way.</summary>
    public string ChosenRule { get; }

    /// <summary>The documents a user's <c>noisy_documents</c> query would return: the <c>noisy</c> label under the shared
    /// labelling defaults, anchored on a clean <paramref name="reference"/> (per document when the detector applies, as
    /// the scorer labels). Aligned with <paramref name="stats"/>; a document without a scored token is not flagged.</summary>
    public static bool[] NoisyLabels(IReadOnlyList<LossStatistics> stats, IReadOnlyList<LossStatistics> reference, int seed)
    {
        var usable = Enumerable.Range(0, stats.Count).Where(i => stats[i].Count > 0).ToArray();
        var labelling = Run([.. usable.Select(i => stats[i])], LabellingDefaults.Settings, new GmmFitOptions(Seed: seed),
            [.. reference.Where(s => s.Count > 0)]);
        var flags = labelling.Labels.Flag;
        var result = new bool[stats.Count];
        for (var j = 0; j < usable.Length; j++) result[usable[j]] = flags[j];
        return result;
    }

    /// <summary>Fits one mixture per feature setting on <paramref name="stats"/> (documents with at least one scored token)
    /// under <paramref name="settings"/>' K, and labels every document under every rule; with <paramref name="reference"/>,
    /// also by reference anchoring.</summary>
    public static GmmLabelling Run(IReadOnlyList<LossStatistics> stats, LabellingSettings settings, GmmFitOptions options,
        IReadOnlyList<LossStatistics>? reference)
    {
        // Per-byte feature maps need every document's bytes; scores written before bytes were counted leave them out.
        var placeable = GmmFeatureSetting.All
            .Where(f => stats.All(s => GmmInputs.Of(s, f.Transform) is not null) &&
                        (reference is null || reference.All(s => GmmInputs.Of(s, f.Transform) is not null)))
            .ToList();
        if (placeable.All(f => f.Name != settings.FeatureSetting))
        {
            // Scores written before bytes were counted: the per-token counterpart stands in, and says so.
            var fallback = GmmFeatureSetting.All.First(f => !GmmInputs.NeedsBytes(f.Transform)
                && f.Standardise == GmmFeatureSetting.Get(settings.FeatureSetting).Standardise);
            Console.Error.WriteLine($"note: the scores carry no bytes, which the {settings.FeatureSetting} features need; gmm uses " +
                                    $"{fallback.Name} instead (score again with this version's `lm score` for the default)");
            settings = settings with { FeatureSetting = fallback.Name };
        }
        var fits = placeable.ToDictionary(f => f.Name, f =>
        {
            var (fit, features, _, _) = MixtureLabelling.FitComponents(GmmInputs.All(stats, f.Transform),
                settings with { FeatureSetting = f.Name }, options, null);
            return (Fit: fit, Features: features);
        });
        // Every label rule reads its own map off the same fit.
        var rules = LabelRules.All.ToDictionary(r => r.Name,
            r => placeable.ToDictionary(f => f.Name, f => Label(stats, fits[f.Name], r.Map(fits[f.Name].Fit.Parameters))));
        if (reference is { Count: > 0 })
        {
            rules[ReferenceRule] = placeable.ToDictionary(f => f.Name, f =>
                Label(stats, fits[f.Name], ReferenceAnchoring.MapStatistics(fits[f.Name].Fit.Parameters,
                    GmmInputs.All(reference, f.Transform), settings.OccupancyRatio)));
        }
        var chosen = settings.AnchorsOnReference && reference is { Count: > 0 } ? ReferenceRule : settings.FallbackRule.Name;
        (ReferenceNovelty, Detection)? novelty = null;
        if (chosen == ReferenceRule && fits.TryGetValue(settings.FeatureSetting, out var chosenFit))
        {
            var referenceFeatures = reference!.Select(ReferenceNovelty.Features).ToList();
            var streamFeatures = stats.Select(ReferenceNovelty.Features).ToList();
            if (referenceFeatures.Count >= ReferenceNovelty.MinReference && referenceFeatures.All(f => f is not null)
                && streamFeatures.All(f => f is not null))
            {
                var detector = ReferenceNovelty.Fit(referenceFeatures!, streamFeatures!, options.Seed);
                var referenceInputs = GmmInputs.All(reference!, chosenFit.Features.Transform);
                var map = ReferenceAnchoring.MapStatistics(chosenFit.Fit.Parameters, referenceInputs, settings.OccupancyRatio);
                novelty = (detector, Label(stats, chosenFit, map, detector));
            }
        }
        return new GmmLabelling(fits, rules, chosen, settings.FeatureSetting, novelty);
    }

    /// <summary>Labels every document with a given map of the fitted mixture's components (and, with a detector, under
    /// it: the detector's distance is then the score).</summary>
    private static Detection Label(IReadOnlyList<LossStatistics> stats, (GmmFit Fit, StatFeatures Features) fitted, SampleLabel[] labelMap,
        ReferenceNovelty? novelty = null)
    {
        var labeller = new GmmLabeller(GaussianMixture.FromParameters(fitted.Fit.Parameters), fitted.Features, labelMap, novelty);
        var assignments = stats.Select(s => labeller.Assign(s) ?? throw new InvalidDataException("a document the mixture cannot place"))
            .ToArray();
        return new Detection(
            novelty is not null
                ? stats.Select(s => novelty.Distance(ReferenceNovelty.Features(s)!)).ToArray()
                : assignments.Select(a => a.Responsibilities.Where((_, c) => labelMap[c] == SampleLabel.Noisy).Sum()).ToArray(),
            assignments.Select(a => a.Label == SampleLabel.Noisy).ToArray(),
            assignments.Select(a => a.Label == SampleLabel.Hard).ToArray());
    }
}
