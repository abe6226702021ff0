using FluentAssertions;
using Reweighting.Modeling.Gpt;
using Reweighting.Torch;
using Reweighting.Torch.Optim;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Modeling.Tests;

public sealed class GptModelTests
{
    private static readonly GptConfig Tiny = GptConfig.Preset("tiny", vocabSize: 50);

    [Fact]
    public void The_tiny_preset_has_gpt2_shapes_and_a_tied_head()
    {
        using var model = new GptModel(Tiny);
        var names = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Shape);
        names["wte.weight"].Should().Equal(50, 64);
        names["wpe.weight"].Should().Equal(64, 64);
        names["h.0.attn.c_attn.weight"].Should().Equal(192, 64);
        names["h.1.mlp.c_fc.weight"].Should().Equal(256, 64);
        names["h.1.mlp.c_proj.weight"].Should().Equal(64, 256);
        names.Should().ContainKey("ln_f.bias").And.NotContainKey("lm_head.weight");
        // 12·L·C² + (V + T)·C + biases and norms, as GPT-2 counts.
        model.ParameterCount().Should().Be(2 * (12 * 64 * 64 + 13 * 64) + 50 * 64 + 64 * 64 + 2 * 64);
    }

    [Fact]
    public void Initialisation_follows_gpt2_and_is_seeded()
    {
        using var a = new GptModel(Tiny with { Layers = 8, Embedding = 128, Heads = 4 }, seed: 7);
        using var b = new GptModel(Tiny with { Layers = 8, Embedding = 128, Heads = 4 }, seed: 7);
        var wa = a.StateDict()["h.3.attn.c_attn.weight"].ToArray<float>();
        wa.Should().Equal(b.StateDict()["h.3.attn.c_attn.weight"].ToArray<float>());
        Std(wa).Should().BeApproximately(0.02, 0.001);
        Std(a.StateDict()["h.3.mlp.c_proj.weight"].ToArray<float>()).Should().BeApproximately(0.02 / Math.Sqrt(16), 0.0005);
        a.StateDict()["h.3.mlp.c_fc.bias"].ToArray<float>().Should().OnlyContain(v => v == 0);
        a.StateDict()["h.0.ln_1.weight"].ToArray<float>().Should().OnlyContain(v => v == 1);

        static double Std(float[] x)
        {
            var mean = x.Average(v => (double)v);
            return Math.Sqrt(x.Average(v => (v - mean) * (v - mean)));
        }
    }

    [Fact]
    public void Per_token_losses_equal_an_explicit_log_softmax_and_gather_in_float64()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Tiny);
        model.To(Device.Cpu, ScalarType.Float64).Eval();
        var ids = FromArray(new long[] { 1, 5, 9, 3, 7, 2, 8, 8, 0, 4 }, 2, 5);
        var targets = FromArray(new long[] { 5, 9, 3, 7, 2, 8, 8, GptModel.IgnoreIndex, GptModel.IgnoreIndex, GptModel.IgnoreIndex }, 2, 5);
        var losses = model.TokenLosses(ids, targets).ToArray<float>();

        var logProbs = Functional.LogSoftmax(model.Forward(ids).To(ScalarType.Float64), 2); // (B, T, V)
        var safeTargets = targets.MaskedFill(targets.Eq(GptModel.IgnoreIndex), 0).Unsqueeze(2);
        var expected = (-logProbs.Gather(2, safeTargets).Squeeze(2)).MaskedFill(targets.Eq(GptModel.IgnoreIndex), 0).ToArray<double>();
        TestSupport.ShouldBeClose(losses.Select(v => (double)v).ToArray(), expected, 1e-6, "token loss");
        losses.Skip(7).Should().OnlyContain(v => v == 0, "padding positions get no loss");
        losses.Take(7).Should().OnlyContain(v => v > 0);
    }

    [Fact]
    public void Causality_holds_a_later_token_never_changes_an_earlier_loss()
    {
        using var scope = DisposeScope.Open();
        using var model = new GptModel(Tiny);
        model.Eval();
        var a = model.TokenLosses(FromArray(new long[] { 1, 2, 3, 4 }, 1, 4), FromArray(new long[] { 2, 3, 4, 5 }, 1, 4)).ToArray<float>();
        var b = model.TokenLosses(FromArray(new long[] { 1, 2, 3, 9 }, 1, 4), FromArray(new long[] { 2, 3, 4, 5 }, 1, 4)).ToArray<float>();
        b.Take(3).Should().Equal(a.Take(3));
        b[3].Should().NotBe(a[3]);
    }

    [Fact]
    public void The_full_model_gradient_matches_finite_differences()
    {
        using var scope = DisposeScope.Open();
        var config = new GptConfig(VocabSize: 7, ContextLength: 4, Layers: 1, Heads: 2, Embedding: 4);
        using var model = new GptModel(config, seed: 3);
        model.To(Device.Cpu, ScalarType.Float64).Eval();
        var ids = FromArray(new long[] { 1, 2, 3, 0, 6, 5 }, 2, 3);
        var targets = FromArray(new long[] { 2, 3, 4, 5, 4, GptModel.IgnoreIndex }, 2, 3);
        double Loss() => model.TokenLosses(ids, targets).To(ScalarType.Float64).Sum().ToDouble();

        // TokenLosses returns float32; differentiate the float64 path for the check.
        var loss = Functional.CrossEntropy(model.Forward(ids).View(-1, 7), targets.View(-1), Reduction.Sum, GptModel.IgnoreIndex);
        var parameters = model.NamedParameters().ToList();
        var grads = Autograd.Grad([loss], parameters.Select(p => p.Parameter).ToList());
        double LossF64()
        {
            using var inner = DisposeScope.Open();
            using var noGrad = NoGrad();
            return Functional.CrossEntropy(model.Forward(ids).View(-1, 7), targets.View(-1), Reduction.Sum, GptModel.IgnoreIndex).ToDouble();
        }
        _ = Loss();
        var rng = new Random(5);
        for (var i = 0; i < parameters.Count; i++)
        {
            var (name, p) = parameters[i];
            var values = p.ToArray<double>();
            var analytic = grads[i]!.ToArray<double>();
            foreach (var j in Enumerable.Range(0, 3).Select(_ => rng.Next(values.Length)))
            {
                const double eps = 1e-6;
                var original = values[j];
                values[j] = original + eps;
                using (NoGrad()) p.CopyFrom<double>(values);
                var plus = LossF64();
                values[j] = original - eps;
                using (NoGrad()) p.CopyFrom<double>(values);
                var minus = LossF64();
                values[j] = original;
                using (NoGrad()) p.CopyFrom<double>(values);
                var numeric = (plus - minus) / (2 * eps);
                Math.Abs(numeric - analytic[j]).Should().BeLessThan(1e-6 + 1e-4 * Math.Abs(numeric), $"{name}[{j}]: autograd {analytic[j]}, finite differences {numeric}");
            }
        }
    }

    [Fact]
    public void The_tiny_model_overfits_one_batch()
    {
        using var model = new GptModel(Tiny, seed: 11);
        var rng = new Random(2);
        var tokens = Enumerable.Range(0, 4 * 33).Select(_ => (long)rng.Next(50)).ToArray();
        using var batch = FromArray(tokens, 4, 33);
        using var ids = batch.Narrow(1, 0, 32);
        using var targets = batch.Narrow(1, 1, 32);
        var (decay, noDecay) = model.DecayGroups();
        using var opt = new AdamW([new ParamGroup(decay, 3e-3, 0.0), new ParamGroup(noDecay, 3e-3, 0.0)]);
        double loss = double.NaN;
        for (var step = 0; step < 300 && !(loss < 0.05); step++)
        {
            using var scope = DisposeScope.Open();
            var l = model.TokenLosses(ids, targets).Mean();
            opt.ZeroGrad();
            l.Backward();
            opt.Step();
            loss = l.ToDouble();
        }
        loss.Should().BeLessThan(0.05);
    }

    [Fact]
    public void Sequences_longer_than_the_context_are_rejected_with_advice()
    {
        using var model = new GptModel(Tiny);
        using var ids = Zeros([1, 65], ScalarType.Int64);
        Assert.Throws<ArgumentException>(() => model.Forward(ids)).Message.Should().Contain("windows");
    }

    [Fact]
    public void Decay_groups_exclude_biases_norms_and_embeddings()
    {
        using var model = new GptModel(Tiny);
        var (decay, noDecay) = model.DecayGroups();
        var names = model.NamedParameters().ToDictionary(p => p.Parameter, p => p.Name);
        decay.Select(p => names[p]).Should().OnlyContain(n => n.EndsWith(".weight") && (n.Contains(".attn.") || n.Contains(".mlp.")));
        noDecay.Select(p => names[p]).Should().Contain(["wte.weight", "wpe.weight", "ln_f.weight", "h.0.ln_1.weight", "h.0.attn.c_attn.bias"]);
        (decay.Count + noDecay.Count).Should().Be(names.Count);
    }
}
