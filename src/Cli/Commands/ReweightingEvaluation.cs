using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Reweighting.Evaluation;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;
using Reweighting.MetaEm;
using Reweighting.Objectives;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight eval reweighting`: every strategy trains the same model from the same initialisation on the same
/// noisy stream for the same number of steps, per seed; the clean validation loss, the time per step and where the
/// weight went are compared with uniform training.</summary>
internal static class ReweightingEvaluation
{
    public static Command Create()
    {
        var train = new Option<string>("--train") { Description = "Training corpus, ideally labelled (label: clean|noisy, from `reweight corpus corrupt`) for the noisy weight share", Required = true };
        var valid = new Option<string>("--valid") { Description = "Clean validation corpus: half its documents (by id) feed meta-em's meta-update, the other half are the reported loss", Required = true };
        var proxy = new Option<string?>("--proxy") { Description = "Proxy checkpoint (needed by meta-em, cluster-heuristic, token-masked); its tokenizer is used" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "gpt2 or a tokenizer directory, when no proxy is given (default: train one on --train)" };
        var preset = new Option<string>("--preset") { Description = "Model size: " + string.Join(", ", GptConfig.PresetNames), DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong([.. GptConfig.PresetNames]);
        var steps = new Option<int>("--steps") { Description = "Optimiser steps per run (at least 3)", Required = true };
        var strategies = new Option<string>("--strategies") { Description = "Comma-separated strategies (uniform is always run)", DefaultValueFactory = _ => string.Join(",", StrategyCatalogue.Names) };
        var seeds = new Option<int>("--seeds") { Description = "Runs per strategy, seeds 1..N (initialisation and data order)", DefaultValueFactory = _ => 3 };
        var batch = new Option<int>("--batch") { Description = "Sequences per step", DefaultValueFactory = _ => 16 };
        var seq = new Option<int?>("--seq") { Description = "Tokens per sequence (default: the model's context)" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate", DefaultValueFactory = _ => 1e-3 };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var json = new Option<bool>("--json") { Description = "Print JSON: strategies.NAME.{valid_loss_mean, valid_loss_std, step_time_ratio, max_weight_times_m, noisy_weight_share, ...}" };
        var output = new Option<string?>("--out") { Description = "Also write the JSON report to this file" };
        var temperature = new Option<double>("--temperature") { Description = "Final temperature of the loss-shape strategies", DefaultValueFactory = _ => 0.4 };
        var metaLr = new Option<double>("--meta-lr") { Description = "meta-em meta learning rate", DefaultValueFactory = _ => new MetaEmOptions().MetaLearningRate };
        var metaWidth = new Option<double>("--meta-width")
        {
            Description = "meta-em: phi's initial kernel width in units of each GMM component's spread",
            DefaultValueFactory = _ => new MetaEmOptions().InitialWidth,
        };
        var metaMinWidth = StrategySetup.MetaMinWidthOption();
        var metaEvery = new Option<int>("--meta-every")
        {
            Description = "meta-em: meta-update every N steps", DefaultValueFactory = _ => new MetaEmOptions().UpdateEvery,
        };
        var metaValidation = new Option<int>("--meta-validation")
        {
            Description = "meta-em: validation sequences per meta-update", DefaultValueFactory = _ => new MetaEmOptions().ValidationBatch,
        };
        var gmmComponents = StrategySetup.GmmComponentsOption();
        var arms = new Option<string>("--arms")
        {
            Description = "Comma-separated reference arms, or none: oracle (drop the ground-truth noisy documents; needs labels), " +
                          "oracle:weights (weight 0 on the ground-truth noisy documents' tokens in uniform's batches; needs labels), " +
                          "filter (drop the documents the shared labelling defaults label noisy; needs --proxy), distill (uniform " +
                          "MLE blended with token-masked's distillation term on every token; needs --proxy), meta-em:frozen " +
                          "(meta-em with phi frozen at its initialisation; run only beside meta-em), filter+meta-em (meta-em on " +
                          "the documents the filter keeps; needs --proxy)",
            DefaultValueFactory = _ => string.Join(",", ReferenceArms.Names),
        };
        var statistics = new Option<string>("--statistics")
        {
            Description = "What meta-em and cluster-heuristic weigh: documents (each sequence gets the proxy's statistics of the " +
                          "whole documents its tokens come from, as the streaming trainer gets them from scored batches; the GMM is " +
                          "fitted on the documents) or sequences (the proxy's statistics of each training sequence itself)",
            DefaultValueFactory = _ => StatisticsDocuments,
        };
        statistics.AcceptOnlyFromAmong(StatisticsDocuments, StatisticsSequences);
        var command = new Command("reweighting", "Train one model per strategy and seed at equal budget and compare clean validation loss, step time and weights")
        {
            train, valid, proxy, tokenizer, preset, steps, strategies, seeds, batch, seq, lr, device, json, output, temperature, metaLr,
            arms, metaWidth, statistics, metaEvery, metaValidation, gmmComponents, metaMinWidth,
        };
        var fields = new CorpusFieldOptions().AddTo(command);
        command.SetAction(parse => CommandGuard.Run(() =>
        {
            var names = parse.GetValue(strategies)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            foreach (var n in names.Where(n => !StrategyCatalogue.Names.Contains(n)))
                throw new ArgumentException($"unknown strategy '{n}' (known: {string.Join(", ", StrategyCatalogue.Names)})");
            if (!names.Contains(StrategyCatalogue.Uniform.Name)) names.Insert(0, StrategyCatalogue.Uniform.Name);
            if (parse.GetValue(seeds) < 1) throw new ArgumentException("--seeds must be at least 1");
            if (parse.GetValue(steps) < 3) throw new ArgumentException("--steps must be at least 3 (the first and last steps are not timed)");
            if (names.Any(n => StrategyCatalogue.Get(n).NeedsProxy) && parse.GetValue(proxy) is null)
                throw new ArgumentException($"{string.Join(", ", names.Where(n => StrategyCatalogue.Get(n).NeedsProxy))} need --proxy");
            var settings = new StrategySettings
            {
                Temperature = parse.GetValue(temperature),
                Meta = new MetaEmOptions(parse.GetValue(metaLr), UpdateEvery: parse.GetValue(metaEvery),
                    ValidationBatch: parse.GetValue(metaValidation), InitialWidth: parse.GetValue(metaWidth),
                    MinWidth: parse.GetValue(metaMinWidth)).Validate(),
                GmmComponents = StrategySetup.GmmComponents(parse, gmmComponents),
            };
            var armNames = ReferenceArms.Parse(parse.GetValue(arms)!);
            if (armNames.Remove(ReferenceArms.MetaEmFrozen) && names.Contains(StrategyCatalogue.MetaEm.Name))
                armNames.Add(ReferenceArms.MetaEmFrozen);
            if (armNames.Any(a => !ReferenceArms.NeedsGroundTruth(a)) && parse.GetValue(proxy) is null)
            {
                var needy = string.Join(", ", armNames.Where(a => !ReferenceArms.NeedsGroundTruth(a)));
                throw new ArgumentException($"the {needy} arm(s) need --proxy (or leave them out with --arms)");
            }
            names.AddRange(armNames);
            return Run(new Setup(parse.GetValue(train)!, parse.GetValue(valid)!, parse.GetValue(proxy), parse.GetValue(tokenizer), parse.GetValue(preset)!, names,
                parse.GetValue(seeds), parse.GetValue(seq), settings, new TrainingOptions
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), LearningRate = parse.GetValue(lr), MinLearningRate = parse.GetValue(lr) / 10,
                    WarmupSteps = Math.Max(1, parse.GetValue(steps) / 10), Device = parse.GetValue(device)!,
                }, fields.Reader(parse), parse.GetValue(statistics) == StatisticsDocuments), parse.GetValue(json), parse.GetValue(output));
        }));
        return command;
    }

    private sealed record Setup(string Train, string Valid, string? Proxy, string? Tokenizer, string Preset, List<string> Strategies, int Seeds, int? Sequence,
        StrategySettings Settings, TrainingOptions Options, CorpusReaderOptions Fields, bool DocumentStatistics);

    private const string StatisticsDocuments = "documents";
    private const string StatisticsSequences = "sequences";

    /// <summary>One run's outcome.</summary>
    /// <param name="ValidLoss">The clean validation loss after the last step.</param>
    /// <param name="StepSeconds">Seconds per timed step.</param>
    /// <param name="Weights">Where the run's sample weights went; null for an objective that weighs no samples.</param>
    /// <param name="KeptTokenShare">The share of the target tokens trained on with weight above 0 (the weighting oracle), else
    /// null.</param>
    private sealed record RunResult(double ValidLoss, double StepSeconds, Evaluation.WeightSummary? Weights, double? KeptTokenShare = null);

    private static int Run(Setup setup, bool json, string? outputPath)
    {
        setup.Options.Validate();
        var progress = new ConsoleProgress();
        var labels = TryReadLabels(setup.Train, setup.Fields);
        var trainRecords = CorpusLoading.Read(setup.Train, setup.Fields);
        var validRecords = CorpusLoading.Read(setup.Valid, setup.Fields);
        var metaRecords = validRecords.Where(r => CorpusLoading.IsHeldOut(r.Id, 2)).ToList();
        var reportRecords = validRecords.Where(r => !CorpusLoading.IsHeldOut(r.Id, 2)).ToList();
        if (metaRecords.Count == 0 || reportRecords.Count == 0) throw new InvalidDataException($"{setup.Valid} needs enough documents to split into meta and report halves");

        BpeTokenizer tok;
        if (setup.Proxy is not null) tok = BpeTokenizer.Load(setup.Proxy);
        else if (setup.Tokenizer is not null) tok = TokenizerSource.Load(setup.Tokenizer);
        else
        {
            Console.Error.WriteLine($"training a 4096-token vocabulary on {trainRecords.Count} documents ...");
            tok = BpeTrainer.Train(trainRecords.Select(r => r.Text), 4096, new Progress<BpeTrainingProgress>(p => progress.Report($"tokenizer {p.Phase}: {p.Done}/{p.Total}")));
        }
        var config = GptConfig.Preset(setup.Preset, tok.VocabSize);
        var options = (setup.Options with { SequenceLength = setup.Sequence ?? config.ContextLength }).Validate();
        var device = Device.Parse(options.Device);
        using var proxy = setup.Proxy is null ? null : Checkpoint.LoadModel(setup.Proxy, device);
        if (proxy is not null && proxy.Config.VocabSize != tok.VocabSize) throw new InvalidDataException("the proxy's vocabulary differs from its tokenizer's");

        var trainTokens = CorpusLoading.Encode(tok, trainRecords, progress, "training corpus");
        var noisyDoc = trainRecords.Select(r => labels is not null && labels.TryGetValue(r.Id, out var l) && l.Noisy).ToArray();
        var metaTokens = CorpusLoading.Encode(tok, metaRecords, progress, "meta-validation half");
        var reportDocs = new Dictionary<string, IReadOnlyList<IReadOnlyList<long>>>
        {
            ["all"] = CorpusLoading.Encode(tok, reportRecords, progress, "reported validation half").Select(d => (IReadOnlyList<long>)d).ToList(),
        };
        Console.Error.WriteLine($"{setup.Preset}: {setup.Strategies.Count} strategies x {setup.Seeds} seeds, {options.Steps} steps of {options.BatchSize}x{options.SequenceLength} tokens; " +
                                $"{noisyDoc.Count(n => n)}/{noisyDoc.Length} training documents labelled noisy");

        if (setup.Strategies.FirstOrDefault(ReferenceArms.NeedsGroundTruth) is { } truthArm && labels is null)
        {
            throw new InvalidDataException(
                $"the {truthArm} arm needs ground truth: {setup.Train} carries no clean/noisy labels (leave it out with --arms)");
        }
        // Which training documents each filtering arm keeps: the oracle drops the injected noise, the filter what the labels call noisy.
        var needsGmm = setup.Strategies.Any(n => StrategyCatalogue.Names.Contains(n) && StrategyCatalogue.Get(n).NeedsGmm)
                       || setup.Strategies.Contains(ReferenceArms.MetaEmFrozen) || setup.Strategies.Contains(ReferenceArms.FilterMetaEm);
        var filtering = setup.Strategies.Where(ReferenceArms.Filters).ToList();
        var scores = filtering.Count > 0 || (needsGmm && setup.DocumentStatistics)
            ? ScoreDocuments(setup.Proxy!, device, trainRecords, metaRecords)
            : ((NoiseDetection.CorpusScores Train, NoiseDetection.CorpusScores Reference)?)null;
        var documents = needsGmm && setup.DocumentStatistics ? DocumentStatisticsOf(scores!.Value) : null;
        var kept = new Dictionary<string, KeptDocuments>();
        if (setup.Strategies.Contains(ReferenceArms.Oracle)) kept[ReferenceArms.Oracle] = KeptDocuments.Dropping(noisyDoc, noisyDoc);
        if (filtering.Count > 0)
        {
            var filtered = NoiseDetection.GmmLabelling.NoisyLabels(scores!.Value.Train.Stats, scores.Value.Reference.Stats, seed: 0);
            foreach (var arm in filtering) kept[arm] = KeptDocuments.Dropping(filtered, noisyDoc);
        }
        foreach (var (arm, k) in kept)
        {
            Console.Error.WriteLine($"{arm}: trains on {k.Trained} of {k.Keep.Length} documents, dropping " +
                                    $"{k.DroppedNoisy} labelled noisy and {k.DroppedClean} labelled clean");
            if (k.Trained == 0) throw new InvalidDataException($"the {arm} arm would drop every training document");
        }

        var results = setup.Strategies.ToDictionary(s => s, _ => new List<RunResult>());
        for (var seed = 1; seed <= setup.Seeds; seed++)
        {
            foreach (var name in setup.Strategies)
            {
                var runOptions = options with { Seed = (ulong)seed };
                var keep = kept.GetValueOrDefault(name)?.Keep;
                var runTokens = keep is null ? trainTokens : [.. trainTokens.Where((_, i) => keep[i])];
                var runNoisy = keep is null ? noisyDoc : [.. noisyDoc.Where((_, i) => keep[i])];
                var data = new TokenStream(runTokens, tok.EndOfTextId, options.SequenceLength, (ulong)seed);
                var meta = new TokenStream(metaTokens, tok.EndOfTextId, options.SequenceLength, (ulong)seed);
                var weights = new RunWeights(data, runNoisy, labels is not null, options.BatchSize, options.GradientAccumulation);
                var frozen = name == ReferenceArms.MetaEmFrozen;
                var strategy = name is ReferenceArms.FilterMetaEm || frozen ? StrategyCatalogue.MetaEm.Name
                    : keep is not null ? StrategyCatalogue.Uniform.Name : name;
                var settings = setup.Settings with
                {
                    Seed = (ulong)seed, Meta = frozen ? setup.Settings.Meta with { MetaLearningRate = 0 } : setup.Settings.Meta,
                };
                ITrainingObjective objective = name == ReferenceArms.Distill
                    ? new TokenMaskedObjective(proxy!, new TokenMaskedOptions(setup.Settings.TopFraction, Blend: true))
                    : name == ReferenceArms.OracleWeights
                    ? new DocumentMaskObjective(data, noisyDoc, options.BatchSize, options.GradientAccumulation)
                    : StrategySetup.Create(strategy, settings, options.Steps, proxy, data, meta, runOptions, weights.Observe,
                        log: line => progress.Report($"seed {seed} {name}: {line}", force: true),
                        documents: keep is null ? documents : documents?.Keeping(keep));
                using var model = new GptModel(config, (ulong)seed);
                model.To(device);
                var clock = new Stopwatch();
                double validLoss = double.NaN;
                long timedSteps = 0;
                new GptTrainer(model, data, runOptions) { HeldOut = reportDocs, Objective = objective }.Run(progress: p =>
                {
                    // Steps 2..N-1 are timed: the first carries one-off allocations, the last the final evaluation.
                    if (p.Step == 1) clock.Start();
                    else if (p.Step < p.TotalSteps) timedSteps++;
                    if (p.Step == p.TotalSteps - 1) clock.Stop();
                    if (p.HeldOutLoss is { } h && h.TryGetValue("all", out var v)) validLoss = v;
                    progress.Report($"seed {seed}/{setup.Seeds} {name}: step {p.Step}/{p.TotalSteps} loss {p.Loss:F4}");
                });
                var run = weights.Result(validLoss, clock.Elapsed.TotalSeconds / Math.Max(1, timedSteps)) with
                {
                    KeptTokenShare = objective is DocumentMaskObjective mask
                        ? mask.Tokens.Kept / (double)Math.Max(1, mask.Tokens.Seen)
                        : null,
                };
                results[name].Add(run);
                progress.Report($"seed {seed}/{setup.Seeds} {name}: clean validation loss {validLoss:F4}, {run.StepSeconds * 1000:F0} ms/step", force: true);
            }
        }

        var report = Report(setup, options, results, kept);
        var text = report.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (outputPath is not null) Text.IO.AtomicFile.WriteAllText(outputPath, text + "\n");
        if (json) Console.WriteLine(text);
        else PrintTable(report, setup.Seeds);
        return 0;
    }

    /// <summary>The training and clean meta-validation documents scored whole by the proxy, as the scorer scores them: the
    /// filter arm labels the training documents with the shared labelling defaults against the meta-validation half as the
    /// reference (as the scorer would label them in SQL), and meta-em and cluster-heuristic weigh their statistics.</summary>
    private static (NoiseDetection.CorpusScores Train, NoiseDetection.CorpusScores Reference) ScoreDocuments(string proxyDir, Device device,
        IReadOnlyList<CorpusRecord> train, IReadOnlyList<CorpusRecord> reference)
    {
        using var scorer = new NoiseDetection.ProxyCorpusScorer(proxyDir, device, batch: 16);
        Console.Error.WriteLine($"scoring {train.Count} training and {reference.Count} reference documents with the proxy ...");
        return (scorer.Score(train), scorer.Score(reference));
    }

    /// <summary>Each document's (loss mean, loss variance), null for one without a scored token.</summary>
    private static DocumentScores DocumentStatisticsOf((NoiseDetection.CorpusScores Train, NoiseDetection.CorpusScores Reference) scores) =>
        new([.. scores.Train.Stats.Select(s => s.Count > 0 ? ((double, double)?)(s.Mean, s.Variance) : null)],
            [.. scores.Reference.Stats.Where(s => s.Count > 0).Select(s => (s.Mean, s.Variance))]);

    private static Dictionary<string, CorpusLabel>? TryReadLabels(string path, CorpusReaderOptions fields)
    {
        try
        {
            return CorpusLabels.Read(path, fields);
        }
        catch (InvalidDataException)
        {
            Console.Error.WriteLine($"note: {path} carries no clean/noisy labels; the noisy weight share is not reported");
            return null;
        }
    }

    private static JsonObject Report(Setup setup, TrainingOptions options, Dictionary<string, List<RunResult>> results,
        Dictionary<string, KeptDocuments> kept)
    {
        var uniform = results["uniform"];
        var strategies = new JsonObject();
        var oracle = results.GetValueOrDefault(ReferenceArms.Oracle);
        // H_k = loss(uniform) − loss(oracle) per seed; a method's share of it is mean(uniform − method) / mean(H).
        var headroom = oracle?.Select((r, i) => uniform[i].ValidLoss - r.ValidLoss).ToArray();
        // H_w, the same with the weighting oracle: what weighing uniform's batches (rather than dropping documents) can buy.
        var weightsHeadroom = results.GetValueOrDefault(ReferenceArms.OracleWeights)?.Select((r, i) => uniform[i].ValidLoss - r.ValidLoss).ToArray();
        foreach (var (name, runs) in results)
        {
            var losses = runs.Select(r => r.ValidLoss).ToArray();
            var diffs = runs.Select((r, i) => r.ValidLoss - uniform[i].ValidLoss).ToArray();
            var (mean, std) = SeedStatistics.MeanStd(losses);
            var (diffMean, diffStd) = SeedStatistics.MeanStd(diffs);
            var half = SeedStatistics.ConfidenceHalfWidth95(diffs);
            var (_, uniformStd) = SeedStatistics.MeanStd(uniform.Select(r => r.ValidLoss).ToArray());
            var pooled = Math.Sqrt((std * std + uniformStd * uniformStd) / 2);
            var weights = runs.All(r => r.Weights is not null) ? runs.Select(r => r.Weights!).ToList() : null;
            strategies[name] = new JsonObject
            {
                ["valid_loss_mean"] = mean,
                ["valid_loss_std"] = std,
                ["valid_losses"] = new JsonArray(losses.Select(l => (JsonNode)l).ToArray()),
                ["diff_to_uniform"] = new JsonObject
                {
                    // One seed has no interval: null, not NaN (which JSON cannot hold).
                    ["mean"] = diffMean, ["std"] = diffStd, ["ci95_low"] = Finite(diffMean - half), ["ci95_high"] = Finite(diffMean + half),
                    ["gap_in_pooled_std"] = pooled > 0 ? -diffMean / pooled : null,
                },
                ["step_seconds"] = runs.Average(r => r.StepSeconds),
                ["step_time_ratio"] = runs.Average(r => r.StepSeconds) / uniform.Average(r => r.StepSeconds),
                ["max_weight_times_m"] = weights?.Max(w => w.MaxWeightTimesM),
                ["weight_entropy"] = weights?.Average(w => w.MeanEntropy),
                ["noisy_weight_share"] = weights is not null && !double.IsNaN(weights[0].NoisyWeightShare)
                    ? weights.Average(w => w.NoisyWeightShare) : null,
                ["clean_effective_share"] = weights is not null && weights.All(w => double.IsFinite(w.CleanEffectiveShare))
                    ? weights.Average(w => w.CleanEffectiveShare) : null,
                ["arm"] = ReferenceArms.Names.Contains(name),
            };
            if (headroom is not null) strategies[name]!["headroom_share"] = Share(diffs, headroom);
            if (weightsHeadroom is not null) strategies[name]!["weights_headroom_share"] = Share(diffs, weightsHeadroom);
            if (runs.All(r => r.KeptTokenShare is not null))
                strategies[name]!["kept_token_share"] = runs.Average(r => r.KeptTokenShare!.Value);
            if (kept.TryGetValue(name, out var k))
            {
                strategies[name]!["training_documents"] = k.Trained;
                strategies[name]!["dropped_noisy"] = k.DroppedNoisy;
                strategies[name]!["dropped_clean"] = k.DroppedClean;
            }
        }
        return new JsonObject
        {
            ["train"] = setup.Train, ["valid"] = setup.Valid, ["proxy"] = setup.Proxy, ["preset"] = setup.Preset, ["steps"] = options.Steps,
            ["batch"] = options.BatchSize, ["sequence_length"] = options.SequenceLength, ["learning_rate"] = options.LearningRate, ["seeds"] = setup.Seeds,
            ["device"] = options.Device, ["statistics"] = setup.DocumentStatistics ? StatisticsDocuments : StatisticsSequences,
            ["headroom"] = Headroom(headroom), ["headroom_weights"] = Headroom(weightsHeadroom), ["strategies"] = strategies,
        };
    }

    /// <summary>A method's share of a headroom: mean(uniform − method) / mean(H) with Fieller's 95% interval.</summary>
    private static JsonObject Share(double[] diffs, double[] headroom)
    {
        var (share, low, high) = SeedStatistics.RatioConfidence95(diffs.Select(d => -d).ToArray(), headroom);
        return new JsonObject { ["mean"] = double.IsNaN(share) ? null : share, ["ci95_low"] = low, ["ci95_high"] = high };
    }

    /// <summary>Per-seed headrooms' mean, std and 95% interval, or null without the arm.</summary>
    private static JsonObject? Headroom(double[]? headroom)
    {
        if (headroom is null) return null;
        var (h, hStd) = SeedStatistics.MeanStd(headroom);
        var half = SeedStatistics.ConfidenceHalfWidth95(headroom);
        return new JsonObject { ["mean"] = h, ["std"] = hStd, ["ci95_low"] = Finite(h - half), ["ci95_high"] = Finite(h + half) };
    }

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>The training documents a filtering arm keeps, and what it drops by the ground truth.</summary>
    private sealed record KeptDocuments(bool[] Keep, int Trained, int DroppedNoisy, int DroppedClean)
    {
        /// <summary>Keeps every document <paramref name="drop"/> does not flag; counts the dropped by <paramref name="noisy"/>.</summary>
        public static KeptDocuments Dropping(bool[] drop, bool[] noisy) => new([.. drop.Select(d => !d)], drop.Count(d => !d),
            drop.Where((d, i) => d && noisy[i]).Count(), drop.Where((d, i) => d && !noisy[i]).Count());
    }

    private static void PrintTable(JsonObject report, int seeds)
    {
        Console.WriteLine($"clean validation loss after {report["steps"]} steps, {seeds} seed(s); " +
                          "difference to uniform with its 95% confidence interval; " +
                          $"meta-em and cluster-heuristic weigh the statistics of {report["statistics"]}");
        if (report["headroom"] is { } h)
        {
            Console.WriteLine($"headroom H = loss(uniform) − loss(oracle) = {h["mean"]!.GetValue<double>():F4} " +
                              $"(95% CI {Bound(h["ci95_low"])}, {Bound(h["ci95_high"])}); " +
                              "share of H: gain over uniform / H, Fieller's 95% CI");
        }
        if (report["headroom_weights"] is { } hw)
        {
            Console.WriteLine($"weighting headroom H_w = loss(uniform) − loss(oracle:weights) = {hw["mean"]!.GetValue<double>():F4} " +
                              $"(95% CI {Bound(hw["ci95_low"])}, {Bound(hw["ci95_high"])}): what weighing uniform's batches can buy");
        }
        Console.WriteLine($"{"strategy",-18} {"loss mean",10} {"std",8} {"diff",9} {"95% CI",22} {"share of H",22} {"share of H_w",22} " +
                          $"{"time x",7} {"max w·M",8} {"entropy",8} {"noisy w",8} {"clean ESS",9}");
        foreach (var (name, node) in report["strategies"]!.AsObject())
        {
            double D(string key) => node![key]?.GetValue<double>() ?? double.NaN;
            var diff = node!["diff_to_uniform"]!;
            var share = ShareText(node["headroom_share"]);
            var weightsShare = ShareText(node["weights_headroom_share"]);
            Console.WriteLine($"{name,-18} {D("valid_loss_mean"),10:F4} {D("valid_loss_std"),8:F4} {diff["mean"]!.GetValue<double>(),9:+0.0000;-0.0000} " +
                              $"{$"[{Bound4(diff["ci95_low"])}, {Bound4(diff["ci95_high"])}]",22} {share,22} {weightsShare,22} " +
                              $"{D("step_time_ratio"),7:F3} {D("max_weight_times_m"),8:F2} {D("weight_entropy"),8:F3} " +
                              $"{D("noisy_weight_share"),8:F3} {D("clean_effective_share"),9:F3}");
        }

        static string ShareText(JsonNode? share) => share is not null && share["mean"] is { } m
            ? $"{m.GetValue<double>(),6:F2} [{Bound(share["ci95_low"])}, {Bound(share["ci95_high"])}]"
            : "–";
        static string Bound(JsonNode? bound) => bound is null ? "unbounded" : bound.GetValue<double>().ToString("F2");
        static string Bound4(JsonNode? bound) => bound is null ? "–" : bound.GetValue<double>().ToString("F4");
    }

    /// <summary>Feeds a run's batch weights to <see cref="WeightStatistics"/>, each sequence's noisy fraction read off
    /// the documents that make up its target tokens.</summary>
    private sealed class RunWeights(TokenStream data, bool[] noisyDocument, bool labelled, int batchSize, int gradientAccumulation)
    {
        private readonly WeightStatistics _statistics = new();
        private readonly bool _labelled = labelled;

        public void Observe(MicroBatch batch, BatchWeights weights)
        {
            var first = DocumentSequenceStatistics.FirstSequence(batch, batchSize, gradientAccumulation);
            _statistics.Observe(weights, _labelled ? i => NoisyFraction(data.Composition(first + i)) : null);
        }

        private double NoisyFraction(IReadOnlyList<(int Document, int Tokens)> parts) =>
            parts.Where(p => noisyDocument[Math.Min(p.Document, noisyDocument.Length - 1)]).Sum(p => p.Tokens) / (double)parts.Sum(p => p.Tokens);

        public RunResult Result(double validLoss, double stepSeconds) => new(validLoss, stepSeconds, _statistics.Summary());
    }
}
