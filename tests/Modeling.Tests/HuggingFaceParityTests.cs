using System.Text.Json;
using System.Text.Json.Nodes;
using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

/// <summary>The Hugging Face GPT-2 layout (export, import) and the parity check that compares an imported model with
/// transformers' losses. transformers itself is not needed: these tests pin the layout round trip and that the check
/// passes and fails when it should; bench/reference/hf_parity.py supplies the real reference on a machine with it.</summary>
public sealed class HuggingFaceParityTests
{
    private static readonly GptConfig Tiny = new(VocabSize: 97, ContextLength: 32, Layers: 2, Heads: 2, Embedding: 32);

    /// <summary>A tiny model whose biases and LayerNorm parameters are not at their initial zeros and ones, so a bias or
    /// LayerNorm parameter loaded into the wrong place changes the losses.</summary>
    private static GptModel PerturbedModel(ulong seed)
    {
        var model = new GptModel(Tiny, seed);
        using var g = new Generator(seed + 100);
        using var noGrad = NoGrad();
        foreach (var (name, p) in model.NamedParameters())
        {
            if (name.EndsWith(".bias", StringComparison.Ordinal) || name.Contains("ln_", StringComparison.Ordinal))
            {
                using var noise = Empty(p.Shape).NormalInPlace(0, 0.05, g);
                p.AddInPlace(noise);
            }
        }
        model.Eval();
        return model;
    }

    private static long[][] RandomIds(int rows, int length, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, rows).Select(_ => Enumerable.Range(0, length).Select(_ => (long)rng.Next(Tiny.VocabSize)).ToArray()).ToArray();
    }

    private static float[][] Fp32(GptModel model, long[][] ids) => ParityCheck.Score(model, ids, Device.Cpu, ParityPrecision.Float32);

    [Fact]
    public void Export_then_import_reproduces_every_parameter_bit_exactly_and_the_same_token_losses()
    {
        using var dir = new TestSupport.TempDirectory();
        using var scope = DisposeScope.Open();
        using var source = PerturbedModel(5);
        HuggingFaceGpt2.Export(source, dir.Path);

        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "config.json")))!.AsObject();
        config["model_type"]!.GetValue<string>().Should().Be("gpt2");
        config["architectures"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Equal("GPT2LMHeadModel");
        config["activation_function"]!.GetValue<string>().Should().Be("gelu_new");
        config["n_embd"]!.GetValue<int>().Should().Be(32);
        config["n_layer"]!.GetValue<int>().Should().Be(2);
        config["n_head"]!.GetValue<int>().Should().Be(2);
        config["n_positions"]!.GetValue<int>().Should().Be(32);
        config["vocab_size"]!.GetValue<int>().Should().Be(97);
        config["layer_norm_epsilon"]!.GetValue<double>().Should().Be(1e-5);

        var (written, metadata) = SafeTensors.Load(Path.Combine(dir.Path, "model.safetensors"));
        metadata.Should().Contain("format", "pt", "transformers refuses safetensors files without format metadata");
        written.Keys.Should().OnlyContain(k => k.StartsWith("transformer.")).And.NotContain("lm_head.weight", "the head is tied, as save_pretrained writes it");
        written.Keys.Should().HaveCount(source.StateDict().Count);
        written["transformer.h.0.attn.c_attn.weight"].Shape.Should().Equal([32, 96], "Conv1D stores (in, out)");
        written["transformer.h.1.mlp.c_fc.weight"].Shape.Should().Equal([32, 128]);
        written["transformer.h.1.mlp.c_proj.weight"].Shape.Should().Equal([128, 32]);
        written["transformer.wte.weight"].Shape.Should().Equal([97, 32]);
        foreach (var t in written.Values) t.Dispose();

        using var imported = HuggingFaceGpt2.Import(dir.Path);
        imported.Eval();
        imported.Config.Should().Be(source.Config);
        var original = source.StateDict();
        foreach (var (name, p) in imported.StateDict())
            p.ToBytes().Should().Equal(original[name].ToBytes(), $"{name} must survive the round trip bit for bit");
        var ids = RandomIds(3, 32, 1);
        var expected = Fp32(source, ids);
        var actual = Fp32(imported, ids);
        for (var r = 0; r < ids.Length; r++) actual[r].Should().Equal(expected[r], $"row {r}'s losses");
    }

    [Fact]
    public void A_checkpoint_in_the_hugging_face_layout_scores_like_the_original_and_a_missing_transpose_would_show()
    {
        using var dir = new TestSupport.TempDirectory();
        using var scope = DisposeScope.Open();
        using var source = PerturbedModel(7);

        // This test's own writer of what save_pretrained produces, independent of Export: "transformer." names and every
        // Conv1D weight as (in, out). The square ones (c_proj of attention) are not symmetric, so leaving them
        // untransposed loads without complaint and computes something else.
        var hf = new Dictionary<string, Tensor>();
        var untransposed = new Dictionary<string, Tensor>();
        foreach (var (name, t) in source.StateDict())
        {
            var conv1d = name.EndsWith(".c_attn.weight") || name.EndsWith(".c_proj.weight") || name.EndsWith(".c_fc.weight");
            hf["transformer." + name] = conv1d ? t.Transpose(0, 1).Contiguous() : t;
            if (name.EndsWith(".attn.c_proj.weight"))
            {
                t.Sub(t.Transpose(0, 1)).Abs().Max().ToDouble().Should().BeGreaterThan(1e-3, $"{name} must not be symmetric for this test to mean anything");
                untransposed["transformer." + name] = t;
            }
        }
        SafeTensors.Save(Path.Combine(dir.Path, "model.safetensors"), hf);
        File.WriteAllText(Path.Combine(dir.Path, "config.json"), JsonSerializer.Serialize(new
        {
            architectures = new[] { "GPT2LMHeadModel" }, model_type = "gpt2", vocab_size = 97, n_positions = 32, n_ctx = 32, n_layer = 2, n_head = 2,
            n_embd = 32, n_inner = (int?)null, activation_function = "gelu_new", layer_norm_epsilon = 1e-5, resid_pdrop = 0.1, tie_word_embeddings = true,
        }));

        var ids = RandomIds(2, 24, 2);
        var expected = Fp32(source, ids);
        using (var imported = HuggingFaceGpt2.Import(dir.Path))
        {
            var parity = ParityCheck.Compare(ParityPrecision.Float32, Fp32(imported, ids), expected, ParityCheck.Float32Tolerance);
            parity.Passed.Should().BeTrue($"max |diff| {parity.MaxAbsDiff}");
            parity.MaxAbsDiff.Should().BeLessThan(1e-6);
        }

        SafeTensors.Save(Path.Combine(dir.Path, "model.safetensors"), new Dictionary<string, Tensor>(hf.Concat(untransposed).GroupBy(kv => kv.Key).Select(g => g.Last())));
        using var wrong = HuggingFaceGpt2.Import(dir.Path);
        var broken = ParityCheck.Compare(ParityPrecision.Float32, Fp32(wrong, ids), expected, ParityCheck.Float32Tolerance);
        broken.Passed.Should().BeFalse("attention projections loaded untransposed compute different losses");
        broken.MaxAbsDiff.Should().BeGreaterThan(100 * ParityCheck.Float32Tolerance);
    }

    [Fact]
    public void Losses_the_original_model_computed_pass_and_one_loss_off_by_a_thousandth_fails_at_its_position()
    {
        using var scope = DisposeScope.Open();
        using var model = PerturbedModel(11);
        var ids = RandomIds(3, 20, 3);
        var expected = Fp32(model, ids);
        var reference = new ParityReference(new Dictionary<ParityPrecision, float[][]>
        {
            [ParityPrecision.Float32] = expected,
            [ParityPrecision.BFloat16] = expected,
        }, new Dictionary<string, string>());
        var tolerances = new Dictionary<ParityPrecision, double>
        {
            [ParityPrecision.Float32] = ParityCheck.Float32Tolerance,
            [ParityPrecision.BFloat16] = ParityCheck.BFloat16Tolerance,
        };

        var results = ParityCheck.Run(model, ids, reference, Device.Cpu, tolerances);
        results.Select(r => r.Precision).Should().Equal(ParityPrecision.Float32, ParityPrecision.BFloat16);
        results.Should().OnlyContain(r => r.Passed);
        results[0].MaxAbsDiff.Should().BeLessThan(1e-6, "the same model on the same device scores the same");
        results[0].Tokens.Should().Be(3 * 19);

        var perturbed = expected.Select(r => (float[])r.Clone()).ToArray();
        perturbed[2][13] += 1e-3f;
        var failed = ParityCheck.Compare(ParityPrecision.Float32, Fp32(model, ids), perturbed, ParityCheck.Float32Tolerance);
        failed.Passed.Should().BeFalse();
        (failed.WorstRow, failed.WorstPosition).Should().Be((2, 13));
        failed.MaxAbsDiff.Should().BeApproximately(1e-3, 1e-5);
        failed.WorstExpected.Should().Be(perturbed[2][13]);
        failed.MeanAbsDiff.Should().BeApproximately(1e-3 / (3 * 19), 1e-6);

        perturbed[0][4] = float.NaN;
        var nan = ParityCheck.Compare(ParityPrecision.Float32, Fp32(model, ids), perturbed, ParityCheck.Float32Tolerance);
        nan.Passed.Should().BeFalse("a NaN is never within tolerance");
        (nan.WorstRow, nan.WorstPosition).Should().Be((0, 4));

        var shorter = expected.Select(r => r[..^1]).ToArray();
        Assert.Throws<InvalidDataException>(() => ParityCheck.Compare(ParityPrecision.Float32, Fp32(model, ids), shorter, 1e-4))
            .Message.Should().Contain("18 losses").And.Contain("19 predictions");
    }

    [Fact]
    public void Bfloat16_autocast_on_the_cpu_rounds_but_stays_within_the_bf16_tolerance_of_float32()
    {
        using var scope = DisposeScope.Open();
        using var model = PerturbedModel(13);
        var ids = RandomIds(4, 32, 4);
        var fp32 = Fp32(model, ids);
        var bf16 = ParityCheck.Score(model, ids, Device.Cpu, ParityPrecision.BFloat16);
        var parity = ParityCheck.Compare(ParityPrecision.BFloat16, bf16, fp32, ParityCheck.BFloat16Tolerance);
        parity.MaxAbsDiff.Should().BeGreaterThan(0, "autocast must actually compute in bfloat16, or this compares float32 with itself");
        parity.Passed.Should().BeTrue($"bfloat16 differs from float32 by at most {parity.MaxAbsDiff} (row {parity.WorstRow}, position {parity.WorstPosition})");
    }

    [Fact]
    public void Reference_files_read_as_hf_parity_writes_them_and_malformed_ones_name_the_problem()
    {
        using var dir = new TestSupport.TempDirectory();
        var inputs = Path.Combine(dir.Path, "inputs.json");
        File.WriteAllText(inputs, "{\"ids\": [[1, 2, 3], [4, 5, 6]]}");
        ParityCheck.ReadInputs(inputs).Should().BeEquivalentTo(new[] { new long[] { 1, 2, 3 }, [4, 5, 6] }, o => o.WithStrictOrdering());
        File.WriteAllText(inputs, "[[7, 8]]");
        ParityCheck.ReadInputs(inputs).Should().BeEquivalentTo(new[] { new long[] { 7, 8 } });

        var losses = Path.Combine(dir.Path, "losses.json");
        File.WriteAllText(losses, "{\"float32\": [[10.5, 10.25]], \"bfloat16\": [[10.5, 10.0]], \"torch\": \"2.11.0+cu128\", " +
                                  "\"transformers\": \"5.17.0\", \"attn_implementation\": \"sdpa\", \"seed\": 1234, \"tf32\": {\"matmul\": \"ieee\"}}");
        var reference = ParityCheck.ReadReference(losses);
        reference.Losses[ParityPrecision.Float32][0].Should().Equal(10.5f, 10.25f);
        reference.Losses[ParityPrecision.BFloat16][0].Should().Equal(10.5f, 10.0f);
        reference.Provenance.Should().Contain("transformers", "5.17.0").And.Contain("attn_implementation", "sdpa").And.Contain("seed", "1234");

        void Refused(string path, string content, string expected)
        {
            File.WriteAllText(path, content);
            var e = Assert.Throws<InvalidDataException>(() =>
            {
                if (path == inputs) ParityCheck.ReadInputs(path);
                else ParityCheck.ReadReference(path);
            });
            e.Message.Should().Contain(path).And.Contain(expected);
        }
        Refused(inputs, "{\"ids\": [[1, 2], [3]]}", "differ in length");
        Refused(inputs, "{\"ids\": [[1]]}", "at least two");
        Refused(inputs, "{\"ids\": [[1, 2.5]]}", "ids[0]");
        Refused(inputs, "{\"ids\": ", "not valid JSON");
        Refused(losses, "{\"float32\": [[1.0]]}", "'bfloat16'");
        Refused(losses, "{\"float32\": [[1.0]], \"bfloat16\": [[\"x\"]]}", "bfloat16[0]");

        Assert.Throws<ArgumentException>(() => ParityCheck.Validate(Tiny, [[1, 97]])).Message.Should().Contain("ids[0][1] = 97");
        Assert.Throws<ArgumentException>(() => ParityCheck.Validate(Tiny, [new long[33]])).Message.Should().Contain("context length 32");
    }

    [Fact]
    public void Gpt2_variants_this_model_does_not_compute_are_refused_on_import()
    {
        using var dir = new TestSupport.TempDirectory();
        using var scope = DisposeScope.Open();
        using var source = new GptModel(Tiny, 3);
        HuggingFaceGpt2.Export(source, dir.Path);
        var path = Path.Combine(dir.Path, "config.json");
        var exported = File.ReadAllText(path);
        foreach (var (field, value, message) in new[]
                 {
                     ("n_inner", (JsonNode)64, "n_inner 64"),
                     ("scale_attn_weights", false, "scale_attn_weights"),
                     ("scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx"),
                     ("add_cross_attention", true, "add_cross_attention"),
                 })
        {
            var config = JsonNode.Parse(exported)!.AsObject();
            config[field] = value;
            File.WriteAllText(path, config.ToJsonString());
            Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(dir.Path)).Message.Should().Contain(message);
        }
        var inner = JsonNode.Parse(exported)!.AsObject();
        inner["n_inner"] = 128; // 4 × n_embd, written out
        File.WriteAllText(path, inner.ToJsonString());
        using var model = HuggingFaceGpt2.Import(dir.Path);
        model.Config.Should().Be(source.Config);
    }
}
