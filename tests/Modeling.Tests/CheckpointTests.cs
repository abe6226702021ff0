using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using Reweighting.Modeling.Checkpoints;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Optim;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

public sealed class CheckpointTests
{
    private static readonly GptConfig Tiny = GptConfig.Preset("tiny", vocabSize: 40);

    [Fact]
    public void A_saved_checkpoint_loads_bit_exact_with_its_config_and_tokenizer_files()
    {
        using var dir = new TestSupport.TempDirectory();
        using var tok = new TestSupport.TempDirectory();
        File.WriteAllText(Path.Combine(tok.Path, "tokenizer.json"), "{\"model\":{}}");
        using var model = new GptModel(Tiny with { Dropout = 0.1 }, seed: 5);
        var ckpt = Path.Combine(dir.Path, "ckpt");
        Checkpoint.Save(ckpt, model, tok.Path);

        Directory.GetFiles(ckpt).Select(Path.GetFileName).Should().BeEquivalentTo(["config.json", "model.safetensors", "tokenizer.json"]);
        File.ReadAllText(Path.Combine(ckpt, "config.json")).Should().Contain("\"n_embd\": 64").And.Contain("\"vocab_size\": 40");
        using var loaded = Checkpoint.LoadModel(ckpt);
        loaded.Config.Should().Be(model.Config);
        foreach (var (name, t) in model.StateDict())
            loaded.StateDict()[name].ToBytes().Should().Equal(t.ToBytes(), name);
    }

    [Fact]
    public void Saving_over_an_existing_checkpoint_replaces_it_and_leaves_no_staging_directories()
    {
        using var dir = new TestSupport.TempDirectory();
        var ckpt = Path.Combine(dir.Path, "ckpt");
        using var a = new GptModel(Tiny, seed: 1);
        using var b = new GptModel(Tiny, seed: 2);
        Checkpoint.Save(ckpt, a);
        Checkpoint.Save(ckpt, b);
        using var loaded = Checkpoint.LoadModel(ckpt);
        loaded.StateDict()["wte.weight"].ToBytes().Should().Equal(b.StateDict()["wte.weight"].ToBytes());
        Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Should().Equal("ckpt");
    }

    [Fact]
    public void Loading_into_a_different_architecture_is_refused()
    {
        using var dir = new TestSupport.TempDirectory();
        using var model = new GptModel(Tiny);
        Checkpoint.Save(dir.Path, model);
        using var other = new GptModel(Tiny with { Layers = 3 });
        Assert.Throws<InvalidDataException>(() => Checkpoint.LoadWeightsInto(dir.Path, other)).Message.Should().Contain("different architecture");
    }

    [Fact]
    public void Optimizer_state_and_step_round_trip()
    {
        using var dir = new TestSupport.TempDirectory();
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Tiny);
        using var opt = new AdamW(model.Parameters().ToList(), 1e-3);
        model.TokenLosses(Ones([1, 4], ScalarType.Int64), Ones([1, 4], ScalarType.Int64)).Mean().Backward();
        opt.Step();
        opt.Step();
        Checkpoint.Save(dir.Path, model, optimizer: opt, state: new TrainingState(2, 8, "{\"steps\":2}"));
        using var opt2 = new AdamW(model.Parameters().ToList(), 1e-3);
        var state = Checkpoint.LoadTrainingState(dir.Path, opt2)!;
        state.Step.Should().Be(2);
        state.RunConfig.Should().Be("{\"steps\":2}");
        opt2.StepCount.Should().Be(2);
        var (_, a) = opt.StateDict();
        var (_, b) = opt2.StateDict();
        foreach (var (name, t) in a) b[name].ToBytes().Should().Equal(t.ToBytes(), name);
    }

    [Fact]
    public void Safetensors_files_follow_the_published_layout()
    {
        using var dir = new TestSupport.TempDirectory();
        var path = Path.Combine(dir.Path, "x.safetensors");
        using var a = FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        using var b = FromArray(new long[] { 7 });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["b"] = b, ["a"] = a }, new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        (headerLength % 8).Should().Be(0);
        var header = Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd(' ');
        header.Should().Contain("\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}");
        header.Should().Contain("\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]}");
        header.Should().Contain("\"__metadata__\":{\"format\":\"pt\"}");
        BitConverter.ToSingle(bytes, 8 + headerLength + 4).Should().Be(2f);
        bytes.Length.Should().Be(8 + headerLength + 32);
        var (loaded, meta) = SafeTensors.Load(path);
        loaded["a"].ToArray<float>().Should().Equal(1, 2, 3, 4, 5, 6);
        loaded["b"].ToArray<long>().Should().Equal(7);
        meta["format"].Should().Be("pt");
    }

    [Fact]
    public void Truncated_or_corrupted_safetensors_fail_with_a_clear_error()
    {
        using var dir = new TestSupport.TempDirectory();
        var path = Path.Combine(dir.Path, "m.safetensors");
        using var model = new GptModel(Tiny);
        SafeTensors.Save(path, model.StateDict());
        var good = File.ReadAllBytes(path);

        void Expect(byte[] content, string fragment)
        {
            var bad = Path.Combine(dir.Path, "bad.safetensors");
            File.WriteAllBytes(bad, content);
            Assert.Throws<InvalidDataException>(() => SafeTensors.Load(bad)).Message.Should().Contain(fragment);
        }

        Expect(good[..(good.Length - 100)], "truncated");
        Expect(good[..5], "fewer than the 8-byte header");
        var hugeHeader = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(hugeHeader, 1UL << 40);
        Expect(hugeHeader, "exceeds the file");
        var garbled = (byte[])good.Clone();
        garbled[8] = (byte)'#'; // the opening brace
        Expect(garbled, "not valid JSON");
        var wrongSize = Encoding.UTF8.GetBytes("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}");
        var file = new byte[8 + wrongSize.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)wrongSize.Length);
        wrongSize.CopyTo(file, 8);
        Expect(file, "needs 8");
        Assert.Throws<FileNotFoundException>(() => Checkpoint.LoadModel(Path.Combine(dir.Path, "absent")));
    }

    [Fact]
    public void Config_json_uses_gpt2_names_and_rejects_nonsense()
    {
        var config = GptConfig.FromJson(Tiny.ToJson());
        config.Should().Be(Tiny);
        GptConfig.FromJson("{\"vocab_size\":10,\"n_ctx\":8,\"n_layer\":1,\"n_head\":2,\"n_embd\":4}").ContextLength.Should().Be(8);
        Assert.Throws<ArgumentException>(() => GptConfig.FromJson("{\"vocab_size\":10,\"n_positions\":8,\"n_layer\":1,\"n_head\":3,\"n_embd\":4}"))
            .Message.Should().Contain("multiple of n_head");
        Assert.Throws<InvalidDataException>(() => GptConfig.FromJson("{\"vocab_size\":10}")).Message.Should().Contain("n_positions");
        Assert.Throws<InvalidDataException>(() => GptConfig.FromJson("not json"));
        Assert.Throws<ArgumentException>(() => GptConfig.Preset("gpt5", 10)).Message.Should().Contain("tiny");
    }
}

public sealed class HuggingFaceImportTests
{
    [Fact]
    public void A_hugging_face_gpt2_checkpoint_imports_with_transposed_conv1d_weights_and_a_tied_head()
    {
        using var dir = new TestSupport.TempDirectory();
        using var scope = DisposeScope.Open();
        var config = new GptConfig(VocabSize: 30, ContextLength: 16, Layers: 2, Heads: 2, Embedding: 8);
        using var source = new GptModel(config, seed: 21);
        source.Eval();

        // This test's own writer of the Hugging Face layout: "transformer." names, Conv1D weights as (in, out),
        // the causal-mask buffers old checkpoints carry, and an lm_head equal to wte.
        var hf = new Dictionary<string, Tensor>();
        foreach (var (name, t) in source.StateDict())
        {
            var conv1d = name.EndsWith("c_attn.weight") || name.EndsWith("c_proj.weight") || name.EndsWith("c_fc.weight");
            hf["transformer." + name] = conv1d ? t.Transpose(0, 1).Contiguous() : t;
        }
        hf["transformer.h.0.attn.bias"] = Ones([1, 1, 16, 16]).Tril();
        hf["lm_head.weight"] = source.TokenEmbedding.Weight;
        SafeTensors.Save(Path.Combine(dir.Path, "model.safetensors"), hf);
        File.WriteAllText(Path.Combine(dir.Path, "config.json"),
            "{\"architectures\":[\"GPT2LMHeadModel\"],\"model_type\":\"gpt2\",\"vocab_size\":30,\"n_positions\":16,\"n_ctx\":16," +
            "\"n_layer\":2,\"n_head\":2,\"n_embd\":8,\"activation_function\":\"gelu_new\",\"layer_norm_epsilon\":1e-05,\"resid_pdrop\":0.1}");

        using var imported = HuggingFaceGpt2.Import(dir.Path);
        imported.Eval();
        imported.StateDict()["h.1.attn.c_attn.weight"].Shape.Should().Equal(24, 8);
        var ids = FromArray(new long[] { 3, 1, 4, 1, 5, 9, 2, 6 }, 2, 4);
        imported.Forward(ids).ToArray<float>().Should().Equal(source.Forward(ids).ToArray<float>());

        // A non-square Conv1D left untransposed would not even load; a wrongly transposed square one changes outputs.
        var broken = new Dictionary<string, Tensor>(hf) { ["transformer.h.0.attn.c_proj.weight"] = source.StateDict()["h.0.attn.c_proj.weight"] };
        SafeTensors.Save(Path.Combine(dir.Path, "model.safetensors"), broken);
        using var wrong = HuggingFaceGpt2.Import(dir.Path);
        wrong.Eval();
        wrong.Forward(ids).ToArray<float>().Should().NotEqual(source.Forward(ids).ToArray<float>());

        var untied = new Dictionary<string, Tensor>(hf) { ["lm_head.weight"] = Zeros([30, 8]) };
        SafeTensors.Save(Path.Combine(dir.Path, "model.safetensors"), untied);
        Assert.Throws<InvalidDataException>(() => HuggingFaceGpt2.Import(dir.Path)).Message.Should().Contain("tied");
    }
}

public sealed class TokenWindowTests
{
    [Theory]
    [InlineData(10, 4, 4)]
    [InlineData(10, 4, 2)]
    [InlineData(5, 8, 8)]
    [InlineData(17, 6, 1)]
    public void Every_prediction_of_a_long_document_is_scored_exactly_once(int length, int context, int stride)
    {
        var tokens = Enumerable.Range(100, length).Select(i => (long)i).ToArray();
        var windows = TokenWindows.Plan(tokens, context, stride).ToList();
        var scored = new List<long>();
        foreach (var w in windows)
        {
            w.Inputs.Length.Should().BeLessOrEqualTo(context);
            for (var i = 0; i < w.Inputs.Length; i++)
            {
                if (w.Targets[i] == GptModel.IgnoreIndex) continue;
                w.Targets[i].Should().Be(w.Inputs[i] + 1, "the target is the next token");
                scored.Add(w.Targets[i]);
            }
        }
        scored.Should().Equal(tokens.Skip(1), "each of the L-1 next-token predictions once, in order");
        if (stride < context && windows.Count > 1)
            windows[1].Targets.Take(context - stride).Should().OnlyContain(t => t == GptModel.IgnoreIndex, "overlap is context only");
    }

    [Fact]
    public void Windowed_scoring_equals_whole_document_scoring_when_the_document_fits()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(GptConfig.Preset("tiny", 20), seed: 9);
        model.Eval();
        long[] tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var whole = model.TokenLosses(FromArray(tokens[..^1], 1, 9), FromArray(tokens[1..], 1, 9)).ToArray<float>();
        var windows = TokenWindows.Plan(tokens, context: 4, stride: 4).Concat(TokenWindows.Plan([3, 1], 4, 4, document: 1)).ToList();
        var (inputs, targets, length) = TokenWindows.Pack(windows);
        var losses = model.TokenLosses(FromArray(inputs, windows.Count, length), FromArray(targets, windows.Count, length)).ToArray<float>();
        // The first window sees the same prefix as the whole-document pass.
        losses.Take(4).Should().Equal(whole.Take(4));
        losses.Where((_, i) => targets[i] != GptModel.IgnoreIndex).Count().Should().Be(9 + 1);
    }

    [Fact]
    public void Documents_of_fewer_than_two_tokens_have_no_predictions_and_bad_strides_are_rejected()
    {
        TokenWindows.Plan([5], 4, 4).Should().BeEmpty();
        TokenWindows.Plan([], 4, 4).Should().BeEmpty();
        Assert.Throws<ArgumentOutOfRangeException>(() => TokenWindows.Plan([1, 2], 4, 5).ToList());
    }
}
