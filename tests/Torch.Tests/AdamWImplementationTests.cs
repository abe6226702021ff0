using FluentAssertions;
using Reweighting.Torch.NN;
using Reweighting.Torch.Optim;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>The foreach and fused AdamW implementations against the one-tensor-at-a-time loop, and gradient clipping
/// against norms computed here in float64.</summary>
public sealed class AdamWImplementationTests
{
    // float32 state after a few steps: the implementations round differently (lerp vs b1·m + (1-b1)·g on libtorch
    // 1.13, the fused kernel's own operation order), by a few ulps of values of order 1.
    private const double Float32Tolerance = 1e-6;

    private static readonly long[][] Shapes = [[3, 4], [5], [2, 1, 3]];

    /// <summary>Parameters of <see cref="Shapes"/> plus one without a gradient (the last), seeded identically.</summary>
    private static Tensor[] Parameters(int seed)
    {
        var random = new Random(seed);
        return Shapes.Append([4]).Select(shape =>
        {
            var values = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            return FromArray(values, shape).RequiresGradInPlace();
        }).ToArray();
    }

    /// <summary>Sets the same pseudo-random gradients of step <paramref name="step"/> on every parameter but the last.</summary>
    private static void SetGradients(IReadOnlyList<Tensor> parameters, int step)
    {
        var random = new Random(1000 + step);
        for (var i = 0; i < parameters.Count - 1; i++)
        {
            var n = (int)parameters[i].Shape.Aggregate(1L, (a, b) => a * b);
            // Gradients of mixed scale, so the second moment and eps both matter.
            var g = Enumerable.Range(0, n).Select(k => (float)((random.NextDouble() * 2 - 1) * (k % 3 == 0 ? 1e-3 : 1))).ToArray();
            parameters[i].Grad = FromArray(g, parameters[i].Shape.ToArray());
        }
    }

    private static void ShouldMatch(Tensor[] actual, Tensor[] expected, string what)
    {
        for (var i = 0; i < expected.Length; i++)
        {
            var a = actual[i].ToArray<float>();
            var e = expected[i].ToArray<float>();
            var maxDiff = a.Zip(e, (x, y) => Math.Abs((double)x - y)).Max();
            if (maxDiff > Float32Tolerance)
                Assert.Fail($"{what}: parameter {i} ({string.Join("x", Shapes.Append([4]).ElementAt(i))}) differs from the loop by {maxDiff:E3} (tolerance {Float32Tolerance:E0})");
        }
    }

    [Theory]
    [InlineData(AdamWImplementation.Foreach)]
    [InlineData(AdamWImplementation.Fused)]
    public void A_faster_implementation_matches_the_loop_over_several_steps_with_weight_decay(AdamWImplementation fastest)
    {
        using var scope = DisposeScope.Open();
        var reference = Parameters(seed: 7);
        var candidate = Parameters(seed: 7);
        var untouched = candidate[^1].ToArray<float>();
        using var loop = new AdamW(reference, learningRate: 1e-2, weightDecay: 0.1) { MaxImplementation = AdamWImplementation.Loop };
        using var fast = new AdamW(candidate, learningRate: 1e-2, weightDecay: 0.1) { MaxImplementation = fastest };
        // Several steps: bias correction changes most over the first ones.
        for (var step = 0; step < 6; step++)
        {
            using var inner = DisposeScope.Open();
            SetGradients(reference, step);
            SetGradients(candidate, step);
            loop.Step();
            fast.Step();
        }
        ShouldMatch(candidate, reference, $"{fastest} (ran {fast.Implementation})");
        loop.Implementation.Should().Be(AdamWImplementation.Loop);
        var expected = fastest == AdamWImplementation.Fused && AdamW.HasFusedKernel(DeviceType.Cpu)
            ? AdamWImplementation.Fused
            : AdamWImplementation.Foreach;
        fast.Implementation.Should().Be(expected, "the fused kernel runs where the libtorch has it for the CPU, foreach otherwise");
        candidate[^1].ToArray<float>().Should().Equal(untouched, "a parameter without a gradient is skipped");
        var (_, state) = fast.StateDict();
        state["g0.p3.exp_avg"].ToArray<float>().Should().OnlyContain(x => x == 0, "a parameter without a gradient keeps no moments");
    }

    [Fact]
    public void Implementations_agree_on_float64_parameters_to_rounding()
    {
        using var scope = DisposeScope.Open();
        double[] initial = [0.5, -1.25, 2.0, 1e-3];
        var results = new Dictionary<AdamWImplementation, double[]>();
        foreach (var implementation in Enum.GetValues<AdamWImplementation>())
        {
            using var inner = DisposeScope.Open();
            var p = FromArray((double[])initial.Clone()).RequiresGradInPlace();
            using var opt = new AdamW([p], learningRate: 0.1, weightDecay: 0.01) { MaxImplementation = implementation };
            for (var step = 0; step < 5; step++)
            {
                opt.ZeroGrad();
                p.Pow(3).Sum().Backward();
                opt.Step();
            }
            results[implementation] = p.ToArray<double>();
        }
        TestSupport.ShouldBeClose(results[AdamWImplementation.Foreach], results[AdamWImplementation.Loop], 1e-12, "foreach vs loop");
        TestSupport.ShouldBeClose(results[AdamWImplementation.Fused], results[AdamWImplementation.Loop], 1e-12, "fused vs loop");
    }

    [Fact]
    public void Implementation_is_null_before_a_step_and_after_a_step_without_gradients()
    {
        using var scope = DisposeScope.Open();
        var p = FromArray(new[] { 1f, 2f }).RequiresGradInPlace();
        using var opt = new AdamW([p]);
        opt.Implementation.Should().BeNull();
        opt.Step();
        opt.Implementation.Should().BeNull();
        p.ToArray<float>().Should().Equal(1f, 2f);
        p.Grad = FromArray(new[] { 0.5f, -0.5f });
        opt.Step();
        opt.Implementation.Should().NotBeNull();
    }

    [Fact]
    public void Gradient_clipping_of_mixed_dtypes_matches_a_float64_norm_and_skips_parameters_without_gradients()
    {
        using var scope = DisposeScope.Open();
        var random = new Random(3);
        var a = Enumerable.Range(0, 1000).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        var b = Enumerable.Range(0, 7).Select(_ => random.NextDouble() * 10 - 5).ToArray();
        var pa = Zeros([1000]).RequiresGradInPlace();
        var pb = Zeros([7], ScalarType.Float64).RequiresGradInPlace();
        var none = Zeros([3]).RequiresGradInPlace();
        pa.Grad = FromArray(a);
        pb.Grad = FromArray(b);
        var expected = Math.Sqrt(a.Sum(x => (double)x * x) + b.Sum(x => x * x));

        var norm = GradientClipping.ClipGradNorm([pa, none, pb], 1.0);

        norm.Should().BeApproximately(expected, expected * 1e-6);
        var scale = 1.0 / (expected + 1e-6);
        TestSupport.ShouldBeClose(pa.Grad!.ToArray<float>(), a.Select(x => x * scale).ToArray(), 1e-6, "clipped float32 gradient");
        TestSupport.ShouldBeClose(pb.Grad!.ToArray<double>(), b.Select(x => x * scale).ToArray(), 1e-9, "clipped float64 gradient");
        none.Grad.Should().BeNull();
    }
}
