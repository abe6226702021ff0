using System.Diagnostics;
using System.Text.Json;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.NN;
using Reweighting.Torch.Optim;
using static Reweighting.Torch.Torch;

namespace Reweighting.Cli.Bench;

/// <summary>Forward-only scoring and training throughput (tokens/s) of a GPT preset; bench/model.bench.sh runs the
/// same model and batch in bench/reference/gpt_reference.py and reports the ratios.</summary>
internal static class ModelBenchmark
{
    public static int Run(string preset, int vocab, int batch, int sequence, int repeats, string device, string? jsonPath)
    {
        var dev = Device.Parse(device);
        var config = GptConfig.Preset(preset, vocab) with { Dropout = 0 };
        if (sequence > config.ContextLength) throw new ArgumentException($"--seq {sequence} exceeds the preset's context {config.ContextLength}");
        using var model = new GptModel(config);
        model.To(dev);
        using var g = new Generator(0);
        using var ids = RandInt(0, vocab, [batch, sequence], g).To(dev);
        using var targets = RandInt(0, vocab, [batch, sequence], g).To(dev);
        var tokens = (double)batch * sequence;
        var autocast = dev.Type == DeviceType.Cuda;

        model.Eval();
        double ScoreOnce()
        {
            using var scope = DisposeScope.Open();
            using var noGrad = NoGrad();
            using (autocast ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
                return model.TokenLosses(ids, targets).Sum().ToDouble();
        }
        ScoreOnce();
        var scoring = tokens / MedianSeconds(repeats, () => ScoreOnce());

        model.Train();
        var (decay, noDecay) = model.DecayGroups();
        using var opt = new AdamW([new ParamGroup(decay, 1e-4, 0.1, 0.9, 0.95), new ParamGroup(noDecay, 1e-4, 0.0, 0.9, 0.95)]);
        var parameters = model.Parameters().ToList();
        void TrainOnce()
        {
            using var scope = DisposeScope.Open();
            Tensor loss;
            using (autocast ? Autocast(DeviceType.Cuda) : default(AutocastScope?))
                loss = model.TokenLosses(ids, targets).Mean();
            opt.ZeroGrad();
            loss.Backward();
            GradientClipping.ClipGradNorm(parameters, 1.0);
            opt.Step();
            _ = loss.ToDouble();
        }
        TrainOnce();
        var training = tokens / MedianSeconds(repeats, TrainOnce);

        Console.WriteLine($"{preset} ({model.ParameterCount() / 1e6:F1}M parameters), batch {batch}x{sequence} on {dev}:");
        Console.WriteLine($"  scoring  {scoring,12:F0} tokens/s (forward only, per-token losses)");
        Console.WriteLine($"  training {training,12:F0} tokens/s (forward, backward, clipping, AdamW)");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["preset"] = preset, ["parameters"] = model.ParameterCount(), ["batch"] = batch, ["sequence"] = sequence, ["device"] = dev.ToString(),
                ["threads"] = NumThreads, ["scoring_tokens_per_s"] = scoring, ["training_tokens_per_s"] = training,
            }));
        return 0;
    }

    /// <summary>The median wall time of <paramref name="repeats"/> runs of <paramref name="action"/>.</summary>
    internal static double MedianSeconds(int repeats, Action action)
    {
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
