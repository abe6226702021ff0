using System.CommandLine;
using Reweighting.Cli.Commands.NoiseDetection;
using Reweighting.Gmm;
using Reweighting.Statistics;
using Reweighting.Text.Corpus;
using Reweighting.Torch;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight eval noise-detection`: how well the GMM's noisy label finds injected noise, next to the
/// baselines users would otherwise use (mean-loss/perplexity filtering, per token and per byte, one- and two-sided;
/// variance alone), and how that depends on the label rule that names the components and on the features the mixture is
/// fitted over; on one corpus or several, with each method's worst case over them.</summary>
internal static class EvalCommands
{
    public static Command Create()
    {
        var corpus = new Option<string[]>("--corpus")
        {
            Description = "Labelled JSONL(.gz): records with \"label\": clean|noisy and \"noise_type\" (see corpus corrupt). " +
                          "Repeat for several corpora, each NAME=path or a path (named by its file name without extensions)",
            Required = true, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false,
        };
        var model = Repeated("--model", "Proxy checkpoint that scores the corpora (or give --scores): one for all, or one per --corpus");
        var scores = Repeated("--scores", "Scores already computed by `reweight lm score` (JSONL: id, n_tokens, n_bytes, loss_mean, " +
            "loss_var, compression_ratio, order_gain), one per --corpus: no scoring pass. Files without n_bytes still read; the " +
            "per-byte methods are then left out (without compression_ratio or order_gain, the methods and detector features on them)");
        var reference = Repeated("--reference", "A clean corpus (e.g. the held-out validation set) scored by the same --model: the " +
            "reference that names methods.gmm's components: those it leaves empty are noisy (reference-anchored labelling). " +
            "One for all corpora, or one per --corpus");
        var referenceScores = Repeated("--reference-scores", "The clean reference as scored by `reweight lm score` with the model that " +
            "scored the corpus: reference-anchored labels without --model. One for all corpora, or one per --corpus");
        var json = new Option<bool>("--json")
        {
            Description = "Print JSON: methods.{gmm,gmm_unanchored,mean_loss,variance,mean_loss_two_sided,loss_per_byte," +
                          "loss_per_byte_two_sided,bytes_per_token_two_sided}.{auroc,average_precision,noisy_precision,noisy_recall," +
                          "flagged,noisy_labelled_hard} and " +
                          "label_rules.{rule}.{features}.{...}; with several corpora {corpora: {NAME: that}, worst_case: {method: " +
                          "{auroc,average_precision,noisy_precision,noisy_recall,worst_corpus,corpora}}}",
        };
        var summary = new Option<bool>("--summary")
        {
            Description = "One line per corpus and method (ROC-AUC, AP, precision, recall, flagged, noisy→hard) instead of each " +
                          "corpus's tables",
        };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var batch = new Option<int>("--batch") { Description = "Windows per forward pass", DefaultValueFactory = _ => 16 };
        var seed = new Option<int>("--seed") { Description = "Seed of the GMM initialisation", DefaultValueFactory = _ => 0 };
        var defaults = LabellingDefaults.Settings;
        var components = new Option<int>("--components")
        {
            Description = $"GMM components K; 0: chosen by BIC in [{defaults.MinComponents}, {defaults.MaxComponents}], as the scorer does",
            DefaultValueFactory = _ => defaults.Components,
        };
        var labelRule = new Option<string>("--label-rule")
        {
            Description = $"How methods.gmm names components: {LabellingDefaults.ReferenceRule} (from --reference/--reference-scores; " +
                          $"without one, {defaults.UnanchoredLabelRule}) or a label rule: " +
                          string.Join("; ", LabelRules.All.Select(r => $"{r.Name} ({r.Description})")),
            DefaultValueFactory = _ => defaults.LabelRule,
        };
        labelRule.AcceptOnlyFromAmong([LabellingDefaults.ReferenceRule, .. LabelRules.All.Select(r => r.Name)]);
        var transform = new Option<string>("--transform")
        {
            Description = "GMM features behind methods.gmm: " +
                          string.Join("; ", GmmFeatureSetting.All.Select(f => $"{f.Name} ({f.Description})")),
            DefaultValueFactory = _ => defaults.FeatureSetting,
        };
        transform.AcceptOnlyFromAmong(GmmFeatureSetting.All.Select(f => f.Name).ToArray());
        var detection = new Command("noise-detection", "Score labelled corpora, fit the GMM, and measure how well each method (and " +
            "each label rule under each feature transform) finds the noisy documents; over several corpora, each method's worst case")
            { corpus, model, scores, reference, referenceScores, json, summary, device, batch, seed, components, labelRule, transform };
        var fields = new CorpusFieldOptions().AddTo(detection);
        detection.SetAction(parse => CommandGuard.Run(() =>
        {
            static IReadOnlyList<string> All(string[]? values) => values ?? [];
            var corpora = DetectionCorpus.Pair(All(parse.GetValue(corpus)), All(parse.GetValue(model)), All(parse.GetValue(scores)),
                All(parse.GetValue(reference)), All(parse.GetValue(referenceScores)));
            var labelling = (defaults with
            {
                Components = parse.GetValue(components), LabelRule = parse.GetValue(labelRule)!, FeatureSetting = parse.GetValue(transform)!,
            }).Validate();
            var settings = new DetectionSettings(new GmmFitOptions(Seed: parse.GetValue(seed)), labelling);
            var results = NoiseDetection(corpora, settings, Device.Parse(parse.GetValue(device)!), parse.GetValue(batch),
                fields.Reader(parse));
            if (parse.GetValue(json)) DetectionReport.PrintJson(results);
            else DetectionReport.PrintTables(results, parse.GetValue(summary));
            return 0;
        }));
        return new Command("eval", "Evaluations that measure whether the methods work") { detection, ReweightingEvaluation.Create() };
    }

    private static Option<string[]> Repeated(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };

    /// <summary>Scores (or reads the scores of) every corpus and its reference, and evaluates each. Every corpus's labels are
    /// read first, so a corpus without labels fails before any scoring; consecutive corpora of one --model share the
    /// loaded checkpoint.</summary>
    private static List<CorpusDetection> NoiseDetection(IReadOnlyList<DetectionCorpus> corpora, DetectionSettings settings, Device device,
        int batch, CorpusReaderOptions fields)
    {
        var labels = corpora.Select(c => CorpusLabels.Read(c.Path, fields)).ToList();
        var references = new Dictionary<(string? Model, string Path), LossStatistics[]>();
        var results = new List<CorpusDetection>();
        ProxyCorpusScorer? proxy = null;
        try
        {
            foreach (var (corpus, corpusLabels) in corpora.Zip(labels))
            {
                if (corpus.Model is not null && proxy?.ModelDirectory != corpus.Model)
                {
                    proxy?.Dispose();
                    proxy = null;
                    proxy = new ProxyCorpusScorer(corpus.Model, device, batch);
                }
                var scores = corpus.Model is null
                    ? CorpusScores.Read(corpus.Scores!, corpusLabels)
                    : proxy!.Score(corpus.Path, corpusLabels, fields);
                LossStatistics[]? reference = null;
                if (corpus.Reference is not null || corpus.ReferenceScores is not null)
                {
                    // A --reference is scored by this corpus's model; --reference-scores were scored by whichever model the user named.
                    var key = corpus.Reference is not null ? (corpus.Model, corpus.Reference) : ((string?)null, corpus.ReferenceScores!);
                    if (!references.TryGetValue(key, out reference))
                    {
                        reference = ReferenceStatistics(corpus, proxy, fields);
                        references[key] = reference;
                    }
                }
                results.Add(CorpusDetection.Evaluate(corpus, corpusLabels, scores, reference, settings));
            }
        }
        finally
        {
            proxy?.Dispose();
        }
        return results;
    }

    /// <summary>The statistics of a corpus's clean reference documents that have a scored token.</summary>
    private static LossStatistics[] ReferenceStatistics(DetectionCorpus corpus, ProxyCorpusScorer? proxy, CorpusReaderOptions fields)
    {
        if (corpus.Reference is not null)
        {
            var scored = proxy!.Score(corpus.Reference, null, fields).Stats.Where(x => x.Count > 0).ToArray();
            Console.Error.WriteLine($"scored {scored.Length} reference documents for reference-anchored labelling");
            return scored;
        }
        var read = CorpusScores.Read(corpus.ReferenceScores!, null).Stats.Where(x => x.Count > 0).ToArray();
        if (read.Length == 0) throw new InvalidDataException($"{corpus.ReferenceScores} holds no scored reference document");
        Console.Error.WriteLine(
            $"read {read.Length} reference documents' scores from {corpus.ReferenceScores} for reference-anchored labelling");
        return read;
    }
}
