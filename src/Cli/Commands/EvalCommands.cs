using System.CommandLine;
using System.IO.Compression;
using System.Text.Json;
using Reweighting.Contracts;
using Reweighting.Evaluation;
using Reweighting.Gmm;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Scoring;
using Reweighting.Statistics;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight eval noise-detection`: how well the GMM's noisy label finds injected noise, next to the
/// baselines users would otherwise use (mean-loss/perplexity filtering, variance alone).</summary>
internal static class EvalCommands
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Proxy checkpoint", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "Labelled JSONL(.gz): records with \"label\": clean|noisy and \"noise_type\" (see corpus corrupt)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print JSON: methods.{gmm,mean_loss,variance}.{auroc,average_precision,noisy_precision,noisy_recall}" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of the GMM initialisation", DefaultValueFactory = _ => 0 };
        var detection = new Command("noise-detection", "Score a labelled corpus, fit the GMM, and measure how well each method finds the noisy documents")
            { model, corpus, json, device, batch, seed };
        detection.SetAction(parse => TokenizerCommands.Guard(() => NoiseDetection(parse.GetValue(model)!, parse.GetValue(corpus)!, parse.GetValue(json),
            Device.Parse(parse.GetValue(device)!), parse.GetValue(batch), parse.GetValue(seed))));
        return new Command("eval", "Evaluations that measure whether the methods work") { detection };
    }

    private static int NoiseDetection(string modelDir, string corpusPath, bool json, Device device, int batch, int seed)
    {
        var labels = ReadLabels(corpusPath);
        var records = CorpusLoading.Read(corpusPath, "text").Where(r => labels.ContainsKey(r.Id)).ToList();
        if (records.Count < 10) throw new InvalidDataException($"{corpusPath} has {records.Count} labelled documents; the evaluation needs at least 10");
        using var gpt = Checkpoint.LoadModel(modelDir, device);
        var tokenizer = BpeTokenizer.Load(modelDir);
        var progress = new ConsoleProgress();
        var stats = new LossStatistics[records.Count];
        var scorer = new DocumentScorer(gpt, device, batch);
        foreach (var doc in scorer.Score(records.Select(r => (IReadOnlyList<long>)tokenizer.Encode(r.Text).Select(i => (long)i).ToArray())))
        {
            stats[doc.Index] = LossStatistics.Of(doc.Losses);
            if ((doc.Index + 1) % 100 == 0) progress.Report($"scored {doc.Index + 1}/{records.Count} documents");
        }
        progress.Report($"scored {records.Count} documents", force: true);
        var usable = Enumerable.Range(0, records.Count).Where(i => stats[i].Count > 0).ToList();

        // GMM over (mean, log variance), standardised so neither feature dominates the k-means++ seeding.
        var raw = usable.Select(i => new[] { stats[i].Mean, Math.Log(Math.Max(stats[i].Variance, StatFeatures.VarianceFloor)) }).ToList();
        double[] mu = [raw.Average(r => r[0]), raw.Average(r => r[1])];
        double[] sd = [Std(raw.Select(r => r[0]), mu[0]), Std(raw.Select(r => r[1]), mu[1])];
        var features = new StatFeatures(FeatureTransform.LogVariance, mu, sd);
        var points = new double[2 * usable.Count];
        for (var j = 0; j < usable.Count; j++) features.Apply(stats[usable[j]].Mean, stats[usable[j]].Variance, points.AsSpan(2 * j, 2));
        var fit = GaussianMixtureFitter.Fit(points, 2, new GmmFitOptions(Seed: seed), FeatureTransform.LogVariance);
        var parameters = fit.Parameters with { StandardizeMean = mu, StandardizeStd = sd };
        var labelMap = ComponentLabels.ByAscendingMeanLoss(parameters.Means);
        var labeller = new GmmLabeller(GaussianMixture.FromParameters(parameters), features, labelMap);

        var truth = usable.Select(i => labels[records[i].Id].Noisy).ToArray();
        var assignments = usable.Select(i => labeller.Assign(stats[i].Mean, stats[i].Variance)).ToArray();
        var gmmScore = assignments.Select(a => a.Responsibilities.Where((_, c) => labelMap[c] == SampleLabel.Noisy).Sum()).ToArray();
        var gmmFlag = assignments.Select(a => a.Label == SampleLabel.Noisy).ToArray();
        var meanScore = usable.Select(i => stats[i].Mean).ToArray();
        var varianceScore = usable.Select(i => stats[i].Variance).ToArray();
        // The baselines flag as many documents as the GMM does, their highest-scoring ones: the same budget.
        var flagged = gmmFlag.Count(f => f);
        var methods = new Dictionary<string, (double[] Score, bool[] Flag)>
        {
            ["gmm"] = (gmmScore, gmmFlag),
            ["mean_loss"] = (meanScore, TopFlags(meanScore, flagged)),
            ["variance"] = (varianceScore, TopFlags(varianceScore, flagged)),
        };
        var types = usable.Select(i => labels[records[i].Id].Type).ToArray();
        var report = methods.ToDictionary(m => m.Key, m =>
        {
            var (precision, recall) = DetectionMetrics.PrecisionRecall(m.Value.Flag, truth);
            var perType = types.Where(t => t is not null).Distinct().OrderBy(t => t, StringComparer.Ordinal).ToDictionary(t => t!, t =>
            {
                var idx = Enumerable.Range(0, truth.Length).Where(j => !truth[j] || types[j] == t).ToArray();
                return DetectionMetrics.RocAuc(idx.Select(j => m.Value.Score[j]).ToArray(), idx.Select(j => truth[j]).ToArray());
            });
            return new Dictionary<string, object>
            {
                ["auroc"] = DetectionMetrics.RocAuc(m.Value.Score, truth), ["average_precision"] = DetectionMetrics.AveragePrecision(m.Value.Score, truth),
                ["noisy_precision"] = precision, ["noisy_recall"] = recall, ["auroc_by_noise_type"] = perType,
            };
        });
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                documents = usable.Count, noisy = truth.Count(t => t), flagged_noisy_by_gmm = flagged, gmm_mean_log_likelihood = fit.MeanLogLikelihood,
                methods = report,
            }, new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        }
        else
        {
            Console.WriteLine($"{usable.Count} documents, {truth.Count(t => t)} noisy; the GMM labels {flagged} noisy (baselines flag as many)");
            Console.WriteLine($"{"method",-10} {"ROC-AUC",8} {"AP",8} {"precision",10} {"recall",8}");
            foreach (var (name, r) in report)
                Console.WriteLine($"{name,-10} {(double)r["auroc"],8:F4} {(double)r["average_precision"],8:F4} {(double)r["noisy_precision"],10:F4} {(double)r["noisy_recall"],8:F4}");
            Console.WriteLine("ROC-AUC per noise type (clean documents plus that type):");
            var typeNames = ((Dictionary<string, double>)report["gmm"]["auroc_by_noise_type"]).Keys;
            foreach (var t in typeNames)
                Console.WriteLine($"  {t,-16} " + string.Join("  ", report.Select(r => $"{r.Key} {((Dictionary<string, double>)r.Value["auroc_by_noise_type"])[t]:F3}")));
        }
        return 0;
    }

    private static bool[] TopFlags(double[] scores, int count)
    {
        var flags = new bool[scores.Length];
        foreach (var i in Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).Take(count)) flags[i] = true;
        return flags;
    }

    private static double Std(IEnumerable<double> xs, double mean)
    {
        var s = Math.Sqrt(xs.Average(x => (x - mean) * (x - mean)));
        return s > 0 ? s : 1;
    }

    /// <summary>id → (noisy?, noise type) from the labelled corpus; records without a valid label are skipped.</summary>
    private static Dictionary<string, (bool Noisy, string? Type)> ReadLabels(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"corpus {path} does not exist");
        using var file = File.OpenRead(path);
        using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(stream);
        var result = new Dictionary<string, (bool, string?)>();
        while (reader.ReadLine() is { } line)
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                var root = JsonDocument.Parse(line).RootElement;
                if (!root.TryGetProperty("id", out var id) || !root.TryGetProperty("label", out var label)) continue;
                var noisy = label.GetString() switch { "noisy" => true, "clean" => false, _ => (bool?)null };
                if (noisy is null) continue;
                var type = root.TryGetProperty("noise_type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                result[id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText()] = (noisy.Value, type);
            }
            catch (JsonException)
            {
                // The corpus reader reports malformed lines with their position; here they simply carry no label.
            }
        }
        if (result.Count == 0) throw new InvalidDataException($"{path} has no records with \"label\": clean|noisy (make one with `reweight corpus corrupt`)");
        return result;
    }
}
