using Xunit;
using static Reweighting.Torch.Tests.GradientCheck;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Every differentiable op of the binding against central finite differences in float64.</summary>
public sealed class GradientTests
{
    private static readonly long[] M23 = [2, 3];
    private static readonly long[] M34 = [3, 4];

    [Fact]
    public void Elementwise_arithmetic_gradients_match_finite_differences()
    {
        var a = Values(6, 1);
        var b = Values(6, 2, 0.5, 2);
        Check("add", x => x[0] + x[1], a, b);
        Check("add scaled", x => x[0].Add(x[1], 0.3), a, b);
        Check("sub", x => x[0] - x[1], a, b);
        Check("mul", x => x[0] * x[1], a, b);
        Check("div", x => x[0] / x[1], a, b);
        Check("scalar ops", x => (2.0 - x[0]) * 3 + 1 / (x[0] + 4), a);
        Check("pow scalar", x => x[0].Pow(3), a);
        Check("pow tensor", x => x[0].Pow(x[1]), Values(6, 3, 0.5, 2), b);
        Check("neg", x => -x[0], a);
    }

    [Fact]
    public void Unary_function_gradients_match_finite_differences()
    {
        var a = Values(6, 4);
        var positive = Values(6, 5, 0.2, 3);
        Check("exp", x => x[0].Exp(), a);
        Check("log", x => x[0].Log(), positive);
        Check("sqrt", x => x[0].Sqrt(), positive);
        Check("rsqrt", x => x[0].Rsqrt(), positive);
        Check("tanh", x => x[0].Tanh(), a);
        Check("sigmoid", x => x[0].Sigmoid(), a);
        Check("square", x => x[0].Square(), a);
        Check("abs", x => x[0].Abs(), Values(6, 6, 0.1, 1));
        Check("gelu exact", x => Functional.Gelu(x[0]), a);
        Check("gelu tanh", x => Functional.Gelu(x[0], tanhApproximation: true), a);
        // Away from the kink at 0 and the clamp bounds, where the derivative is defined.
        Check("relu", x => x[0].Relu(), [0.5, -0.4, 0.9, -0.7]);
        Check("clamp", x => x[0].Clamp(-0.5, 0.5), [-0.9, -0.2, 0.1, 0.8, 0.3, -0.7]);
        Check("clamp min only", x => x[0].Clamp(min: 0.0), [-0.9, 0.2, 0.4]);
    }

    [Fact]
    public void Selection_and_masking_gradients_match_finite_differences()
    {
        var a = Values(6, 7);
        var b = Values(6, 8);
        var cond = FromArray(new[] { true, false, true, true, false, false });
        Check("where", x => Where(cond, x[0], x[1]), a, b);
        Check("masked_fill", x => x[0].MaskedFill(cond, 2.5), a);
    }

    [Fact]
    public void Reduction_gradients_match_finite_differences()
    {
        var a = Values(12, 9);
        long[] s34 = M34;
        Check("sum all", x => x[0].Sum(), [s34], [a]);
        Check("sum dim", x => x[0].Sum(1), [s34], [a]);
        Check("sum dims keepdim", x => x[0].Sum([0, 1], keepDim: true), [s34], [a]);
        Check("mean", x => x[0].Mean(0), [s34], [a]);
        Check("var sample", x => x[0].Var(1), [s34], [a]);
        Check("var population", x => x[0].Var(1, correction: 0), [s34], [a]);
        Check("max all", x => x[0].Max(), [s34], [a]);
        Check("min all", x => x[0].Min(), [s34], [a]);
        Check("max dim", x => x[0].Max(1).Values, [s34], [a]);
        Check("min dim", x => x[0].Min(0).Values, [s34], [a]);
        Check("amax", x => x[0].Amax(1), [s34], [a]);
        Check("topk", x => x[0].TopK(2, 1).Values, [s34], [a]);
        Check("logsumexp", x => x[0].LogSumExp(1), [s34], [a]);
        Check("norm", x => x[0].Norm(), [s34], [a]);
        Check("cumsum", x => x[0].CumSum(1), [s34], [a]);
    }

    [Fact]
    public void Matrix_product_gradients_match_finite_differences()
    {
        Check("matmul", x => x[0].Matmul(x[1]), [M23, M34], [Values(6, 10), Values(12, 11)]);
        Check("mm", x => x[0].Mm(x[1]), [M23, M34], [Values(6, 12), Values(12, 13)]);
        Check("bmm", x => x[0].Bmm(x[1]), [[2, 2, 3], [2, 3, 2]], [Values(12, 14), Values(12, 15)]);
        Check("addmm", x => x[0].Addmm(x[1], x[2], beta: 0.5, alpha: 2), [[2, 4], M23, M34], [Values(8, 16), Values(6, 17), Values(12, 18)]);
        Check("linear", x => Functional.Linear(x[0], x[1], x[2]), [M23, [4, 3], [4]], [Values(6, 19), Values(12, 20), Values(4, 21)]);
        Check("linear without bias", x => Functional.Linear(x[0], x[1]), [[2, 2, 3], [4, 3]], [Values(12, 22), Values(12, 23)]);
    }

    [Fact]
    public void Normalisation_and_softmax_gradients_match_finite_differences()
    {
        Check("layer_norm", x => Functional.LayerNorm(x[0], [4], x[1], x[2]), [M34, [4], [4]], [Values(12, 24), Values(4, 25), Values(4, 26)]);
        Check("layer_norm no affine", x => Functional.LayerNorm(x[0], [3, 4]), [[2, 3, 4]], [Values(24, 27)]);
        Check("softmax", x => Functional.Softmax(x[0], 1), [M34], [Values(12, 28)]);
        Check("log_softmax", x => Functional.LogSoftmax(x[0], 0), [M34], [Values(12, 29)]);
    }

    [Fact]
    public void Cross_entropy_gradients_match_finite_differences()
    {
        var target = FromArray(new long[] { 2, -100, 0 });
        var logits = Values(12, 30, -2, 2);
        Check("cross_entropy none", x => Functional.CrossEntropy(x[0], target, Reduction.None), [M34], [logits]);
        Check("cross_entropy mean ignore", x => Functional.CrossEntropy(x[0], target, Reduction.Mean), [M34], [logits]);
        Check("cross_entropy smoothing", x => Functional.CrossEntropy(x[0], target, Reduction.Sum, labelSmoothing: 0.1), [M34], [logits]);
        // Soft targets, the self-distillation form: gradient w.r.t. the logits and the target distribution.
        Check("cross_entropy soft", x => Functional.CrossEntropy(x[0], Functional.Softmax(x[1], 1), Reduction.None), [M34, M34], [logits, Values(12, 31)]);
    }

    [Fact]
    public void Embedding_gradient_accumulates_repeated_rows()
    {
        var idx = FromArray(new long[] { 1, 3, 1, 0 }, 2, 2);
        Check("embedding", x => Functional.Embedding(idx, x[0]), [[4, 3]], [Values(12, 32)]);
    }

    [Fact]
    public void Attention_gradients_match_finite_differences()
    {
        long[] shape = [1, 2, 3, 4]; // (B, nh, T, hs)
        var q = Values(24, 33);
        var k = Values(24, 34);
        var v = Values(24, 35);
        Check("attention explicit causal", x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: true, forceExplicit: true), [shape, shape, shape], [q, k, v]);
        Check("attention default causal", x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], isCausal: true), [shape, shape, shape], [q, k, v]);
        var mask = FromArray(new[] { true, false, true, true, true, false, false, true, true }, 3, 3);
        Check("attention masked", x => Functional.ScaledDotProductAttention(x[0], x[1], x[2], mask, forceExplicit: true), [shape, shape, shape], [q, k, v]);
    }

    [Fact]
    public void Dropout_gradient_matches_finite_differences_for_a_fixed_mask()
    {
        using var g = new Generator(7);
        Check("dropout", x =>
        {
            g.ManualSeed(7); // the same mask on every evaluation
            return Functional.Dropout(x[0], 0.5, training: true, generator: g);
        }, Values(10, 36));
    }

    [Fact]
    public void Shape_op_gradients_match_finite_differences()
    {
        var a = Values(12, 37);
        var b = Values(12, 38);
        Check("cat", x => Cat([x[0], x[1]], 1), [M34, M34], [a, b]);
        Check("stack", x => Stack([x[0], x[1]], 0), [M34, M34], [a, b]);
        Check("view", x => x[0].View(4, 3) * FromArray(Values(12, 39), 4, 3), [M34], [a]);
        Check("reshape", x => x[0].Transpose(0, 1).Reshape(12), [M34], [a]);
        Check("permute contiguous", x => x[0].Permute(1, 0).Contiguous(), [M34], [a]);
        Check("narrow", x => x[0].Narrow(1, 1, 2), [M34], [a]);
        Check("select", x => x[0].Select(0, 2), [M34], [a]);
        Check("expand", x => x[0].Expand(3, 4), [[1, 4]], [Values(4, 40)]);
        Check("squeeze unsqueeze flatten", x => x[0].Unsqueeze(0).Squeeze(0).Flatten(), [M34], [a]);
        Check("index_select", x => x[0].IndexSelect(0, FromArray(new long[] { 2, 0, 2 })), [M34], [a]);
        Check("gather", x => x[0].Gather(1, FromArray(new long[] { 0, 3, 1, 1, 2, 0 }, 3, 2)), [M34], [a]);
        Check("scatter", x => x[0].Scatter(1, FromArray(new long[] { 0, 3, 1, 2, 2, 0 }, 3, 2), x[1]), [M34, [3, 2]], [a, Values(6, 41)]);
        Check("scatter_add", x => x[0].ScatterAdd(1, FromArray(new long[] { 0, 0, 1, 1, 3, 3 }, 3, 2), x[1]), [M34, [3, 2]], [a, Values(6, 42)]);
        Check("tril", x => x[0].Tril(), [[3, 3]], [Values(9, 43)]);
    }

    [Fact]
    public void Second_derivatives_match_finite_differences_of_the_gradient()
    {
        CheckSecondOrder("tanh", x => x.Tanh(), Values(6, 50), [6]);
        CheckSecondOrder("gelu tanh", x => Functional.Gelu(x, tanhApproximation: true), Values(6, 51), [6]);
        CheckSecondOrder("softmax", x => Functional.Softmax(x, 1), Values(12, 52), M34);
        CheckSecondOrder("layer_norm", x => Functional.LayerNorm(x, [4]), Values(12, 53), M34);
        var w = FromArray(Values(12, 54), 4, 3);
        var target = FromArray(new long[] { 1, 0, 3 });
        // The meta-update's path: cross entropy of a GELU MLP, differentiated twice.
        CheckSecondOrder("cross_entropy of linear+gelu", x => Functional.CrossEntropy(Functional.Linear(Functional.Gelu(x, true), w), target, Reduction.None),
            Values(9, 55), [3, 3]);
        CheckSecondOrder("attention", x => Functional.ScaledDotProductAttention(x, x, x, isCausal: true, forceExplicit: true), Values(24, 56), [1, 2, 3, 4]);
    }

    [Fact]
    public void Backward_with_create_graph_allows_differentiating_the_gradient()
    {
        using var scope = DisposeScope.Open();
        var x = FromArray(new[] { 2.0 }).RequiresGradInPlace();
        var y = x.Pow(3); // dy/dx = 3x² = 12, d²y/dx² = 6x = 12
        y.Backward(createGraph: true);
        var g = x.Grad!;
        Assert.Equal(12.0, g.ToDouble(), 12);
        x.Grad = null;
        g.Backward();
        Assert.Equal(12.0, x.Grad!.ToDouble(), 12);
    }
}

/// <summary>The checker itself must be able to fail.</summary>
public sealed class GradientCheckSelfTests
{
    [Fact]
    public void Gradient_check_detects_a_wrong_gradient()
    {
        // d/dx (x · detach(x)) by autograd is x, the true derivative is 2x.
        var ex = Record.Exception(() => Check("wrong", x => x[0] * x[0].Detach(), Values(4, 60, 0.5, 1)));
        Assert.IsAssignableFrom<Xunit.Sdk.XunitException>(ex);
    }

    [Fact]
    public void Second_order_check_detects_a_wrong_second_derivative()
    {
        // The gradient of x²·detach(x) is 2x·x_detached, whose autograd derivative (2x) misses the x² term.
        var ex = Record.Exception(() => CheckSecondOrder("wrong", x => x.Square() * x.Detach(), Values(4, 61, 0.5, 1), [4]));
        Assert.IsAssignableFrom<Xunit.Sdk.XunitException>(ex);
    }
}
