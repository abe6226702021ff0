using System.Text.Json;
using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Xunit;

namespace Reweighting.Cli.Tests;

/// <summary>`reweight lm parity` end to end, in a separate process, on a tiny model exported in the Hugging Face layout
/// with inputs.json and losses.json written here as bench/reference/hf_parity.py writes them (the expected losses are
/// the exported model's own, so the check must pass; one loss moved must fail).</summary>
public sealed class ParityCommandTests : IDisposable
{
    private readonly CliRunner.TempDirectory _dir = new();
    private readonly string _model, _inputs, _losses;
    private readonly float[][] _fp32, _bf16;

    public ParityCommandTests()
    {
        _model = Path.Combine(_dir.Path, "model");
        _inputs = Path.Combine(_dir.Path, "inputs.json");
        _losses = Path.Combine(_dir.Path, "losses.json");
        using var scope = DisposeScope.Open();
        using var gpt = new GptModel(new GptConfig(VocabSize: 97, ContextLength: 32, Layers: 2, Heads: 2, Embedding: 32), seed: 17);
        HuggingFaceGpt2.Export(gpt, _model);
        var rng = new Random(5);
        var ids = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 24).Select(_ => (long)rng.Next(97)).ToArray()).ToArray();
        File.WriteAllText(_inputs, JsonSerializer.Serialize(new { ids }));
        _fp32 = ParityCheck.Score(gpt, ids, Device.Cpu, ParityPrecision.Float32);
        _bf16 = ParityCheck.Score(gpt, ids, Device.Cpu, ParityPrecision.BFloat16);
        WriteLosses(_fp32, _bf16);
    }

    public void Dispose() => _dir.Dispose();

    private void WriteLosses(float[][] float32, float[][] bfloat16) =>
        File.WriteAllText(_losses, JsonSerializer.Serialize(new { float32, bfloat16, torch = "test", transformers = "none (written by the test)", device = "cpu" }));

    private CliRunner.Result Parity(params string[] extra) =>
        CliRunner.Run(["lm", "parity", "--checkpoint", _model, "--inputs", _inputs, "--expected", _losses, .. extra]);

    [Fact]
    public void Losses_the_exported_model_computed_pass_in_both_precisions_and_the_figures_are_written_as_json()
    {
        var report = Path.Combine(_dir.Path, "parity.json");
        var run = Parity("--device", "cpu", "--json", report);
        run.ExitCode.Should().Be(0, run.Stderr + run.Stdout);
        run.Stdout.Should().Contain("float32").And.Contain("bfloat16").And.Contain("pass").And.NotContain("FAIL");
        run.Stdout.Should().Contain("transformers none (written by the test)", "the reference's provenance is shown");

        var json = JsonDocument.Parse(File.ReadAllText(report)).RootElement;
        json.GetProperty("passed").GetBoolean().Should().BeTrue();
        json.GetProperty("device").GetString().Should().Be("cpu");
        foreach (var precision in new[] { "float32", "bfloat16" })
        {
            var p = json.GetProperty(precision);
            p.GetProperty("passed").GetBoolean().Should().BeTrue();
            p.GetProperty("tokens").GetInt64().Should().Be(3 * 23);
            p.GetProperty("max_abs_diff").GetDouble().Should().BeLessThanOrEqualTo(p.GetProperty("tolerance").GetDouble());
        }
        json.GetProperty("float32").GetProperty("tolerance").GetDouble().Should().Be(1e-4);
        json.GetProperty("bfloat16").GetProperty("tolerance").GetDouble().Should().Be(2e-2);
        json.GetProperty("float32").GetProperty("max_abs_diff").GetDouble().Should().BeLessThan(1e-6, "the same model on the same device");
    }

    [Fact]
    public void One_loss_off_by_a_thousandth_fails_with_exit_1_naming_the_precision_and_position()
    {
        var moved = _fp32.Select(r => (float[])r.Clone()).ToArray();
        moved[1][7] += 1e-3f;
        WriteLosses(moved, _bf16);
        var run = Parity("--json", "-");
        run.ExitCode.Should().Be(1, run.Stderr);
        run.Stderr.Should().Contain("parity failed").And.Contain("float32").And.Contain("row 1, position 7").And.NotContain("bfloat16 max");
        var json = JsonDocument.Parse(run.Stdout).RootElement; // --json - leaves stdout to the JSON alone
        json.GetProperty("passed").GetBoolean().Should().BeFalse();
        json.GetProperty("float32").GetProperty("worst").GetProperty("row").GetInt32().Should().Be(1);
        json.GetProperty("bfloat16").GetProperty("passed").GetBoolean().Should().BeTrue();

        // A tighter bf16 tolerance than CPU autocast's rounding fails that precision too.
        WriteLosses(_fp32, _fp32);
        var strict = Parity("--tolerance-bf16", "1e-7");
        strict.ExitCode.Should().Be(1, strict.Stderr);
        strict.Stderr.Should().Contain("bfloat16 max |diff|").And.NotContain("float32 max");
    }

    [Fact]
    public void Missing_or_malformed_inputs_fail_with_a_clear_message_and_exit_2()
    {
        var missing = CliRunner.Run("lm", "parity", "--checkpoint", _model, "--inputs", _inputs, "--expected", Path.Combine(_dir.Path, "nope.json"));
        missing.ExitCode.Should().Be(2);
        missing.Stderr.Should().Contain("file not found").And.Contain("nope.json");

        var noModel = CliRunner.Run("lm", "parity", "--checkpoint", Path.Combine(_dir.Path, "absent"), "--inputs", _inputs, "--expected", _losses);
        noModel.ExitCode.Should().Be(2);
        noModel.Stderr.Should().Contain("checkpoint directory not found");

        File.Delete(Path.Combine(_model, "model.safetensors"));
        var noWeights = Parity();
        noWeights.ExitCode.Should().Be(2);
        noWeights.Stderr.Should().Contain("model.safetensors");

        File.WriteAllText(_losses, "{\"float32\": [[1.0]]}");
        var noBf16 = Parity();
        noBf16.ExitCode.Should().Be(2);
        noBf16.Stderr.Should().Contain("'bfloat16'");

        var badDevice = Parity("--device", "gpu");
        badDevice.ExitCode.Should().Be(2);
        badDevice.Stderr.Should().Contain("not a device");
    }

    [Fact]
    public void A_reference_of_another_shape_or_ids_outside_the_vocabulary_are_refused()
    {
        WriteLosses(_fp32.Select(r => r[..^2]).ToArray(), _bf16);
        var shape = Parity();
        shape.ExitCode.Should().Be(2);
        shape.Stderr.Should().Contain("float32[0]").And.Contain("21 losses").And.Contain("23 predictions");

        WriteLosses(_fp32, _bf16);
        File.WriteAllText(_inputs, "{\"ids\": [[1, 2, 500]]}");
        var vocab = Parity();
        vocab.ExitCode.Should().Be(2);
        vocab.Stderr.Should().Contain("ids[0][2] = 500");
    }
}
