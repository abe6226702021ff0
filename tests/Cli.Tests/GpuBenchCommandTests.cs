using System.Text.Json;
using FluentAssertions;
using Reweighting.Cli.Bench;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight bench gpu` runs its whole measurement on the CPU (tiny models), so the code that a GPU run uses is
/// exercised here; on this machine asking for cuda fails with the shim's clear message.</summary>
public sealed class GpuBenchCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_cpu_run_reports_scorer_and_trainer_throughput_overheads_and_mfu()
    {
        var json = Path.Combine(_dir.Path, "gpu.json");
        var result = CliRunner.RunWithin(TimeSpan.FromMinutes(4), "bench", "gpu", "--device", "cpu", "--vocab", "256", "--seq", "32",
            "--scorer-preset", "tiny", "--scorer-batch", "2", "--repeats", "2", "--trainer-preset", "tiny", "--trainer-batch", "2",
            "--steps", "3", "--rounds", "1", "--strategies", "linupper,meta-em,meta-em:forward:sequences=1:validation=1", "--peak-tflops", "2", "--json", json);
        result.ExitCode.Should().Be(0, (result.Stdout + result.Stderr));
        (result.Stdout + result.Stderr).Should().Contain("scorer  tiny").And.Contain("uniform").And.Contain("meta-em").And.Contain("MFU");

        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        root.GetProperty("device").GetString().Should().Be("cpu");
        root.GetProperty("precision").GetString().Should().Be("float32");
        root.GetProperty("peak_bf16_tflops").GetDouble().Should().Be(2);
        var scoring = root.GetProperty("scoring");
        var rate = scoring.GetProperty("tokens_per_s").GetDouble();
        rate.Should().BePositive();
        scoring.GetProperty("mfu").GetDouble().Should().BeApproximately(rate * scoring.GetProperty("flops_per_token").GetDouble() / 2e12, 1e-12);
        var strategies = root.GetProperty("training").GetProperty("strategies");
        strategies.EnumerateObject().Select(p => p.Name).Should().Equal("uniform", "linupper", "meta-em", "meta-em:forward:sequences=1:validation=1");
        strategies.GetProperty("uniform").GetProperty("overhead_vs_uniform").GetDouble().Should().Be(0);
        var uniformSeconds = strategies.GetProperty("uniform").GetProperty("step_seconds").GetDouble();
        var meta = strategies.GetProperty("meta-em");
        meta.GetProperty("overhead_vs_uniform").GetDouble().Should().BeApproximately(meta.GetProperty("step_seconds").GetDouble() / uniformSeconds - 1, 1e-9);
        meta.GetProperty("tokens_per_s").GetDouble().Should().BeApproximately(2 * 32 / meta.GetProperty("step_seconds").GetDouble(), 1e-6);
    }

    [Fact]
    public void Cuda_with_a_cpu_only_shim_and_bad_sizes_fail_with_a_clear_message()
    {
        var cuda = CliRunner.Run("bench", "gpu", "--device", "cuda");
        cuda.ExitCode.Should().Be(1);
        (cuda.Stdout + cuda.Stderr).Should().Contain("CPU-only libtorch");
        var bad = CliRunner.Run("bench", "gpu", "--device", "cpu", "--repeats", "0");
        bad.ExitCode.Should().Be(1);
        (bad.Stdout + bad.Stderr).Should().Contain("--repeats");
        var help = CliRunner.Run("bench", "gpu", "--help");
        help.ExitCode.Should().Be(0);
        (help.Stdout + help.Stderr).Should().Contain("--peak-tflops");
    }

    [Fact]
    public void Meta_em_variants_parse_into_its_settings_and_bad_ones_are_named()
    {
        var settings = new Commands.StrategySettings();
        var (name, parsed) = StrategyBenchmark.Variant("meta-em:forward:sequences=2:validation=3", settings);
        name.Should().Be("meta-em");
        parsed.Meta.Should().Be(settings.Meta with { Method = MetaEm.MetaGradientMethod.Forward, Sequences = 2, ValidationBatch = 3 });
        StrategyBenchmark.Variant("linupper", settings).Should().Be(("linupper", settings));
        foreach (var (spec, message) in new[]
                 {
                     ("meta-em:jvp", "*jvp*"), ("linupper:forward", "*only meta-em*"), ("meta-em:forward:sequences=0", "*sequences=0*"),
                     ("meta-em:forward:batch=2", "*unknown setting 'batch'*"), ("meta-em:exact:sequences=2", "*no subset*"), ("nope", "*unknown strategy 'nope'*"),
                 })
        {
            var act = () => StrategyBenchmark.Variant(spec, settings);
            act.Should().Throw<ArgumentException>().WithMessage(message, spec);
        }
    }

    [Theory]
    [InlineData("NVIDIA H200", 989.4)]
    [InlineData("NVIDIA H100 80GB HBM3", 989.4)]
    [InlineData("NVIDIA H100 PCIe", 756.5)]
    [InlineData("NVIDIA A100-SXM4-80GB", 312)]
    [InlineData("NVIDIA L40S", 362.05)]
    [InlineData("NVIDIA L4", 121)]
    public void The_datasheet_peak_is_found_by_the_gpu_name(string name, double tflops) => Accelerator.PeakFor(name).Should().Be(tflops);

    [Fact]
    public void An_unknown_card_has_no_peak_and_nvidia_smi_lines_parse()
    {
        Accelerator.PeakFor("Tesla V100-SXM2-16GB").Should().BeNull();
        Accelerator.PeakFor(null).Should().BeNull();
        Accelerator.ParseQuery("NVIDIA H200, 580.159.04, 143771").Should().Be(((string, string, long?))("NVIDIA H200", "580.159.04", 143771L));
        Accelerator.ParseQuery("").Should().BeNull();
    }
}
