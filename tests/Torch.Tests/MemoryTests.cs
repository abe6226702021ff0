using System.Diagnostics;
using FluentAssertions;
using Xunit;
using static Reweighting.Torch.Torch;

namespace Reweighting.Torch.Tests;

/// <summary>Handles and native memory come back: the live counters return to their baseline and the
/// resident set stays flat over a long loop.</summary>
[Collection(SerialCollection.Name)]
public sealed class MemoryTests
{
    private static long ResidentBytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        throw new InvalidOperationException("VmRSS not found");
    }

    private static void Iteration(Tensor w, bool scoped)
    {
        if (scoped)
        {
            using var scope = DisposeScope.Open();
            var x = Randn([16, 32]);
            var y = Functional.Gelu(x.Matmul(w), true).Sum(1);
            _ = Functional.Softmax(y, 0).Max().ToDouble();
        }
        else
        {
            using var x = Randn([16, 32]);
            using var h = x.Matmul(w);
            using var y = Functional.Gelu(h, true);
            using var s = y.Sum();
            _ = s.ToDouble();
        }
    }

    [Fact]
    public void A_hundred_thousand_iterations_free_every_handle_and_keep_memory_flat()
    {
        using var w = Randn([32, 8]);
        for (var i = 0; i < 2_000; i++) Iteration(w, i % 2 == 0); // warm-up: JIT, allocator pools
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = Tensor.LiveCount;
        var nativeBaseline = Tensor.NativeLiveCount;
        var rss = ResidentBytes();

        for (var i = 0; i < 100_000; i++) Iteration(w, i % 2 == 0);

        Tensor.LiveCount.Should().Be(baseline, "every tensor was disposed explicitly or by its scope");
        Tensor.NativeLiveCount.Should().Be(nativeBaseline);
        var growth = ResidentBytes() - rss;
        growth.Should().BeLessThan(50L * 1024 * 1024, $"resident memory grew by {growth / 1024 / 1024} MB");
    }

    [Fact]
    public void A_dispose_scope_frees_temporaries_but_not_what_was_moved_out()
    {
        var before = Tensor.LiveCount;
        Tensor kept;
        Tensor detached;
        using (var outer = DisposeScope.Open())
        {
            using (DisposeScope.Open())
            {
                var t = Torch.Ones([3]) * 2 + 1;
                kept = t.MoveToOuterScope();
                detached = (t * 3).DetachFromScope();
                DisposeScope.Current!.Count.Should().Be(2, "Ones and the product remain in the inner scope");
            }
            kept.IsDisposed.Should().BeFalse();
            kept.ToArray<float>().Should().Equal(3, 3, 3);
            outer.Count.Should().Be(1);
        }
        kept.IsDisposed.Should().BeTrue("the outer scope owned it");
        detached.IsDisposed.Should().BeFalse();
        detached.Dispose();
        Tensor.LiveCount.Should().Be(before);
    }

    [Fact]
    public void Abandoned_tensors_are_freed_by_the_finalizer()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Tensor.NativeLiveCount;
        Allocate();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Tensor.NativeLiveCount.Should().Be(before);

        static void Allocate()
        {
            for (var i = 0; i < 100; i++) _ = Torch.Ones([10]);
        }
    }
}
