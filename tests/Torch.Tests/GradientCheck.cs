using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Compares autograd gradients with central finite differences in float64 (torch.autograd.gradcheck),
/// and, for double backward, the gradient of a gradient with finite differences of the gradient.</summary>
internal static class GradientCheck
{
    private const double Eps = 1e-6;
    private const double AbsoluteTolerance = 1e-5;
    private const double RelativeTolerance = 1e-4;

    /// <summary>Checks d/d(inputs) of sum(f(inputs) ⊙ R) for a fixed random R.</summary>
    public static void Check(string name, Func<Tensor[], Tensor> f, params double[][] inputs) => Check(name, f, inputs.Select(x => new[] { (long)x.Length }).ToArray(), inputs);

    public static void Check(string name, Func<Tensor[], Tensor> f, long[][] shapes, double[][] inputs)
    {
        using var scope = DisposeScope.Open();
        var weights = WeightsFor(f, shapes, inputs);
        double Objective(double[][] values)
        {
            using var inner = DisposeScope.Open();
            using var noGrad = NoGrad();
            var xs = values.Select((v, i) => FromSpan<double>(v, shapes[i])).ToArray();
            return (f(xs) * weights).Sum().ToDouble();
        }

        var leaves = inputs.Select((v, i) => FromSpan<double>(v, shapes[i]).RequiresGradInPlace()).ToArray();
        var loss = (f(leaves) * weights).Sum();
        var analytic = Autograd.Grad([loss], leaves, allowUnused: true);
        for (var k = 0; k < inputs.Length; k++)
        {
            var numeric = new double[inputs[k].Length];
            for (var j = 0; j < numeric.Length; j++)
            {
                var plus = Perturb(inputs, k, j, +Eps);
                var minus = Perturb(inputs, k, j, -Eps);
                numeric[j] = (Objective(plus) - Objective(minus)) / (2 * Eps);
            }
            var got = analytic[k]?.ToArray<double>() ?? new double[numeric.Length];
            Compare($"{name}: d/d(input {k})", got, numeric);
        }
    }

    /// <summary>Checks the gradient of g(x) = d/dx sum(f(x) ⊙ R) (computed with create_graph) against finite
    /// differences of g: the Hessian-vector products the meta-update relies on.</summary>
    public static void CheckSecondOrder(string name, Func<Tensor, Tensor> f, double[] input, long[] shape)
    {
        using var scope = DisposeScope.Open();
        var weights = WeightsFor(xs => f(xs[0]), [shape], [input]);
        var direction = Randn(shape, new Generator(99), ScalarType.Float64);

        // s(x) = <g(x), direction>; its gradient is H·direction.
        double S(double[] values)
        {
            using var inner = DisposeScope.Open();
            var x = FromSpan<double>(values, shape).RequiresGradInPlace();
            var g = Autograd.Grad([(f(x) * weights).Sum()], [x])[0]!;
            return (g * direction).Sum().ToDouble();
        }

        var leaf = FromSpan<double>(input, shape).RequiresGradInPlace();
        var grad = Autograd.Grad([(f(leaf) * weights).Sum()], [leaf], createGraph: true)[0]!;
        var hvp = Autograd.Grad([(grad * direction).Sum()], [leaf])[0]!.ToArray<double>();
        var numeric = new double[input.Length];
        for (var j = 0; j < input.Length; j++)
        {
            var plus = (double[])input.Clone();
            var minus = (double[])input.Clone();
            plus[j] += Eps;
            minus[j] -= Eps;
            numeric[j] = (S(plus) - S(minus)) / (2 * Eps);
        }
        Compare($"{name}: second order", hvp, numeric);
    }

    private static Tensor WeightsFor(Func<Tensor[], Tensor> f, long[][] shapes, double[][] inputs)
    {
        using var noGrad = NoGrad();
        using var probe = DisposeScope.Open();
        var outShape = f(inputs.Select((v, i) => FromSpan<double>(v, shapes[i])).ToArray()).Shape;
        return Randn(outShape, new Generator(42), ScalarType.Float64).MoveToOuterScope();
    }

    private static double[][] Perturb(double[][] inputs, int k, int j, double delta)
    {
        var copy = inputs.Select(v => (double[])v.Clone()).ToArray();
        copy[k][j] += delta;
        return copy;
    }

    private static void Compare(string what, double[] analytic, double[] numeric)
    {
        Assert.Equal(numeric.Length, analytic.Length);
        for (var i = 0; i < numeric.Length; i++)
        {
            var diff = Math.Abs(analytic[i] - numeric[i]);
            if (diff > AbsoluteTolerance + RelativeTolerance * Math.Abs(numeric[i]))
                Assert.Fail($"{what}[{i}]: autograd {analytic[i]:G10}, finite differences {numeric[i]:G10}, |diff| {diff:E2}");
        }
    }

    /// <summary>Deterministic pseudo-random inputs in [lo, hi).</summary>
    public static double[] Values(int n, int seed, double lo = -1, double hi = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();
    }
}
