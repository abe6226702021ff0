using FluentAssertions;
using Xunit;
using static Reweighting.Torch.Tests.TestSupport;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Ops on small inputs whose results were computed by hand.</summary>
public sealed class KnownAnswerTests
{
    [Fact]
    public void Arithmetic_broadcasts_and_matches_hand_results()
    {
        using var scope = DisposeScope.Open();
        var a = D([1, 2, 3, 4], 2, 2);
        var b = D([10, 20]);
        ((a + b).ToArray<double>()).Should().Equal(11, 22, 13, 24);
        ((a - 1).ToArray<double>()).Should().Equal(0, 1, 2, 3);
        ((1 - a).ToArray<double>()).Should().Equal(0, -1, -2, -3);
        ((a * b).ToArray<double>()).Should().Equal(10, 40, 30, 80);
        ((12 / a).ToArray<double>()).Should().Equal(12, 6, 4, 3);
        (a.Pow(2).ToArray<double>()).Should().Equal(1, 4, 9, 16);
        (a.Matmul(a).ToArray<double>()).Should().Equal(7, 10, 15, 22);
        (a.Mm(a.Transpose(0, 1)).ToArray<double>()).Should().Equal(5, 11, 11, 25);
        (D([1, 1, 1, 1], 2, 2).Addmm(a, a, beta: 2, alpha: 1).ToArray<double>()).Should().Equal(9, 12, 17, 24);
        (a.Clamp(2, 3).ToArray<double>()).Should().Equal(2, 2, 3, 3);
        (a.Clamp(max: 2).ToArray<double>()).Should().Equal(1, 2, 2, 2);
    }

    [Fact]
    public void Bmm_multiplies_each_batch()
    {
        using var scope = DisposeScope.Open();
        var x = D([1, 0, 0, 1, 2, 0, 0, 2], 2, 2, 2);
        var y = D([1, 2, 3, 4, 1, 2, 3, 4], 2, 2, 2);
        x.Bmm(y).ToArray<double>().Should().Equal(1, 2, 3, 4, 2, 4, 6, 8);
    }

    [Fact]
    public void Unary_functions_match_closed_forms()
    {
        using var scope = DisposeScope.Open();
        var x = D([0, 1, -1]);
        ShouldBeClose(x.Exp().ToArray<double>(), [1, Math.E, 1 / Math.E], 1e-12, "exp");
        ShouldBeClose(D([1, Math.E]).Log().ToArray<double>(), [0, 1], 1e-12, "log");
        ShouldBeClose(D([4, 9]).Sqrt().ToArray<double>(), [2, 3], 1e-12, "sqrt");
        ShouldBeClose(x.Tanh().ToArray<double>(), [0, Math.Tanh(1), -Math.Tanh(1)], 1e-12, "tanh");
        ShouldBeClose(x.Sigmoid().ToArray<double>(), [0.5, 1 / (1 + Math.Exp(-1)), 1 / (1 + Math.Exp(1))], 1e-12, "sigmoid");
        // GELU(1): exact 1·Φ(1) = 0.8413447460685429; tanh approximation 0.5(1+tanh(√(2/π)(1+0.044715))) = 0.8411919906082768.
        ShouldBeClose(Functional.Gelu(x).ToArray<double>(), [0, 0.8413447460685429, -0.15865525393145707], 1e-12, "gelu");
        ShouldBeClose(Functional.Gelu(x, true).ToArray<double>(), [0, 0.8411919906082768, -0.15880800939172324], 1e-12, "gelu tanh");
    }

    [Fact]
    public void Softmax_and_log_softmax_match_hand_results()
    {
        using var scope = DisposeScope.Open();
        var x = D([1, 2, 3]);
        var z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        ShouldBeClose(Functional.Softmax(x, 0).ToArray<double>(), [Math.Exp(1) / z, Math.Exp(2) / z, Math.Exp(3) / z], 1e-12, "softmax");
        ShouldBeClose(Functional.LogSoftmax(x, 0).ToArray<double>(), [1 - Math.Log(z), 2 - Math.Log(z), 3 - Math.Log(z)], 1e-12, "log_softmax");
        Functional.Softmax(F([1, 2, 3]).To(ScalarType.BFloat16), 0, ScalarType.Float32).DType.Should().Be(ScalarType.Float32);
    }

    [Fact]
    public void Layer_norm_normalises_the_last_dimension()
    {
        using var scope = DisposeScope.Open();
        var x = D([1, 2, 3, 2, 4, 6], 2, 3);
        var s = Math.Sqrt(1.5); // sd of (1,2,3) is √(2/3): (x-μ)/sd = ∓√1.5
        ShouldBeClose(Functional.LayerNorm(x, [3], eps: 0).ToArray<double>(), [-s, 0, s, -s, 0, s], 1e-9, "layer_norm");
        var w = D([1, 2, 3]);
        var b = D([0, 1, 0]);
        ShouldBeClose(Functional.LayerNorm(x, [3], w, b, eps: 0).ToArray<double>(), [-s, 1, 3 * s, -s, 1, 3 * s], 1e-9, "affine layer_norm");
    }

    [Fact]
    public void Cross_entropy_gives_per_token_losses_and_ignores_padding()
    {
        using var scope = DisposeScope.Open();
        var logits = D([0, 0, Math.Log(2), 0, 0, 0, 1, 2, 3], 3, 3);
        var target = L([2, -100, 0]);
        var none = Functional.CrossEntropy(logits, target, Reduction.None).ToArray<double>();
        var z = Math.Exp(1) + Math.Exp(2) + Math.Exp(3);
        // row 0: -log(2/4); row 1 ignored → 0; row 2: -log(e/z)
        ShouldBeClose(none, [Math.Log(2), 0, Math.Log(z) - 1], 1e-12, "per-token loss");
        Functional.CrossEntropy(logits, target).ToDouble().Should().BeApproximately((Math.Log(2) + Math.Log(z) - 1) / 2, 1e-12);
        Functional.CrossEntropy(logits, target, Reduction.Sum).ToDouble().Should().BeApproximately(Math.Log(2) + Math.Log(z) - 1, 1e-12);
        Functional.CrossEntropy(logits, L([2, 0, 0]), ignoreIndex: 0, reduction: Reduction.Mean).ToDouble().Should().BeApproximately(Math.Log(2), 1e-12);
    }

    [Fact]
    public void Reductions_match_hand_results()
    {
        using var scope = DisposeScope.Open();
        var x = D([1, 5, 3, 4, 2, 6], 2, 3);
        x.Sum().ToDouble().Should().Be(21);
        x.Sum(0).ToArray<double>().Should().Equal(5, 7, 9);
        x.Sum(1, keepDim: true).Shape.Should().Equal(2, 1);
        x.Mean(1).ToArray<double>().Should().Equal(3, 4);
        x.Var(1, correction: 0).ToArray<double>().Should().Equal(8.0 / 3, 8.0 / 3);
        x.Var(1).ToArray<double>().Should().Equal(4, 4);
        x.Max().ToDouble().Should().Be(6);
        x.Min().ToDouble().Should().Be(1);
        var (values, indices) = x.Max(1);
        values.ToArray<double>().Should().Equal(5, 6);
        indices.ToArray<long>().Should().Equal(1, 2);
        x.Min(0).Indices.ToArray<long>().Should().Equal(0, 1, 0);
        x.Argmax().ToInt64().Should().Be(5);
        x.Argmax(1).ToArray<long>().Should().Equal(1, 2);
        var top = x.TopK(2, 1);
        top.Values.ToArray<double>().Should().Equal(5, 3, 6, 4);
        top.Indices.ToArray<long>().Should().Equal(1, 2, 2, 0);
        x.TopK(1, 1, largest: false).Values.ToArray<double>().Should().Equal(1, 2);
        x.Sort(1, descending: true).Values.ToArray<double>().Should().Equal(5, 3, 1, 6, 4, 2);
        x.CumSum(1).ToArray<double>().Should().Equal(1, 6, 9, 4, 6, 12);
    }

    [Fact]
    public void Comparisons_and_logic_produce_booleans()
    {
        using var scope = DisposeScope.Open();
        var a = D([1, 2, 3]);
        var b = D([3, 2, 1]);
        a.Eq(b).ToArray<bool>().Should().Equal(false, true, false);
        a.Ne(b).ToArray<bool>().Should().Equal(true, false, true);
        a.Lt(b).ToArray<bool>().Should().Equal(true, false, false);
        a.Le(b).ToArray<bool>().Should().Equal(true, true, false);
        a.Gt(b).ToArray<bool>().Should().Equal(false, false, true);
        a.Ge(2).ToArray<bool>().Should().Equal(false, true, true);
        a.Gt(1).LogicalAnd(a.Lt(3)).ToArray<bool>().Should().Equal(false, true, false);
        a.Gt(2).LogicalOr(a.Lt(2)).LogicalNot().ToArray<bool>().Should().Equal(false, true, false);
        Where(a.Gt(1), a, b).ToArray<double>().Should().Equal(3, 2, 3);
        a.MaskedFill(a.Eq(2), -1).ToArray<double>().Should().Equal(1, -1, 3);
    }

    [Fact]
    public void Shape_ops_rearrange_as_expected()
    {
        using var scope = DisposeScope.Open();
        var x = D([0, 1, 2, 3, 4, 5], 2, 3);
        x.View(3, 2).Shape.Should().Equal(3, 2);
        x.View(-1).Shape.Should().Equal(6);
        x.Transpose(0, 1).Contiguous().ToArray<double>().Should().Equal(0, 3, 1, 4, 2, 5);
        x.Transpose(0, 1).IsContiguous.Should().BeFalse();
        x.Permute(1, 0).Reshape(6).ToArray<double>().Should().Equal(0, 3, 1, 4, 2, 5);
        x.Narrow(1, 1, 2).ToArray<double>().Should().Equal(1, 2, 4, 5);
        x.Select(0, 1).ToArray<double>().Should().Equal(3, 4, 5);
        Cat([x, x], 0).Shape.Should().Equal(4, 3);
        Cat([x, x], 1).ToArray<double>().Should().Equal(0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
        Stack([x, x], 1).Shape.Should().Equal(2, 2, 3);
        x.Unsqueeze(0).Shape.Should().Equal(1, 2, 3);
        x.Unsqueeze(2).Squeeze().Shape.Should().Equal(2, 3);
        x.IndexSelect(1, L([2, 0])).ToArray<double>().Should().Equal(2, 0, 5, 3);
        x.Gather(1, L([2, 2, 0, 1], 2, 2)).ToArray<double>().Should().Equal(2, 2, 3, 4);
        Torch.Zeros([2, 3], ScalarType.Float64).Scatter(1, L([2, 0], 2, 1), D([7, 8], 2, 1)).ToArray<double>().Should().Equal(0, 0, 7, 8, 0, 0);
        Torch.Zeros([3], ScalarType.Float64).ScatterAdd(0, L([1, 1, 2]), D([1, 2, 3])).ToArray<double>().Should().Equal(0, 3, 3);
        D([1, 2, 3, 4], 2, 2).Tril().ToArray<double>().Should().Equal(1, 0, 3, 4);
        D([1, 2, 3, 4], 2, 2).Triu(1).ToArray<double>().Should().Equal(0, 2, 0, 0);
        D([5], 1, 1).Expand(2, 3).ToArray<double>().Should().Equal(5, 5, 5, 5, 5, 5);
        x.MaskedSelect(x.Gt(3)).ToArray<double>().Should().Equal(4, 5);
    }

    [Fact]
    public void Embedding_and_linear_compute_lookups_and_affine_maps()
    {
        using var scope = DisposeScope.Open();
        var table = D([0, 0, 1, 1, 2, 2], 3, 2);
        Functional.Embedding(L([2, 0, 2], 3), table).ToArray<double>().Should().Equal(2, 2, 0, 0, 2, 2);
        var w = D([1, 0, 0, 1, 1, 1], 3, 2);
        var b = D([1, 2, 3]);
        Functional.Linear(D([2, 5], 1, 2), w, b).ToArray<double>().Should().Equal(3, 7, 10);
        Functional.Linear(D([2, 5], 1, 2), w).ToArray<double>().Should().Equal(2, 5, 7);
    }

    [Fact]
    public void Causal_attention_attends_only_to_the_past()
    {
        using var scope = DisposeScope.Open();
        // With equal scores every query averages the values it may see: (1), (1+2)/2, (1+2+3)/3.
        var q = Torch.Zeros([1, 1, 3, 2], ScalarType.Float64);
        var v = D([1, 1, 2, 2, 3, 3], 1, 1, 3, 2);
        var expected = new double[] { 1, 1, 1.5, 1.5, 2, 2 };
        Functional.ScaledDotProductAttention(q, q, v, isCausal: true).ToArray<double>().Should().Equal(expected);
        Functional.ScaledDotProductAttention(q, q, v, isCausal: true, forceExplicit: true).ToArray<double>().Should().Equal(expected);
        Functional.ScaledDotProductAttention(q, q, v).ToArray<double>().Should().Equal(2, 2, 2, 2, 2, 2);
    }

    [Fact]
    public void Explicit_and_default_attention_paths_agree()
    {
        using var scope = DisposeScope.Open();
        var g = new Generator(3);
        var q = Randn([2, 3, 5, 4], g);
        var k = Randn([2, 3, 5, 4], g);
        var v = Randn([2, 3, 5, 4], g);
        var a = Functional.ScaledDotProductAttention(q, k, v, isCausal: true).ToArray<float>();
        var b = Functional.ScaledDotProductAttention(q, k, v, isCausal: true, forceExplicit: true).ToArray<float>();
        ShouldBeClose(a, b.Select(x => (double)x).ToArray(), 1e-5, "attention");
    }

    [Fact]
    public void Dropout_zeroes_and_rescales_in_training_and_is_identity_in_eval()
    {
        using var scope = DisposeScope.Open();
        var x = Torch.Ones([10_000]);
        var y = Functional.Dropout(x, 0.25, training: true).ToArray<float>();
        y.Should().OnlyContain(v => v == 0f || Math.Abs(v - 1 / 0.75f) < 1e-6);
        y.Count(v => v == 0).Should().BeInRange(2_200, 2_800);
        Functional.Dropout(x, 0.25, training: false).ToArray<float>().Should().OnlyContain(v => v == 1f);
    }
}
