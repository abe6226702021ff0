using Reweighting.Torch;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Collection for tests that count live handles or resident memory: they must not run beside others.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "serial";
}

internal static class TestSupport
{
    public static Tensor D(double[] values, params long[] shape) => FromArray(values, shape.Length == 0 ? [values.LongLength] : shape);

    public static Tensor F(float[] values, params long[] shape) => FromArray(values, shape.Length == 0 ? [values.LongLength] : shape);

    public static Tensor L(long[] values, params long[] shape) => FromArray(values, shape.Length == 0 ? [values.LongLength] : shape);

    public static void ShouldBeClose(double[] actual, double[] expected, double tolerance, string what = "values")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            if (Math.Abs(actual[i] - expected[i]) > tolerance)
                Assert.Fail($"{what}[{i}] = {actual[i]:R}, expected {expected[i]:R} (tolerance {tolerance})");
        }
    }

    public static void ShouldBeClose(float[] actual, double[] expected, double tolerance, string what = "values") =>
        ShouldBeClose(actual.Select(v => (double)v).ToArray(), expected, tolerance, what);
}
