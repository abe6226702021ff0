using System.Diagnostics;
using System.Text.Json;
using Reweighting.Torch;
using static Reweighting.Torch.Torch;

namespace Reweighting.Cli.Bench;

/// <summary>The binding's per-call overhead and float32 matmul throughput. The overhead is the time of a
/// tiny op through the binding (P/Invoke, SafeHandle, dispose) minus the same op timed inside the library;
/// the matmul figures are compared, by bench/run.sh, with the same operations in Python's torch.</summary>
internal static class TorchBenchmark
{
    public static int Run(string? jsonPath)
    {
        var results = new Dictionary<string, object>
        {
            ["libtorch"] = LibTorchVersion,
            ["threads"] = NumThreads,
        };

        using var a = Ones([4]);
        using var b = Ones([4]);
        const int calls = 200_000;
        for (var i = 0; i < 20_000; i++) (a + b).Dispose();  // warm-up (JIT, allocator)
        var nativeNs = Median(5, () => NativeAddNs(a, b, calls));
        var bindingNs = Median(5, () => Time(calls, () => (a + b).Dispose()));
        var noopNs = Median(5, () => Time(calls * 10, () => NoopCall()));
        results["tiny_add_binding_ns"] = bindingNs;
        results["tiny_add_native_ns"] = nativeNs;
        results["binding_overhead_ns"] = bindingNs - nativeNs;
        results["pinvoke_floor_ns"] = noopNs;
        Console.WriteLine($"tiny add through the binding   {bindingNs,10:F0} ns/call");
        Console.WriteLine($"tiny add inside libtorch       {nativeNs,10:F0} ns/call");
        Console.WriteLine($"binding overhead               {bindingNs - nativeNs,10:F0} ns/call   (goal < 2000)");
        Console.WriteLine($"empty P/Invoke                 {noopNs,10:F1} ns/call");

        foreach (var n in new[] { 1024, 4096 })
        {
            using var x = Randn([n, n]);
            using var y = Randn([n, n]);
            var reps = n == 1024 ? 20 : 2;
            x.Matmul(y).Dispose();
            var seconds = Median(3, () => Time(reps, () => x.Matmul(y).Dispose()) / 1e9);
            var gflops = 2.0 * n * n * n / seconds / 1e9;
            results[$"matmul_{n}_gflops"] = gflops;
            Console.WriteLine($"float32 matmul {n}x{n}          {gflops,10:F1} GFLOP/s");
        }

        if (jsonPath is not null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    private static double NativeAddNs(Tensor a, Tensor b, int n) => Reweighting.Torch.Diagnostics.NativeAddNanoseconds(a, b, n);

    private static void NoopCall() => Reweighting.Torch.Diagnostics.Noop();

    /// <summary>Nanoseconds per call of <paramref name="action"/>.</summary>
    private static double Time(int n, Action action)
    {
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < n; i++) action();
        return sw.Elapsed.TotalNanoseconds / n;
    }

    private static double Median(int runs, Func<double> measure)
    {
        var xs = Enumerable.Range(0, runs).Select(_ => measure()).OrderBy(v => v).ToArray();
        return xs[runs / 2];
    }
}
