using FluentAssertions;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

public sealed class ThreadingTests
{
    [Fact]
    public void Ops_called_from_several_threads_at_once_give_correct_results()
    {
        const int threads = 8;
        var errors = new List<string>();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var rng = new Random(t);
            for (var iteration = 0; iteration < 50; iteration++)
            {
                var a = Enumerable.Range(0, 6 * 5).Select(_ => rng.NextDouble()).ToArray();
                var b = Enumerable.Range(0, 5 * 4).Select(_ => rng.NextDouble()).ToArray();
                using var scope = DisposeScope.Open();
                var product = FromArray(a, 6, 5).Matmul(FromArray(b, 5, 4));
                var softmax = Functional.Softmax(product, 1).ToArray<double>();
                var expected = ManagedSoftmax(ManagedMatmul(a, b, 6, 5, 4), 6, 4);
                for (var i = 0; i < expected.Length; i++)
                {
                    if (Math.Abs(expected[i] - softmax[i]) > 1e-12)
                        lock (errors) errors.Add($"thread {t} iteration {iteration} element {i}: {softmax[i]} vs {expected[i]}");
                }
                // Errors on one thread must not leak into another's error slot.
                if (t % 2 == 0)
                    Assert.Throws<TorchException>(() => Torch.Ones([2, 3]).Matmul(Torch.Ones([2, 3])));
            }
        });
        errors.Should().BeEmpty();
    }

    [Fact]
    public void Grad_mode_is_per_thread()
    {
        using var noGrad = NoGrad();
        IsGradEnabled.Should().BeFalse();
        var other = false;
        var thread = new Thread(() => other = IsGradEnabled);
        thread.Start();
        thread.Join();
        other.Should().BeTrue("no_grad on this thread does not affect another");
    }

    private static double[] ManagedMatmul(double[] a, double[] b, int n, int k, int m)
    {
        var c = new double[n * m];
        for (var i = 0; i < n; i++)
        for (var j = 0; j < m; j++)
        {
            var s = 0.0;
            for (var p = 0; p < k; p++) s += a[i * k + p] * b[p * m + j];
            c[i * m + j] = s;
        }
        return c;
    }

    private static double[] ManagedSoftmax(double[] x, int rows, int cols)
    {
        var y = new double[x.Length];
        for (var r = 0; r < rows; r++)
        {
            var max = Enumerable.Range(0, cols).Max(c => x[r * cols + c]);
            var z = Enumerable.Range(0, cols).Sum(c => Math.Exp(x[r * cols + c] - max));
            for (var c = 0; c < cols; c++) y[r * cols + c] = Math.Exp(x[r * cols + c] - max) / z;
        }
        return y;
    }
}
