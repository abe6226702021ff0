using System.CommandLine;
using System.Text.Json;
using Reweighting.Contracts;
using Reweighting.Evaluation;
using Reweighting.Gmm;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight eval noise-detection`: how well the GMM's noisy label finds injected noise, next to the
/// baselines users would otherwise use (mean-loss/perplexity filtering, variance alone), and how that depends on the
/// label rule that names the components and on the features the mixture is fitted over.</summary>
internal static class EvalCommands
{
    public static Command Create()
    {
        var model = new Option<string?>("--model") { Description = "Proxy checkpoint that scores the corpus (or give --scores)" };
        var scores = new Option<string?>("--scores") { Description = "Scores already computed by `reweight lm score` for this corpus (JSONL: id, n_tokens, loss_mean, loss_var): no scoring pass" };
        var corpus = new Option<string>("--corpus") { Description = "Labelled JSONL(.gz): records with \"label\": clean|noisy and \"noise_type\" (see corpus corrupt)", Required = true };
        var json = new Option<bool>("--json")
        {
            Description = "Print JSON: methods.{gmm,mean_loss,variance,mean_loss_two_sided}.{auroc,average_precision,noisy_precision,noisy_recall} and " +
                          "label_rules.{rule}.{features}.{auroc,average_precision,noisy_precision,noisy_recall,flagged}",
        };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of the GMM initialisation", DefaultValueFactory = _ => 0 };
        var components = new Option<int>("--components") { Description = "GMM components K", DefaultValueFactory = _ => new GmmFitOptions().Components };
        var labelRule = new Option<string>("--label-rule")
        {
            Description = "Label rule behind methods.gmm: " + string.Join("; ", LabelRules.All.Select(r => $"{r.Name} ({r.Description})")),
            DefaultValueFactory = _ => LabelRules.Default.Name,
        };
        labelRule.AcceptOnlyFromAmong(LabelRules.All.Select(r => r.Name).ToArray());
        var transform = new Option<string>("--transform")
        {
            Description = "GMM features behind methods.gmm: " + string.Join("; ", GmmFeatureSetting.All.Select(f => $"{f.Name} ({f.Description})")),
            DefaultValueFactory = _ => GmmFeatureSetting.Default.Name,
        };
        transform.AcceptOnlyFromAmong(GmmFeatureSetting.All.Select(f => f.Name).ToArray());
        var reference = new Option<string?>("--reference")
        {
            Description = "A clean corpus (e.g. the held-out validation set) scored by the same --model: adds the method " +
                          "gmm_reference, whose noisy components are those this reference leaves empty (reference-anchored labelling)",
        };
        var detection = new Command("noise-detection", "Score a labelled corpus, fit the GMM, and measure how well each method (and each label rule " +
            "under each feature transform) finds the noisy documents")
            { model, scores, corpus, json, device, batch, seed, components, labelRule, transform, reference };
        detection.SetAction(parse => CommandGuard.Run(() => NoiseDetection(parse.GetValue(model), parse.GetValue(scores), parse.GetValue(corpus)!, parse.GetValue(json),
            Device.Parse(parse.GetValue(device)!), parse.GetValue(batch), new GmmFitOptions(Components: parse.GetValue(components), Seed: parse.GetValue(seed)),
            LabelRules.Get(parse.GetValue(labelRule)!), GmmFeatureSetting.Get(parse.GetValue(transform)!), parse.GetValue(reference))));
        return new Command("eval", "Evaluations that measure whether the methods work") { detection, ReweightingEvaluation.Create() };
    }

    /// <summary>The proxy checkpoint, loaded once, that scores the corpus and its reference.</summary>
    private sealed class ProxyCorpusScorer(string modelDir, Device device, int batch) : IDisposable
    {
        private readonly GptModel _gpt = Checkpoint.LoadModel(modelDir, device);
        private readonly BpeTokenizer _tokenizer = BpeTokenizer.Load(modelDir);

        /// <summary>Scores the labelled documents of a corpus (every document when <paramref name="labels"/> is null):
        /// their ids and loss statistics, in corpus order.</summary>
        public (List<string> Ids, LossStatistics[] Stats) Score(string corpusPath, IReadOnlyDictionary<string, CorpusLabel>? labels)
        {
            var records = CorpusLoading.Read(corpusPath, "text").Where(r => labels is null || labels.ContainsKey(r.Id)).ToList();
            if (records.Count < 10)
                throw new InvalidDataException(
                    $"{corpusPath} has {records.Count} {(labels is null ? "" : "labelled ")}documents; the evaluation needs at least 10");
            var progress = new ConsoleProgress();
            var stats = new LossStatistics[records.Count];
            var scorer = new DocumentScorer(_gpt, device, batch);
            var documents = records.Select(r => (IReadOnlyList<long>)_tokenizer.Encode(r.Text).Select(i => (long)i).ToArray());
            foreach (var doc in scorer.Score(documents))
            {
                stats[doc.Index] = LossStatistics.Of(doc.Losses);
                if ((doc.Index + 1) % 100 == 0) progress.Report($"scored {doc.Index + 1}/{records.Count} documents");
            }
            progress.Report($"scored {records.Count} documents", force: true);
            return (records.Select(r => r.Id).ToList(), stats);
        }

        public void Dispose() => _gpt.Dispose();
    }

    /// <summary>Loss statistics of the labelled documents from a `reweight lm score` file (documents without a label are skipped).</summary>
    private static (List<string> Ids, LossStatistics[] Stats) ReadScores(string path, IReadOnlyDictionary<string, CorpusLabel> labels)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"scores {path} do not exist");
        var ids = new List<string>();
        var stats = new List<LossStatistics>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text)) continue;
            try
            {
                var root = JsonDocument.Parse(text).RootElement;
                var id = root.GetProperty("id").GetString() ?? throw new InvalidDataException("null id");
                if (!labels.ContainsKey(id)) continue;
                var n = root.GetProperty("n_tokens").GetInt64();
                var mean = root.GetProperty("loss_mean").GetDouble();
                var variance = root.GetProperty("loss_var").GetDouble();
                ids.Add(id);
                stats.Add(new LossStatistics(n, mean, variance * n));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{path}:{line}: not a `reweight lm score` row ({e.Message})");
            }
        }
        return (ids, stats.ToArray());
    }

    /// <summary>One label rule under one feature setting: the noisy-label responsibility as the score, the hard label as the flag.</summary>
    private sealed record Detection(double[] Score, bool[] Flag);

    private static int NoiseDetection(string? modelDir, string? scoresPath, string corpusPath, bool json, Device device, int batch, GmmFitOptions fitOptions, ILabelRule chosenRule,
        GmmFeatureSetting chosenFeatures, string? referencePath = null)
    {
        if ((modelDir is null) == (scoresPath is null)) throw new ArgumentException("give either --model (score the corpus) or --scores (a `reweight lm score` output)");
        if (referencePath is not null && modelDir is null)
            throw new ArgumentException("--reference is scored by --model; give --model, not --scores");
        var labels = CorpusLabels.Read(corpusPath);
        using var proxy = modelDir is null ? null : new ProxyCorpusScorer(modelDir, device, batch);
        var (ids, stats) = proxy is not null ? proxy.Score(corpusPath, labels) : ReadScores(scoresPath!, labels);
        if (ids.Count < 10) throw new InvalidDataException($"{corpusPath} has {ids.Count} labelled, scored documents; the evaluation needs at least 10");
        var records = ids.Select(id => new { Id = id }).ToList();
        var usable = Enumerable.Range(0, records.Count).Where(i => stats[i].Count > 0).ToList();
        var usableStats = usable.Select(i => stats[i]).ToArray();
        var truth = usable.Select(i => labels[records[i].Id].Noisy).ToArray();

        // One GMM per feature setting; every label rule reads its own map off the same fit.
        var fits = GmmFeatureSetting.All.ToDictionary(f => f.Name, f => StatisticsMixture.Fit(usableStats.Select(x => (x.Mean, x.Variance)).ToArray(), f, fitOptions));
        var grid = LabelRules.All.ToDictionary(r => r.Name, r => GmmFeatureSetting.All.ToDictionary(f => f.Name, f => Detect(usableStats, fits[f.Name], r)));
        Console.Error.WriteLine($"fitted {GmmFeatureSetting.All.Count} mixtures, compared {LabelRules.All.Count} label rules");

        if (referencePath is not null)
        {
            var referenceStats = proxy!.Score(referencePath, null).Stats.Where(x => x.Count > 0).ToArray();
            grid[ReferenceRule] = GmmFeatureSetting.All.ToDictionary(f => f.Name, f =>
            {
                var features = fits[f.Name].Features;
                var points = referenceStats.Select(x =>
                {
                    var point = new double[StatFeatures.Dimensions];
                    features.Apply(x.Mean, x.Variance, point);
                    return point;
                }).ToList();
                return Detect(usableStats, fits[f.Name], ReferenceAnchoring.Map(fits[f.Name].Fit.Parameters, points));
            });
            Console.Error.WriteLine($"scored {referenceStats.Length} reference documents for reference-anchored labelling");
        }
        var (gmmScore, gmmFlag) = grid[chosenRule.Name][chosenFeatures.Name];
        var meanScore = usableStats.Select(s => s.Mean).ToArray();
        // Perplexity filtering from both ends: distance of the loss mean from the corpus median.
        var median = meanScore.Order().ElementAt(meanScore.Length / 2);
        var twoSidedScore = meanScore.Select(m => Math.Abs(m - median)).ToArray();
        var varianceScore = usableStats.Select(s => s.Variance).ToArray();
        // The baselines flag as many documents as the GMM does, their highest-scoring ones: the same budget.
        var flagged = gmmFlag.Count(f => f);
        var methods = new Dictionary<string, (double[] Score, bool[] Flag)>
        {
            ["gmm"] = (gmmScore, gmmFlag),
            ["mean_loss"] = (meanScore, TopFlags(meanScore, flagged)),
            ["variance"] = (varianceScore, TopFlags(varianceScore, flagged)),
            ["mean_loss_two_sided"] = (twoSidedScore, TopFlags(twoSidedScore, flagged)),
        };
        if (grid.TryGetValue(ReferenceRule, out var anchored))
            methods["gmm_reference"] = (anchored[chosenFeatures.Name].Score, anchored[chosenFeatures.Name].Flag);
        var types = usable.Select(i => labels[records[i].Id].NoiseType).ToArray();
        var report = methods.ToDictionary(m => m.Key, m =>
        {
            var perType = types.Where(t => t is not null).Distinct().OrderBy(t => t, StringComparer.Ordinal).ToDictionary(t => t!, t =>
            {
                var idx = Enumerable.Range(0, truth.Length).Where(j => !truth[j] || types[j] == t).ToArray();
                return DetectionMetrics.RocAuc(idx.Select(j => m.Value.Score[j]).ToArray(), idx.Select(j => truth[j]).ToArray());
            });
            var metrics = Metrics(m.Value.Score, m.Value.Flag, truth);
            metrics.Remove("flagged");
            metrics["auroc_by_noise_type"] = perType;
            return metrics;
        });
        var comparison = grid.ToDictionary(r => r.Key, r => r.Value.ToDictionary(f => f.Key, f => Metrics(f.Value.Score, f.Value.Flag, truth)));
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                documents = usable.Count, noisy = truth.Count(t => t), flagged_noisy_by_gmm = flagged,
                gmm_mean_log_likelihood = fits[chosenFeatures.Name].Fit.MeanLogLikelihood,
                components = fitOptions.Components,
                label_rule = chosenRule.Name, transform = chosenFeatures.Name,
                methods = report,
                label_rules = comparison,
                feature_transforms = GmmFeatureSetting.All.ToDictionary(f => f.Name, f => new
                {
                    transform = f.Transform.ToString(), standardised = f.Standardise,
                    mean_log_likelihood = fits[f.Name].Fit.MeanLogLikelihood, converged = fits[f.Name].Fit.Converged,
                }),
            }, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        }
        else
        {
            Console.WriteLine($"{usable.Count} documents, {truth.Count(t => t)} noisy; the GMM ({chosenRule.Name}, {chosenFeatures.Name}) labels {flagged} noisy " +
                "(baselines flag as many)");
            Console.WriteLine($"{"method",-20} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8}");
            foreach (var (name, r) in report)
                Console.WriteLine($"{name,-20} {(double)r["auroc"],8:F4} {(double)r["average_precision"],8:F4} {(double)r["noisy_precision"],10:F4} {(double)r["noisy_recall"],8:F4}");
            Console.WriteLine("ROC-AUC per noise type (clean documents plus that type):");
            var typeNames = ((Dictionary<string, double>)report["gmm"]["auroc_by_noise_type"]).Keys;
            foreach (var t in typeNames)
                Console.WriteLine($"  {t,-16} " + string.Join("  ", report.Select(r => $"{r.Key} {((Dictionary<string, double>)r.Value["auroc_by_noise_type"])[t]:F3}")));
            Console.WriteLine();
            Console.WriteLine("GMM label rule x features (score: noisy responsibility; flag: the hard label; * = the gmm row above):");
            Console.WriteLine($"  {"label rule",-20} {"features",-18} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8} {"flagged",8}");
            foreach (var (rule, byFeatures) in comparison)
            foreach (var (features, r) in byFeatures)
            {
                var mark = rule == chosenRule.Name && features == chosenFeatures.Name ? "*" : " ";
                Console.WriteLine($"{mark} {rule,-20} {features,-18} {(double)r["auroc"],8:F4} {(double)r["average_precision"],8:F4} " +
                                  $"{(double)r["noisy_precision"],10:F4} {(double)r["noisy_recall"],8:F4} {(int)r["flagged"],8}");
            }
        }
        return 0;
    }

    /// <summary>The name reference-anchored labelling carries in the table of label rules.</summary>
    private const string ReferenceRule = "reference";

    /// <summary>Labels every document with <paramref name="rule"/>'s map of the fitted mixture.</summary>
    private static Detection Detect(IReadOnlyList<LossStatistics> stats, (GmmFit Fit, StatFeatures Features) fitted, ILabelRule rule) =>
        Detect(stats, fitted, rule.Map(fitted.Fit.Parameters));

    /// <summary>Labels every document with a given map of the fitted mixture's components.</summary>
    private static Detection Detect(IReadOnlyList<LossStatistics> stats, (GmmFit Fit, StatFeatures Features) fitted, SampleLabel[] labelMap)
    {
        var labeller = new GmmLabeller(GaussianMixture.FromParameters(fitted.Fit.Parameters), fitted.Features, labelMap);
        var assignments = stats.Select(s => labeller.Assign(s.Mean, s.Variance)).ToArray();
        return new Detection(
            assignments.Select(a => a.Responsibilities.Where((_, c) => labelMap[c] == SampleLabel.Noisy).Sum()).ToArray(),
            assignments.Select(a => a.Label == SampleLabel.Noisy).ToArray());
    }

    private static Dictionary<string, object> Metrics(double[] score, bool[] flag, bool[] truth)
    {
        var (precision, recall) = DetectionMetrics.PrecisionRecall(flag, truth);
        return new Dictionary<string, object>
        {
            ["auroc"] = DetectionMetrics.RocAuc(score, truth), ["average_precision"] = DetectionMetrics.AveragePrecision(score, truth),
            ["noisy_precision"] = precision, ["noisy_recall"] = recall, ["flagged"] = flag.Count(f => f),
        };
    }

    private static bool[] TopFlags(double[] scores, int count)
    {
        var flags = new bool[scores.Length];
        foreach (var i in Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(count)) flags[i] = true;
        return flags;
    }
}
