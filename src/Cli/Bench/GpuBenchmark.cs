using System.Diagnostics;
using System.Text.Json;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Scoring;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Cli.Bench;

/// <summary>The choices of `reweight bench gpu`.</summary>
internal sealed record GpuBenchSettings
{
    public string Device { get; init; } = "cuda";
    public int Vocab { get; init; } = 50257;
    public int Sequence { get; init; } = 1024;
    public string ScorerPreset { get; init; } = "gpt2-small";
    public int ScorerBatch { get; init; } = 32;
    public int Repeats { get; init; } = 10;
    public string TrainerPreset { get; init; } = "gpt2-medium";
    public int TrainerBatch { get; init; } = 8;
    public int Steps { get; init; } = 8;
    public int Rounds { get; init; } = 2;
    public string[] Strategies { get; init; } = ["linupper", "quadratic", "extremes", "meta-em", "meta-em:forward:sequences=1:validation=1"];
    public double? PeakTflops { get; init; }
    public string? JsonPath { get; init; }

    public GpuBenchSettings Validate()
    {
        if (Sequence < 2) throw new ArgumentException("--seq must be at least 2");
        if (ScorerBatch < 1 || TrainerBatch < 1) throw new ArgumentException("--scorer-batch and --trainer-batch must be positive");
        if (Repeats < 1) throw new ArgumentException("--repeats must be at least 1");
        if (PeakTflops is <= 0) throw new ArgumentException("--peak-tflops must be positive");
        return this;
    }
}

/// <summary>`reweight bench gpu`: the throughput that matters on an accelerator, in bfloat16 autocast on CUDA. The scorer:
/// forward-only per-token losses of <c>gpt2-small</c> on full (batch, sequence) windows, copied back to the host as the
/// scorer does, and the scorer's own path (<see cref="DocumentScorer"/>: windows of documents of mixed lengths packed
/// under a token budget) as scored tokens/s and padding. The trainer: optimiser steps of <c>gpt2-medium</c> through the product's trainer (host batches, pinned
/// copies, autocast, backward, clipping, AdamW) with uniform weighting and with each strategy, interleaved, as tokens/s
/// and overhead over uniform. Model FLOPs utilisation (<see cref="ModelFlops"/>) against the card's dense bfloat16 peak.
/// bench/gpu.bench.sh runs the PyTorch references (eager and torch.compile) beside it and reports the ratios.</summary>
internal static class GpuBenchmark
{
    public static int Run(GpuBenchSettings settings)
    {
        settings.Validate();
        var dev = Device.Parse(settings.Device);
        using (Zeros([1], device: dev)) { } // a clear error now when the device cannot be used (e.g. cuda with a CPU-only shim)
        var accelerator = Accelerator.Describe(dev, settings.PeakTflops);
        var autocast = dev.Type == DeviceType.Cuda;
        Console.WriteLine($"{accelerator.Name ?? dev.ToString()} ({dev}; driver {accelerator.Driver ?? "n/a"}; libtorch {accelerator.LibTorch}); " +
                          $"{(autocast ? "bfloat16 autocast" : "float32")}; fused attention {(HasFusedAttention ? "yes" : "no")}; " +
                          $"peak {(accelerator.PeakBf16Tflops is { } p ? $"{p:F1} TFLOP/s ({accelerator.PeakSource})" : "unknown (MFU not reported; --peak-tflops)")}");

        var scoring = MeasureScoring(settings, dev, autocast);
        double? Mfu(double tokensPerSecond, double flopsPerToken) =>
            accelerator.PeakBf16Tflops is { } peak ? tokensPerSecond * flopsPerToken / (peak * 1e12) : null;
        var scoringMfu = Mfu(scoring.TokensPerSecond, scoring.FlopsPerToken);
        Console.WriteLine($"scorer  {settings.ScorerPreset} ({scoring.Parameters / 1e6:F1}M), batch {settings.ScorerBatch}x{settings.Sequence}: " +
                          $"{scoring.TokensPerSecond,12:F0} tokens/s  {scoring.TokensPerSecond * scoring.FlopsPerToken / 1e12,7:F1} TFLOP/s{Percent(scoringMfu)}");
        var pipeline = scoring.Pipeline;
        Console.WriteLine($"scorer  {settings.ScorerPreset} documents: {pipeline.Documents} of mixed lengths, budget {settings.ScorerBatch * settings.Sequence} tokens: " +
                          $"{pipeline.TokensPerSecond,12:F0} scored tokens/s in {pipeline.Batches} batches, {pipeline.PaddingFraction:P1} padding");

        Console.Error.WriteLine($"trainer {settings.TrainerPreset}, batch {settings.TrainerBatch}x{settings.Sequence}: {settings.Rounds} interleaved rounds of {settings.Steps - 1} timed steps ...");
        var timings = StrategyBenchmark.Measure(settings.TrainerPreset, settings.Vocab, settings.TrainerBatch, settings.Sequence, settings.Steps,
            settings.Rounds, settings.Strategies, settings.Device);
        var trainingFlops = ModelFlops.TrainingPerToken(timings.Config, settings.Sequence);
        var tokensPerStep = (double)settings.TrainerBatch * settings.Sequence;
        var uniform = timings.Median("uniform");
        var strategies = new Dictionary<string, object?>();
        foreach (var name in timings.Names)
        {
            var seconds = timings.Median(name);
            var rate = tokensPerStep / seconds;
            var mfu = Mfu(rate, trainingFlops);
            Console.WriteLine($"trainer {settings.TrainerPreset} ({timings.Parameters / 1e6:F1}M) {name,-10} {seconds * 1000,8:F1} ms/step {rate,10:F0} tokens/s" +
                              $"  {rate * trainingFlops / 1e12,7:F1} TFLOP/s{Percent(mfu)}  overhead {(seconds / uniform - 1) * 100,6:F1}%");
            strategies[name] = new Dictionary<string, object?>
            {
                ["step_seconds"] = seconds, ["step_seconds_rounds"] = timings.Seconds[name], ["tokens_per_s"] = rate,
                ["tflops"] = rate * trainingFlops / 1e12, ["mfu"] = mfu, ["overhead_vs_uniform"] = seconds / uniform - 1,
            };
        }

        if (settings.JsonPath is not null)
            File.WriteAllText(settings.JsonPath, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["date"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
                ["device"] = accelerator.Device, ["gpu"] = accelerator.Name, ["driver"] = accelerator.Driver, ["gpu_memory_mib"] = accelerator.MemoryMib,
                ["libtorch"] = accelerator.LibTorch, ["cuda_compiled"] = accelerator.CudaCompiled,
                ["precision"] = autocast ? "bfloat16 autocast" : "float32", ["fused_attention"] = HasFusedAttention,
                ["peak_bf16_tflops"] = accelerator.PeakBf16Tflops, ["peak_source"] = accelerator.PeakSource,
                ["sequence"] = settings.Sequence, ["vocab"] = settings.Vocab,
                ["scoring"] = new Dictionary<string, object?>
                {
                    ["preset"] = settings.ScorerPreset, ["parameters"] = scoring.Parameters, ["batch"] = settings.ScorerBatch, ["repeats"] = settings.Repeats,
                    ["flops_per_token"] = scoring.FlopsPerToken, ["tokens_per_s"] = scoring.TokensPerSecond,
                    ["tflops"] = scoring.TokensPerSecond * scoring.FlopsPerToken / 1e12, ["mfu"] = scoringMfu,
                    ["documents"] = new Dictionary<string, object>
                    {
                        ["documents"] = scoring.Pipeline.Documents, ["scored_tokens"] = scoring.Pipeline.Tokens, ["token_budget"] = settings.ScorerBatch * settings.Sequence,
                        ["batches"] = scoring.Pipeline.Batches, ["padding_fraction"] = scoring.Pipeline.PaddingFraction, ["tokens_per_s"] = scoring.Pipeline.TokensPerSecond,
                    },
                },
                ["training"] = new Dictionary<string, object?>
                {
                    ["preset"] = settings.TrainerPreset, ["parameters"] = timings.Parameters, ["batch"] = settings.TrainerBatch,
                    ["steps"] = settings.Steps, ["rounds"] = settings.Rounds, ["flops_per_token"] = trainingFlops, ["strategies"] = strategies,
                },
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static string Percent(double? mfu) => mfu is { } m ? $"  MFU {m * 100,5:F1}%" : "";

    private sealed record ScoringResult(long Parameters, double FlopsPerToken, double TokensPerSecond, PipelineResult Pipeline);

    /// <summary>The scorer's own path: documents of mixed lengths through <see cref="DocumentScorer"/> (windows, packing
    /// under a token budget of one full batch, losses back to the host); tokens/s counts scored tokens, not padding.</summary>
    private sealed record PipelineResult(int Documents, long Tokens, double TokensPerSecond, double PaddingFraction, long Batches);

    private static PipelineResult MeasurePipeline(GptModel model, GpuBenchSettings settings, Device dev)
    {
        // Lengths log-uniform from 16 tokens to twice the sequence (long ones span two windows), about 24 budgets in all.
        var rng = new Random(1);
        var budget = settings.ScorerBatch * settings.Sequence;
        var documents = new List<IReadOnlyList<long>>();
        long total = 0;
        while (total < 24L * budget)
        {
            var length = (int)Math.Round(Math.Exp(Math.Log(16) + rng.NextDouble() * (Math.Log(2.0 * settings.Sequence) - Math.Log(16))));
            documents.Add(Enumerable.Range(0, length).Select(_ => (long)rng.Next(settings.Vocab)).ToArray());
            total += length - 1;
        }
        var batches = new ScoringBatches { TokenBudget = budget };
        foreach (var _ in new DocumentScorer(model, dev, batches, settings.Sequence).Score(documents.Take(documents.Count / 8))) { }
        var scorer = new DocumentScorer(model, dev, batches, settings.Sequence);
        var clock = Stopwatch.StartNew();
        long scored = 0;
        foreach (var d in scorer.Score(documents)) scored += d.Losses.Length;
        var seconds = clock.Elapsed.TotalSeconds;
        return new PipelineResult(documents.Count, scored, scored / seconds, scorer.Statistics.PaddingFraction, scorer.Statistics.Batches);
    }

    private static ScoringResult MeasureScoring(GpuBenchSettings settings, Device dev, bool autocast)
    {
        var config = GptConfig.Preset(settings.ScorerPreset, settings.Vocab) with { Dropout = 0 };
        if (settings.Sequence > config.ContextLength)
            throw new ArgumentException($"--seq {settings.Sequence} exceeds {settings.ScorerPreset}'s context {config.ContextLength}");
        using var model = new GptModel(config);
        model.To(dev);
        model.Eval();
        var rng = new Random(0);
        var tokens = settings.ScorerBatch * settings.Sequence;
        long[] NextIds() => Enumerable.Range(0, tokens).Select(_ => (long)rng.Next(settings.Vocab)).ToArray();
        // Fresh ids from the host every repetition, as the scorer gets them: the copy is part of the work.
        var batches = Enumerable.Range(0, 2).Select(_ => (Inputs: NextIds(), Targets: NextIds())).ToArray();
        var repetition = 0;
        void ScoreOnce()
        {
            var (inputs, targets) = batches[repetition++ % batches.Length];
            using var scope = DisposeScope.Open();
            using var noGrad = NoGrad();
            using (autocast ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
                _ = model.TokenLosses(FromSpan<long>(inputs, [settings.ScorerBatch, settings.Sequence], dev),
                    FromSpan<long>(targets, [settings.ScorerBatch, settings.Sequence], dev)).ToArray<float>();
        }
        ScoreOnce();
        ScoreOnce();
        var seconds = ModelBenchmark.MedianSeconds(settings.Repeats, ScoreOnce);
        var pipeline = MeasurePipeline(model, settings, dev);
        return new ScoringResult(model.ParameterCount(), ModelFlops.ForwardPerToken(config, settings.Sequence), tokens / seconds, pipeline);
    }
}
