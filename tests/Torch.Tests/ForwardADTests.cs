using Xunit;
using static Reweighting.Torch.Tests.TestSupport;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Forward-mode AD: tangents against analytic derivatives and against reverse mode.</summary>
public sealed class ForwardADTests
{
    [Fact]
    public void Tangent_of_elementwise_functions_matches_their_derivatives()
    {
        using var scope = DisposeScope.Open();
        double[] xs = [-1.5, -0.2, 0.3, 1.1];
        double[] vs = [0.5, -2.0, 1.0, 3.0];
        var x = D(xs);
        using var level = ForwardAD.Enter();
        level.SetTangent(x, D(vs));
        var y = x.Pow(3) + x.Tanh() * 2;
        var tangent = level.Tangent(y)!.ToArray<double>();
        var expected = xs.Select((v, i) => (3 * v * v + 2 * (1 - Math.Tanh(v) * Math.Tanh(v))) * vs[i]).ToArray();
        ShouldBeClose(tangent, expected, 1e-12, "tangent");
        Assert.Null(level.Tangent(D([1.0, 2.0])));
    }

    /// <summary>The per-row directional derivative of a GPT-like block (linear, layer norm, tanh-GELU, causal attention,
    /// cross entropy with an ignored target) equals the inner product of each row's reverse-mode gradient with the
    /// tangents: the identity the meta-gradient's forward-mode estimate rests on.</summary>
    [Fact]
    public void Tangents_of_per_row_losses_equal_reverse_mode_inner_products()
    {
        using var scope = DisposeScope.Open();
        using var gen = new Generator(7);
        const long b = 3, t = 5, c = 8, vocab = 11;
        var emb = (Randn([vocab, c], gen, ScalarType.Float64) * 0.5).RequiresGradInPlace();
        var w = (Randn([c, c], gen, ScalarType.Float64) * 0.4).RequiresGradInPlace();
        var ln = (Randn([c], gen, ScalarType.Float64) * 0.1 + 1).RequiresGradInPlace();
        Tensor[] parameters = [emb, w, ln];
        var tangents = parameters.Select(p => Randn(p.Shape, gen, ScalarType.Float64)).ToArray();
        var ids = RandInt(0, vocab, [b, t], gen);
        var targets = FromArray(new long[] { 1, 2, 3, 4, 5, 6, 7, -100, 9, 10, 0, 1, 2, 3, 4 }, b, t);

        Tensor Losses()
        {
            var x = Functional.Embedding(ids, emb);
            var h = Functional.Gelu(Functional.Linear(Functional.LayerNorm(x, [c], ln), w), tanhApproximation: true);
            var q = h.View(b, 1, t, c);
            var y = Functional.ScaledDotProductAttention(q, q, q, isCausal: true).View(b, t, c) + x;
            var logits = Functional.Linear(y, emb);
            return Functional.CrossEntropy(logits.View(b * t, vocab), targets.Reshape(-1), Reduction.None).View(b, t).Mean(1);
        }

        double[] forward;
        using (NoGrad())
        using (var level = ForwardAD.Enter())
        {
            for (var j = 0; j < parameters.Length; j++) level.SetTangent(parameters[j], tangents[j]);
            forward = level.Tangent(Losses())!.ToArray<double>();
        }
        var losses = Losses();
        for (var i = 0; i < b; i++)
        {
            var grads = Autograd.Grad([losses.Select(0, i)], parameters, retainGraph: true);
            var inner = grads.Select((g, j) => g!.Mul(tangents[j]).Sum().ToDouble()).Sum();
            Assert.True(Math.Abs(forward[i] - inner) < 1e-10 * Math.Max(1, Math.Abs(inner)), $"row {i}: forward {forward[i]:R}, reverse {inner:R}");
        }
        Assert.True(forward.Any(v => Math.Abs(v) > 1e-3), "tangents are not all zero");
    }

    /// <summary>Autocast caches a weight's bfloat16 copy for its region; a copy made before the tangent was set carries
    /// none. Entering a level clears the cache, so the weight's tangent reaches the output.</summary>
    [Fact]
    public void A_weight_cast_by_autocast_before_its_tangent_was_set_still_carries_it()
    {
        using var scope = DisposeScope.Open();
        var w = F([0.5f, -1f, 2f, 0.25f], 2, 2).RequiresGradInPlace();
        var x = F([1f, 2f, 3f, 4f], 2, 2);
        using var autocast = Autocast(DeviceType.Cpu);
        using (NoGrad()) Functional.Linear(x, w).Dispose(); // caches w's bfloat16 copy
        for (var round = 0; round < 2; round++) // and again under a second level, after the first one's exit
        {
            using var level = ForwardAD.Enter();
            level.SetTangent(w, F([1f, 0f, 0f, 1f], 2, 2));
            using var noGrad = NoGrad();
            var tangent = level.Tangent(Functional.Linear(x, w));
            Assert.NotNull(tangent);
            ShouldBeClose(tangent!.To(ScalarType.Float32).ToArray<float>(), [1, 2, 3, 4], 1e-2, $"tangent in round {round}"); // x · Iᵀ
        }
    }

    [Fact]
    public void Leaving_a_level_clears_its_tangents()
    {
        using var scope = DisposeScope.Open();
        var x = D([1.0, 2.0]);
        using (var level = ForwardAD.Enter()) level.SetTangent(x, D([1.0, 1.0]));
        using (var again = ForwardAD.Enter())
        {
            Assert.Null(again.Tangent(x));
            Assert.Null(again.Tangent(x * 2));
        }
    }

    [Fact]
    public void A_tangent_of_another_shape_or_dtype_is_refused_with_both_named()
    {
        using var scope = DisposeScope.Open();
        using var level = ForwardAD.Enter();
        var e = Assert.Throws<TorchException>(() => level.SetTangent(D([1.0, 2.0]), D([1.0, 2.0, 3.0])));
        Assert.Contains("shape", e.Message);
        Assert.Contains("[3]", e.Message);
        e = Assert.Throws<TorchException>(() => level.SetTangent(D([1.0, 2.0]), F([1f, 2f])));
        Assert.Contains("dtype", e.Message);
    }

    /// <summary>libtorch allows one dual level per process: levels opened by several threads at once wait for each other
    /// instead of failing, and each thread reads its own tangents.</summary>
    [Fact]
    public void Levels_opened_by_several_threads_are_serialised()
    {
        var results = new double[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var scope = DisposeScope.Open();
            var x = D([i + 1.0]);
            using var level = ForwardAD.Enter();
            level.SetTangent(x, D([1.0]));
            Thread.Sleep(2);
            results[i] = level.Tangent(x.Square())!.ToArray<double>()[0];
        });
        Assert.Equal(Enumerable.Range(0, 8).Select(i => 2.0 * (i + 1)), results);
    }
}
