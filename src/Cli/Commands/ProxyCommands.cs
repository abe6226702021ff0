using System.CommandLine;
using System.Runtime.InteropServices;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Text.Corpus;
using Reweighting.Text.Tokenization;
using Reweighting.Torch;
using Reweighting.Torch.Distributed;
using Reweighting.MetaEm;
using Reweighting.Objectives;

namespace Reweighting.Cli.Commands;

/// <summary>`reweight proxy train`: pretrains a proxy GPT on a corpus (training a tokenizer first when none is given).</summary>
internal static class ProxyCommands
{
    private static readonly Dictionary<string, int> DefaultVocab = new() { ["tiny"] = 2048, ["gpt2-small"] = 50257, ["gpt2-medium"] = 50257, ["gpt2-large"] = 50257 };

    public static Command Create() =>
        new("proxy", "The proxy model that scores documents")
        {
            TrainCommand("train", "Pretrain a proxy GPT on a corpus; the output is a complete checkpoint with its tokenizer", withStrategy: false),
        };

    /// <summary>`reweight train`: pretraining with a weighting strategy, on a corpus file (no streaming needed).</summary>
    public static Command CreateWeightedTrain() =>
        TrainCommand("train", "Pretrain a GPT on a corpus with a reweighting strategy (" + string.Join(", ", StrategyCatalogue.Names) + "). " +
                              "Without --corpus, `reweight train` runs the trainer service on the scored-batches topic instead: see `reweight train-stream --help`", withStrategy: true);

    private static Command TrainCommand(string name, string description, bool withStrategy)
    {
        var corpus = new Option<string>("--corpus") { Description = "Corpus: " + CorpusFieldOptions.Formats, Required = true };
        var preset = new Option<string>("--preset") { Description = "Model size: " + string.Join(", ", GptConfig.PresetNames), DefaultValueFactory = _ => "tiny" };
        preset.AcceptOnlyFromAmong([.. GptConfig.PresetNames]);
        var modelConfig = new Option<string?>("--config") { Description = "GPT-2 style config.json for a custom size (n_layer, n_head, n_embd, n_positions); overrides --preset" };
        var tokenizer = new Option<string?>("--tokenizer") { Description = "gpt2 (GPT-2's vocabulary, built in) or a tokenizer directory (default: train one on the corpus)" };
        var vocab = new Option<int?>("--vocab-size") { Description = "Vocabulary size when training a tokenizer (default: set by the preset)" };
        var steps = new Option<int>("--steps")
        {
            Description = "Optimiser steps (the default is the measured proxy budget for labelling: docs/label-eval/proxy-study.md)",
            DefaultValueFactory = _ => ProxyDefaults.Steps,
        };
        var output = new Option<string>("--out") { Description = "Checkpoint directory to write", Required = true };
        var batch = new Option<int>("--batch")
        {
            Description = "Sequences per micro-batch", DefaultValueFactory = _ => ProxyDefaults.BatchSize,
        };
        var seq = new Option<int?>("--seq") { Description = "Tokens per sequence (default: the model's context)" };
        var accumulation = new Option<int>("--accumulation") { Description = "Micro-batches per step", DefaultValueFactory = _ => 1 };
        var lr = new Option<double>("--lr")
        {
            Description = "Peak learning rate", DefaultValueFactory = _ => ProxyDefaults.LearningRate,
        };
        var warmup = new Option<int?>("--warmup") { Description = "Warm-up steps (default: 10% of the steps)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:n]", DefaultValueFactory = _ => "cpu" };
        var evalEvery = new Option<int>("--eval-every") { Description = "Held-out evaluation every N steps (0: at the end)", DefaultValueFactory = _ => 0 };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps (0: at the end and on shutdown)", DefaultValueFactory = _ => 0 };
        var resume = new Option<bool>("--resume") { Description = "Continue the run saved in --out" };
        var valid = new Option<string?>("--valid") { Description = "Held-out corpus, evaluated and (meta-em) the clean validation stream its meta-update learns from (default: 1 in 50 documents of --corpus, by id)" };
        var seed = new Option<ulong>("--seed") { Description = "Seed of initialisation and data order", DefaultValueFactory = _ => 1337UL };
        var strategy = new Option<string>("--strategy") { Description = "Weighting strategy", DefaultValueFactory = _ => "uniform" };
        strategy.AcceptOnlyFromAmong([.. StrategyCatalogue.Names]);
        var temperature = new Option<double>("--temperature") { Description = "Final softmax temperature r of the loss-shape strategies", DefaultValueFactory = _ => 0.4 };
        var burnIn = new Option<int>("--burn-in") { Description = "Uniform steps before reweighting starts", DefaultValueFactory = _ => 0 };
        var anneal = new Option<int?>("--anneal-steps") { Description = "Steps over which r falls from 100 to --temperature (default: half the steps)" };
        var proxy = new Option<string?>("--proxy") { Description = "Proxy checkpoint (meta-em, cluster-heuristic: its statistics; token-masked: the reference); its tokenizer is used" };
        var metaLr = new Option<double>("--meta-lr") { Description = "meta-em: step size of the ascent on the validation improvement (Adam-normalised)", DefaultValueFactory = _ => new MetaEmOptions().MetaLearningRate };
        var metaEvery = new Option<int>("--meta-every") { Description = "meta-em: meta-update every N steps", DefaultValueFactory = _ => 1 };
        var metaGradient = new Option<string>("--meta-gradient")
        {
            Description = "meta-em: how each sample's alignment with the validation gradient is computed: forward (forward-mode AD, exact, " +
                          "bfloat16 on CUDA), differences (two float32 forward passes), exact (double backward, small models), auto (forward on CUDA, differences on the CPU)",
            DefaultValueFactory = _ => "auto",
        };
        metaGradient.AcceptOnlyFromAmong(MetaGradientMethods.Names);
        var metaSequences = new Option<int?>("--meta-sequences") { Description = "meta-em: estimate the meta-gradient from this many random sequences of each micro-batch (default: all)" };
        var metaMinWidth = StrategySetup.MetaMinWidthOption();
        var metaValidation = new Option<int>("--meta-validation") { Description = "meta-em: validation sequences per meta-update", DefaultValueFactory = _ => new MetaEmOptions().ValidationBatch };
        var topQ = new Option<double>("--top-q") { Description = "token-masked: fraction of each sequence's highest-loss tokens trained by MLE", DefaultValueFactory = _ => 0.25 };
        var gmmSample = new Option<int>("--gmm-sample") { Description = "meta-em, cluster-heuristic: training sequences scored to fit the GMM", DefaultValueFactory = _ => 512 };
        var gmmComponents = StrategySetup.GmmComponentsOption();
        var phiLog = new Option<string?>("--phi-log") { Description = "meta-em: append phi after every meta-update to this JSONL file" };
        var log = new Option<string?>("--log")
        {
            Description = "Append one JSON line per optimiser step to this file: step, loss (the global batch's), lr, grad_norm, " +
                          "tokens_per_s, collective_s (time in gradient averaging so far), held_out",
        };
        var nproc = RankLauncher.CreateOption("--batch");
        var folds = new Option<int>("--folds")
        {
            Description = "Cross-fitted copies of the proxy, trained after it, each on the training documents outside one fold: a " +
                          "document the proxy trained on is then scored (lm score, the scorer's labelling reference, eval " +
                          "noise-detection) by the copy that never saw it. Train the labelling proxy on the clean reference and " +
                          "keep them; 0: none (docs/label-eval/labels.md)",
            DefaultValueFactory = _ => ProxyFolds.DefaultCount,
        };
        var train = new Command(name, description)
        {
            corpus, preset, modelConfig, tokenizer, vocab, steps, output, batch, seq, accumulation, lr, warmup, device, evalEvery,
            checkpointEvery, resume, valid, seed, log, nproc,
        };
        if (!withStrategy) train.Options.Add(folds);
        var fields = new CorpusFieldOptions().AddTo(train);
        if (withStrategy)
        {
            train.Options.Add(strategy);
            train.Options.Add(temperature);
            train.Options.Add(burnIn);
            train.Options.Add(anneal);
            foreach (var option in new Option[]
                     { proxy, metaLr, metaEvery, metaGradient, metaSequences, metaValidation, metaMinWidth, topQ, gmmSample, gmmComponents, phiLog })
                train.Options.Add(option);
        }
        train.SetAction(parse => CommandGuard.Run(() =>
        {
            if (parse.GetValue(nproc) is var ranks && ranks != 1) return RankLauncher.Run(ranks);
            var foldCount = withStrategy ? 0 : parse.GetValue(folds);
            if (foldCount is < 0 or 1) throw new ArgumentException($"--folds must be 0 (none) or at least 2, not {foldCount}");
            var weighting = withStrategy
                ? new StrategyChoice(parse.GetValue(strategy)!, parse.GetValue(proxy), parse.GetValue(phiLog), new StrategySettings
                {
                    Temperature = parse.GetValue(temperature), BurnIn = parse.GetValue(burnIn), AnnealSteps = parse.GetValue(anneal),
                    Meta = new MetaEmOptions(parse.GetValue(metaLr), parse.GetValue(metaEvery), MetaGradientMethods.Parse(parse.GetValue(metaGradient)!), BurnInSteps: parse.GetValue(burnIn),
                        ValidationBatch: parse.GetValue(metaValidation), Sequences: parse.GetValue(metaSequences),
                        MinWidth: parse.GetValue(metaMinWidth)).Validate(),
                    TopFraction = parse.GetValue(topQ), GmmSample = parse.GetValue(gmmSample), Seed = parse.GetValue(seed),
                    GmmComponents = StrategySetup.GmmComponents(parse, gmmComponents),
                })
                : null;
            if (weighting is not null && StrategyCatalogue.Get(weighting.Name).NeedsProxy && weighting.Proxy is null)
                throw new ArgumentException($"--strategy {weighting.Name} needs --proxy (a proxy checkpoint, e.g. from `reweight proxy train`)");
            return Train(weighting, parse.GetValue(corpus)!, parse.GetValue(preset)!, parse.GetValue(modelConfig),
                parse.GetValue(tokenizer) ?? weighting?.Proxy, parse.GetValue(vocab), parse.GetValue(output)!,
                parse.GetValue(resume), parse.GetValue(valid), fields.Reader(parse), parse.GetValue(seq), parse.GetValue(log), foldCount,
                new TrainingOptions
                {
                    Steps = parse.GetValue(steps), BatchSize = parse.GetValue(batch), GradientAccumulation = parse.GetValue(accumulation),
                    LearningRate = parse.GetValue(lr), MinLearningRate = parse.GetValue(lr) / 10,
                    WarmupSteps = parse.GetValue(warmup) ?? Math.Max(1, parse.GetValue(steps) / 10), Device = parse.GetValue(device)!,
                    EvalEvery = parse.GetValue(evalEvery), CheckpointEvery = parse.GetValue(checkpointEvery), Seed = parse.GetValue(seed),
                });
        }));
        return train;
    }

    private static int Train(StrategyChoice? strategy, string corpusPath, string preset, string? configPath, string? tokenizerDir, int? vocabSize, string output, bool resume, string? validPath,
        CorpusReaderOptions fields, int? sequence, string? logPath, int foldCount, TrainingOptions options)
    {
        options.Validate(); // fail on bad arguments before any slow work
        if (configPath is not null && !File.Exists(configPath)) throw new FileNotFoundException($"--config {configPath} does not exist");
        if (resume && !File.Exists(Path.Combine(output, Checkpoint.StateFile)))
            throw new ArgumentException($"--resume: {output} holds no training run to continue");
        // Under data parallelism a bare "cuda" is this rank's GPU (cuda:LOCAL_RANK).
        options = options with { Device = ProcessGroup.RankDevice(options.Device) };
        using var group = ProcessGroup.JoinFromEnvironment(options.Device);
        if (group is not null && options.BatchSize % group.WorldSize != 0)
            throw new ArgumentException($"--batch {options.BatchSize} does not split evenly over {group.WorldSize} ranks");
        var leader = group is null || group.Rank == 0;
        var progress = new ConsoleProgress();
        var records = CorpusLoading.Read(corpusPath, fields);
        var heldOutRecords = validPath is null
            ? records.Where(r => CorpusLoading.IsHeldOut(r.Id, 50)).ToList()
            : CorpusLoading.Read(validPath, fields);
        var trainRecords = validPath is null ? records.Where(r => !CorpusLoading.IsHeldOut(r.Id, 50)).ToList() : records;
        if (trainRecords.Count == 0) throw new InvalidDataException("no training documents remain after holding out the validation split");

        var tokenizerSource = resume ? output : tokenizerDir;
        BpeTokenizer tok;
        string tokenizerFiles;
        // A built-in or trained vocabulary is written to a temporary directory, from which the checkpoint copies its files.
        var temporaryTokenizerFiles = tokenizerSource is null || (!resume && TokenizerSource.IsBuiltIn(tokenizerSource));
        if (tokenizerSource is not null && !temporaryTokenizerFiles)
        {
            tok = BpeTokenizer.Load(tokenizerSource);
            tokenizerFiles = tokenizerSource;
        }
        else if (tokenizerSource is not null)
        {
            tok = TokenizerSource.Load(tokenizerSource);
            tokenizerFiles = Path.Combine(Path.GetTempPath(), $"reweight-tokenizer-{Guid.NewGuid():N}");
            tok.Save(tokenizerFiles);
        }
        else
        {
            var size = vocabSize ?? DefaultVocab[preset];
            Console.Error.WriteLine($"training a {size}-token byte-level BPE vocabulary on {trainRecords.Count} documents ...");
            tok = BpeTrainer.Train(trainRecords.Select(r => r.Text), size,
                new Progress<BpeTrainingProgress>(p => progress.Report($"tokenizer {p.Phase}: {p.Done}/{p.Total}")));
            tokenizerFiles = Path.Combine(Path.GetTempPath(), $"reweight-tokenizer-{Guid.NewGuid():N}");
            tok.Save(tokenizerFiles);
            progress.Report($"tokenizer: {tok.VocabSize} tokens", force: true);
        }

        // A custom config's vocab_size is the tokenizer's: the embedding must cover every id it produces.
        var config = resume ? Checkpoint.LoadConfig(output)
            : configPath is not null ? (GptConfig.FromJson(File.ReadAllText(configPath)) with { VocabSize = tok.VocabSize }).Validate()
            : GptConfig.Preset(preset, tok.VocabSize);
        var seqLength = sequence ?? config.ContextLength;
        options = (options with { SequenceLength = seqLength }).Validate();
        if (seqLength > config.ContextLength) throw new ArgumentException($"--seq {seqLength} exceeds the context length {config.ContextLength}");

        var trainTokens = CorpusLoading.Encode(tok, trainRecords, progress, "training corpus");
        var heldOut = heldOutRecords.Zip(CorpusLoading.Encode(tok, heldOutRecords, progress, "held-out corpus"))
            .GroupBy(x => x.First.Domain ?? "default")
            .ToDictionary(g => g.Key, g => (IReadOnlyList<IReadOnlyList<long>>)g.Select(x => (IReadOnlyList<long>)x.Second).ToList());
        var data = new TokenStream(trainTokens, tok.EndOfTextId, seqLength, options.Seed);

        using var proxyModel = strategy?.Proxy is { } proxyDir ? Checkpoint.LoadModel(proxyDir, Device.Parse(options.Device)) : null;
        if (proxyModel is not null && proxyModel.Config.VocabSize != config.VocabSize)
            throw new ArgumentException($"the proxy's vocabulary ({proxyModel.Config.VocabSize}) differs from the model's ({config.VocabSize}): train with the proxy's tokenizer");
        using var model = new GptModel(config, options.Seed);
        model.To(Device.Parse(options.Device));
        Console.Error.WriteLine($"{(configPath is null ? preset : Path.GetFileName(configPath))}: {model.ParameterCount() / 1e6:F1}M parameters, {data.TokenCount} training tokens, " +
                                $"{heldOut.Values.Sum(d => d.Count)} held-out documents, {options.Steps} steps of {options.BatchSize * options.GradientAccumulation}x{seqLength} tokens");

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cancel.Cancel();
        });
        try
        {
            var objective = strategy is null ? null : StrategySetup.Create(strategy.Name, strategy.Settings, options.Steps, proxyModel, data,
                StrategyCatalogue.Get(strategy.Name).NeedsValidation ? new TokenStream(heldOut.Values.SelectMany(d => d), tok.EndOfTextId, seqLength, options.Seed) : null, options,
                phiUpdated: strategy.PhiLog is null || !leader ? null : update => File.AppendAllText(strategy.PhiLog,
                    new System.Text.Json.Nodes.JsonObject
                {
                    ["step"] = update.Step, ["phi"] = update.Phi.ToJson(), ["gradient_norm"] = update.GradientNorm, ["predicted_improvement"] = update.PredictedImprovement,
                }.ToJsonString() + "\n"),
                log: line => Console.Error.WriteLine(line), group: group);
            var trainer = new GptTrainer(model, data, options)
            {
                HeldOut = heldOut, CheckpointDirectory = output, TokenizerDirectory = tokenizerFiles, Objective = objective, Group = group,
            };
            using var stepLog = logPath is null || !leader ? null : new StreamWriter(logPath, append: true) { AutoFlush = true };
            trainer.Run(resume ? output : null, p =>
            {
                stepLog?.WriteLine(new System.Text.Json.Nodes.JsonObject
                {
                    ["step"] = p.Step, ["loss"] = p.Loss, ["lr"] = p.LearningRate, ["grad_norm"] = p.GradNorm,
                    ["tokens_per_s"] = p.TokensPerSecond,
                    ["collective_s"] = p.CollectiveTime.TotalSeconds,
                    ["held_out"] = p.HeldOutLoss is { } all && all.TryGetValue("all", out var a) ? a : null,
                }.ToJsonString());
                var eval = p.HeldOutLoss is { } h && h.TryGetValue("all", out var v) ? $"  held-out {v:F4}" : "";
                var weights = p.ObjectiveSummary is { } summary ? "  " + summary : "";
                progress.Report($"step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4}  lr {p.LearningRate:E2}  {p.TokensPerSecond:F0} tok/s  ETA {p.Eta:hh\\:mm\\:ss}{weights}{eval}",
                    force: p.HeldOutLoss is not null || p.Step == p.TotalSteps);
            }, cancel.Token);
            if (foldCount > 0 && !cancel.IsCancellationRequested)
                ProxyFolds.Train(output, config, tok.EndOfTextId, trainRecords, trainTokens, foldCount, options, group,
                    line => { if (leader) Console.Error.WriteLine(line); },
                    p => progress.Report($"  fold step {p.Step}/{p.TotalSteps}  loss {p.Loss:F4}  ETA {p.Eta:hh\\:mm\\:ss}",
                        force: p.Step == p.TotalSteps),
                    cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            if (temporaryTokenizerFiles && Directory.Exists(tokenizerFiles)) Directory.Delete(tokenizerFiles, recursive: true);
        }
        if (leader)
            Console.Error.WriteLine(cancel.IsCancellationRequested
                ? $"interrupted: checkpoint saved to {output} (resume with --resume)"
                : $"checkpoint saved to {output}");
        return cancel.IsCancellationRequested ? 130 : 0;
    }
}

/// <summary>The strategy a `reweight train` run uses, with its proxy and settings.</summary>
internal sealed record StrategyChoice(string Name, string? Proxy, string? PhiLog, StrategySettings Settings);

/// <summary>The proxy a stream is scored with, as `proxy train` and `reweight demo` train it by default: the tiny preset,
/// 300 steps of 16 sequences at peak learning rate 6e-4, decayed to a tenth. Chosen by detection on the tuning cells, not by
/// loss (docs/label-eval/proxy-study.md): a proxy trained longer, faster or larger reaches a lower loss and learns the
/// stream's repetitive noise, which then scores as the cleanest text.</summary>
internal static class ProxyDefaults
{
    public const int Steps = 300;

    public const int BatchSize = 16;

    public const double LearningRate = 6e-4;
}
