using System.Diagnostics;
using System.Text.Json;
using Reweighting.Cli.Commands;
using Reweighting.Modeling.Gpt;
using Reweighting.Modeling.Training;
using Reweighting.Strategies;
using Reweighting.Torch;
using Reweighting.MetaEm;
using Reweighting.Objectives;

namespace Reweighting.Cli.Bench;

/// <summary>Time per training step of each strategy relative to uniform training of the same model on the same batches,
/// measured in interleaved rounds so background load falls on every strategy alike. Proxy-based strategies use a
/// `tiny` proxy of the same vocabulary (a proxy is smaller than the model it serves).</summary>
internal static class StrategyBenchmark
{
    /// <summary>Seconds per optimiser step of each strategy (uniform first), over the interleaved
    /// rounds after one untimed round that warms every path up.</summary>
    internal sealed record Timings(GptConfig Config, long Parameters, string[] Names, Dictionary<string, List<double>> Seconds)
    {
        public double Median(string name)
        {
            var s = Seconds[name].Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
    }

    internal static Timings Measure(string preset, int vocab, int batch, int sequence, int steps, int rounds, string[] strategies, string device)
    {
        if (steps < 3 || rounds < 1) throw new ArgumentException("--steps must be at least 3 and --rounds at least 1");
        string[] names = strategies.Contains("uniform") ? ["uniform", .. strategies.Where(s => s != "uniform")] : ["uniform", .. strategies];
        var baseSettings = new StrategySettings { GmmSample = 4 * batch, Seed = 1 };
        var variants = names.ToDictionary(s => s, s => Variant(s, baseSettings)); // fails on an unknown name before any work
        var dev = Device.Parse(device);
        var config = GptConfig.Preset(preset, vocab) with { Dropout = 0 };
        if (sequence > config.ContextLength) throw new ArgumentException($"--seq {sequence} exceeds the preset's context {config.ContextLength}");
        // Synthetic documents over the whole vocabulary (as real text uses it): four in five follow an arithmetic
        // pattern the model can learn, one in five is random, so losses differ between samples.
        var rng = new Random(0);
        var documents = Enumerable.Range(0, 400).Select(d =>
        {
            long start = rng.Next(vocab - 1), stride = 1 + rng.Next(64);
            return (IReadOnlyList<long>)Enumerable.Range(0, 3 * sequence)
                .Select(i => d % 5 == 4 ? (long)rng.Next(vocab - 1) : (start + i * stride) % (vocab - 1)).ToArray();
        }).ToList();
        var data = new TokenStream(documents, vocab - 1, sequence, 1);
        var validation = new TokenStream(documents.Where((_, d) => d % 5 != 4), vocab - 1, sequence, 2);
        using var proxy = new GptModel(GptConfig.Preset("tiny", vocab) with { ContextLength = Math.Max(64, sequence) }, 5);
        proxy.To(dev);
        using var model = new GptModel(config, 3);
        model.To(dev);
        var options = new TrainingOptions { Steps = steps, BatchSize = batch, SequenceLength = sequence, LearningRate = 1e-4, MinLearningRate = 1e-5, WarmupSteps = 1, Device = device };
        var seconds = names.ToDictionary(n => n, _ => new List<double>());
        for (var round = -1; round < rounds; round++) // round -1 warms every path up and is not recorded
        {
            foreach (var name in names)
            {
                var (strategy, settings) = variants[name];
                var objective = StrategySetup.Create(strategy, settings, steps, proxy, data, validation, options);
                var clock = new Stopwatch();
                long timed = 0;
                new GptTrainer(model, data, options) { Objective = objective }.Run(progress: p =>
                {
                    if (p.Step == 1) clock.Start();
                    else timed++;
                });
                clock.Stop();
                if (round < 0) continue;
                seconds[name].Add(clock.Elapsed.TotalSeconds / timed);
                Console.Error.WriteLine($"round {round + 1}/{rounds} {name,-18} {seconds[name][^1] * 1000,8:F1} ms/step");
            }
        }
        return new Timings(config, model.ParameterCount(), names, seconds);
    }

    /// <summary>Help text of the strategy list's syntax.</summary>
    internal const string VariantSyntax = "a strategy name; meta-em also as meta-em:METHOD[:sequences=N][:validation=N] " +
                                          "(METHOD: auto, differences, forward or exact; see train --meta-gradient)";

    /// <summary>A strategy of the list and its settings: a strategy name, or meta-em with its meta-gradient settings,
    /// e.g. meta-em:forward:sequences=2:validation=2.</summary>
    internal static (string Strategy, StrategySettings Settings) Variant(string spec, StrategySettings settings)
    {
        var parts = spec.Split(':');
        if (!StrategyCatalogue.Names.Contains(parts[0])) throw new ArgumentException($"unknown strategy '{parts[0]}' in '{spec}'");
        if (parts.Length == 1) return (spec, settings);
        if (!StrategyCatalogue.Get(parts[0]).HasMetaUpdate) throw new ArgumentException($"'{spec}': only meta-em takes settings ({VariantSyntax})");
        var meta = settings.Meta with { Method = MetaGradientMethods.Parse(parts[1]) };
        foreach (var part in parts.Skip(2))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2 || !int.TryParse(kv[1], out var n) || n < 1)
                throw new ArgumentException($"'{spec}': '{part}' is not sequences=N or validation=N with N >= 1");
            meta = kv[0] switch
            {
                "sequences" => meta with { Sequences = n },
                "validation" => meta with { ValidationBatch = n },
                _ => throw new ArgumentException($"'{spec}': unknown setting '{kv[0]}' (sequences, validation)"),
            };
        }
        return (parts[0], settings with { Meta = meta.Validate() });
    }

    public static int Run(string preset, int vocab, int batch, int sequence, int steps, int rounds, string[] strategies, string device, string? jsonPath)
    {
        var timings = Measure(preset, vocab, batch, sequence, steps, rounds, strategies, device);
        var (names, seconds) = (timings.Names, timings.Seconds);
        var dev = Device.Parse(device);
        var uniform = timings.Median("uniform");
        Console.WriteLine($"{preset} ({timings.Parameters / 1e6:F1}M parameters), batch {batch}x{sequence} on {dev}, median of {rounds} rounds of {steps - 1} timed steps:");
        foreach (var name in names)
            Console.WriteLine($"  {name,-18} {timings.Median(name) * 1000,9:F1} ms/step   x{timings.Median(name) / uniform:F3} of uniform");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["preset"] = preset, ["parameters"] = timings.Parameters, ["vocab"] = vocab, ["batch"] = batch, ["sequence"] = sequence, ["device"] = device,
                ["steps"] = steps, ["rounds"] = rounds,
                ["strategies"] = names.ToDictionary(n => n, n => new Dictionary<string, object>
                {
                    ["step_seconds_median"] = timings.Median(n), ["step_seconds"] = seconds[n], ["ratio_to_uniform"] = timings.Median(n) / uniform,
                }),
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }
}
