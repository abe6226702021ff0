using Reweighting.Evaluation;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;

namespace Reweighting.Cli.Commands.NoiseDetection;

/// <summary>The settings of a noise-detection run that every corpus shares: the EM settings and the labelling settings
/// behind the method <c>gmm</c> (by default the scorer service's, <see cref="LabellingDefaults.Settings"/>).</summary>
internal sealed record DetectionSettings(GmmFitOptions Fit, LabellingSettings Labelling)
{
    /// <summary>The feature setting behind the method <c>gmm</c>.</summary>
    public string Features => Labelling.FeatureSetting;
}

/// <summary>How well one method finds one corpus's noisy documents: ranking (ROC-AUC, average precision) by its score,
/// precision and recall of its flags, and for a GMM labelling the share of noisy documents it labels hard.</summary>
internal sealed record MethodScore(
    double Auroc, double AveragePrecision, double Precision, double Recall, int Flagged, double? NoisyLabelledHard)
{
    /// <summary>The score of one method: <paramref name="hard"/> says which documents it labels hard (null for a baseline,
    /// which has no labels); <paramref name="truth"/> which are noisy.</summary>
    public static MethodScore Of(double[] score, bool[] flag, bool[]? hard, bool[] truth)
    {
        var (precision, recall) = DetectionMetrics.PrecisionRecall(flag, truth);
        var noisy = truth.Count(t => t);
        double? noisyHard = hard is null ? null : noisy == 0 ? double.NaN : (double)truth.Where((t, i) => t && hard[i]).Count() / noisy;
        return new MethodScore(DetectionMetrics.RocAuc(score, truth), DetectionMetrics.AveragePrecision(score, truth), precision, recall,
            flag.Count(f => f), noisyHard);
    }

    /// <summary>The JSON fields: auroc, average_precision, noisy_precision, noisy_recall, flagged, and for a labelling
    /// noisy_labelled_hard.</summary>
    public Dictionary<string, object> ToJson()
    {
        var json = new Dictionary<string, object>
        {
            ["auroc"] = Auroc, ["average_precision"] = AveragePrecision, ["noisy_precision"] = Precision, ["noisy_recall"] = Recall,
            ["flagged"] = Flagged,
        };
        if (NoisyLabelledHard is { } hard) json["noisy_labelled_hard"] = hard;
        return json;
    }
}

/// <summary>Noise detection on one labelled corpus: the GMM's labelling (<see cref="GmmLabelling"/>) next to the baselines
/// users would otherwise use, each baseline flagging as many documents as the GMM labels noisy.</summary>
internal sealed class CorpusDetection
{
    /// <summary>The method backed by the chosen label rule and feature setting.</summary>
    public const string GmmMethod = "gmm";

    /// <summary>When <c>gmm</c> is reference-anchored: the same fit named by the rule used without a reference, i.e. what
    /// a user who gives the scorer no clean reference gets.</summary>
    public const string GmmUnanchoredMethod = "gmm_unanchored";

    /// <summary>When <c>gmm</c> decides noise per document: the same fit with its components named from the reference and
    /// no document-level detector (noise decided per component).</summary>
    public const string GmmComponentsMethod = "gmm_components";

    private CorpusDetection(DetectionCorpus corpus, DetectionSettings settings, GmmLabelling labelling, int documents, int noisy,
        int flagged)
    {
        Corpus = corpus;
        Settings = settings;
        Labelling = labelling;
        Documents = documents;
        Noisy = noisy;
        Flagged = flagged;
    }

    public DetectionCorpus Corpus { get; }

    public DetectionSettings Settings { get; }

    public GmmLabelling Labelling { get; }

    /// <summary>Labelled documents with at least one scored token: those every method ranks.</summary>
    public int Documents { get; }

    /// <summary>Of <see cref="Documents"/>, those labelled noisy in the corpus.</summary>
    public int Noisy { get; }

    /// <summary>Documents the chosen GMM labels noisy: the budget every baseline flags.</summary>
    public int Flagged { get; }

    /// <summary>Method name → its score, in table order (gmm, gmm_components, gmm_unanchored, then the baselines).</summary>
    public Dictionary<string, MethodScore> Methods { get; } = [];

    /// <summary>Method name → noise type → ROC-AUC over the clean documents and those of that type.</summary>
    public Dictionary<string, Dictionary<string, double>> AurocByNoiseType { get; } = [];

    /// <summary>Label rule → feature setting → score of that labelling.</summary>
    public Dictionary<string, Dictionary<string, MethodScore>> RuleScores { get; } = [];

    /// <summary>Whether the scores counted bytes, so the per-byte baselines are among <see cref="Methods"/>.</summary>
    public bool PerByte { get; private set; }

    /// <summary>Evaluates every method on the labelled, scored documents of <paramref name="corpus"/>; with
    /// <paramref name="reference"/> (the clean reference's statistics, documents with a scored token) gmm is reference-anchored
    /// (under the default settings) and gmm_unanchored shows the same fit without the reference.</summary>
    /// <exception cref="InvalidDataException">Fewer than 10 labelled, scored documents.</exception>
    public static CorpusDetection Evaluate(DetectionCorpus corpus, IReadOnlyDictionary<string, CorpusLabel> labels, CorpusScores scores,
        IReadOnlyList<LossStatistics>? reference, DetectionSettings settings)
    {
        if (scores.Ids.Count < 10)
        {
            throw new InvalidDataException(
                $"{corpus.Path} has {scores.Ids.Count} labelled, scored documents; the evaluation needs at least 10");
        }
        var usable = Enumerable.Range(0, scores.Ids.Count).Where(i => scores.Stats[i].Count > 0).ToList();
        var stats = usable.Select(i => scores.Stats[i]).ToArray();
        var truth = usable.Select(i => labels[scores.Ids[i]].Noisy).ToArray();
        var types = usable.Select(i => labels[scores.Ids[i]].NoiseType).ToArray();

        var labelling = GmmLabelling.Run(stats, settings.Labelling, settings.Fit, reference);
        Console.Error.WriteLine(
            $"{corpus.Name}: fitted {labelling.Fits.Count} mixtures, compared {LabelRules.All.Count} label rules");
        var chosen = labelling.Labels;
        var flagged = chosen.Flag.Count(f => f);
        var result = new CorpusDetection(corpus, settings, labelling, stats.Length, truth.Count(t => t), flagged)
        {
            PerByte = stats.All(s => s.Bytes > 0),
        };

        // Methods that label: their score is the noisy responsibility, their flag the noisy label.
        var methods = new Dictionary<string, (double[] Score, bool[] Flag, bool[]? Hard)>
        {
            [GmmMethod] = (chosen.Score, chosen.Flag, chosen.Hard),
        };
        if (labelling.Novelty is not null)
        {
            var c = labelling.ComponentLabels;
            methods[GmmComponentsMethod] = (c.Score, c.Flag, c.Hard);
        }
        if (labelling.ChosenRule == GmmLabelling.ReferenceRule)
        {
            var u = labelling.Rules[settings.Labelling.UnanchoredLabelRule][labelling.ChosenFeatures];
            methods[GmmUnanchoredMethod] = (u.Score, u.Flag, u.Hard);
        }
        // Baselines flag their highest-scoring documents, as many as the GMM labels noisy: the same budget.
        foreach (var (name, score) in Baselines(stats, result.PerByte)) methods[name] = (score, TopFlags(score, flagged), null);
        if (labelling.Novelty is { Detector.FeatureCount: ReferenceNovelty.LossDimensions })
        {
            Console.Error.WriteLine($"note: {corpus.Scores ?? corpus.Path}: scores without compression_ratio (written before `lm score` " +
                                    "measured it, or a reference without them); the detector judges on the four loss features");
        }
        else if (labelling.Novelty is { Detector.FeatureCount: ReferenceNovelty.CompressionDimensions })
        {
            Console.Error.WriteLine($"note: {corpus.Scores ?? corpus.Path}: scores without order_gain (written before `lm score` " +
                                    "measured it, a reference without them, or a document without words); the detector " +
                                    "judges on the four loss features and the compression ratio");
        }
        if (!result.PerByte)
        {
            Console.Error.WriteLine($"note: {corpus.Scores ?? corpus.Path}: scores without n_bytes (written before `lm score` " +
                                    "counted bytes); the per-byte methods are left out");
        }

        var noiseTypes = types.OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var (name, (score, flag, hard)) in methods)
        {
            result.Methods[name] = MethodScore.Of(score, flag, hard, truth);
            result.AurocByNoiseType[name] = noiseTypes.ToDictionary(t => t, t =>
            {
                var idx = Enumerable.Range(0, truth.Length).Where(j => !truth[j] || types[j] == t).ToArray();
                return DetectionMetrics.RocAuc(idx.Select(j => score[j]).ToArray(), idx.Select(j => truth[j]).ToArray());
            });
        }
        foreach (var (rule, byFeatures) in labelling.Rules)
        {
            result.RuleScores[rule] = byFeatures.ToDictionary(f => f.Key,
                f => MethodScore.Of(f.Value.Score, f.Value.Flag, f.Value.Hard, truth));
        }
        return result;
    }

    /// <summary>The baselines' scores, high meaning noisy: the one-sided perplexity filter (mean loss) and its per-byte form,
    /// variance alone, and the two-sided filters (distance from the corpus median) of mean loss, loss per byte and bytes
    /// per token. The per-byte ones only when <paramref name="perByte"/>. With every document's compression ratio, the
    /// filters a user would build on it alone: one-sided (the most repetitive text first) and two-sided (on its logarithm),
    /// so the detector's gain over the ratio it uses is measured too; likewise with every document's order gain, one-sided
    /// (the text whose words carry the least order first) and two-sided (on the detector's ln max(gain, floor)).</summary>
    private static IEnumerable<(string Name, double[] Score)> Baselines(LossStatistics[] stats, bool perByte)
    {
        if (stats.All(s => s.Compression > 0 && double.IsFinite(s.Compression)))
        {
            yield return ("compression_ratio", stats.Select(s => -s.Compression).ToArray());
            yield return ("compression_ratio_two_sided", DistanceFromMedian(stats.Select(s => Math.Log(s.Compression)).ToArray()));
        }
        if (stats.All(s => double.IsFinite(s.OrderGain)))
        {
            yield return ("order_gain", stats.Select(s => -s.OrderGain).ToArray());
            yield return ("order_gain_two_sided", DistanceFromMedian(
                stats.Select(s => Math.Log(Math.Max(s.OrderGain, ReferenceNovelty.OrderGainFloor))).ToArray()));
        }
        var mean = stats.Select(s => s.Mean).ToArray();
        yield return ("mean_loss", mean);
        yield return ("variance", stats.Select(s => s.Variance).ToArray());
        yield return ("mean_loss_two_sided", DistanceFromMedian(mean));
        if (!perByte) yield break;
        var perByteLoss = stats.Select(s => s.LossPerByte).ToArray();
        yield return ("loss_per_byte", perByteLoss);
        yield return ("loss_per_byte_two_sided", DistanceFromMedian(perByteLoss));
        yield return ("bytes_per_token_two_sided", DistanceFromMedian(stats.Select(s => s.BytesPerToken).ToArray()));
    }

    /// <summary>|x − median| (the upper median for an even count). Dividing by a robust scale (MAD) would not change the
    /// ranking, nor the flags at a fixed budget.</summary>
    private static double[] DistanceFromMedian(double[] xs)
    {
        var median = xs.Order().ElementAt(xs.Length / 2);
        return xs.Select(x => Math.Abs(x - median)).ToArray();
    }

    private static bool[] TopFlags(double[] scores, int count)
    {
        var flags = new bool[scores.Length];
        foreach (var i in Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(count)) flags[i] = true;
        return flags;
    }

    /// <summary>The single-corpus JSON object: counts, the chosen rule and features, methods, label_rules,
    /// feature_transforms.</summary>
    public object ToJson() => new
    {
        documents = Documents, noisy = Noisy, flagged_noisy_by_gmm = Flagged,
        gmm_mean_log_likelihood = Labelling.Fits[Labelling.ChosenFeatures].Fit.MeanLogLikelihood,
        components = Labelling.Fits[Labelling.ChosenFeatures].Fit.Parameters.Components,
        components_setting = Settings.Labelling.ChoosesComponents
            ? $"bic:{Settings.Labelling.MinComponents}-{Settings.Labelling.MaxComponents}"
            : Settings.Labelling.Components.ToString(System.Globalization.CultureInfo.InvariantCulture),
        label_rule = Labelling.ChosenRule, transform = Labelling.ChosenFeatures,
        novelty = Labelling.Novelty is { } n
            ? new
            {
                reference_documents = n.Detector.Parameters.Reference.Length, estimated_noise_share = n.Detector.Parameters.NoiseShare,
                distance_threshold = n.Detector.Parameters.DistanceThreshold, neighbours = n.Detector.Parameters.Neighbours,
                bandwidth = n.Detector.Parameters.Bandwidth,
            }
            : null,
        methods = Methods.ToDictionary(m => m.Key, m =>
        {
            var json = m.Value.ToJson();
            json["auroc_by_noise_type"] = AurocByNoiseType[m.Key];
            return json;
        }),
        label_rules = RuleScores.ToDictionary(r => r.Key, r => r.Value.ToDictionary(f => f.Key, f => f.Value.ToJson())),
        feature_transforms = GmmFeatureSetting.All.Where(f => Labelling.Fits.ContainsKey(f.Name)).ToDictionary(f => f.Name, f => new
        {
            transform = f.Transform.ToString(), standardised = f.Standardise,
            mean_log_likelihood = Labelling.Fits[f.Name].Fit.MeanLogLikelihood, converged = Labelling.Fits[f.Name].Fit.Converged,
        }),
    };
}
