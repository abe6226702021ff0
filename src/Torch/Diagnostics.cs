using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>Probes of the binding itself, for benchmarks.</summary>
public static class Diagnostics
{
    /// <summary>Times <c>a + b</c> run <paramref name="n"/> times inside the native library (no binding in the loop): ns per op.</summary>
    public static double NativeAddNanoseconds(Tensor a, Tensor b, long n)
    {
        var ns = NativeMethods.rwt_bench_native_add(a.Handle, b.Handle, n);
        if (ns < 0) throw Errors.Failure("bench add", a, b);
        return ns;
    }

    /// <summary>An empty native call: the floor of the P/Invoke cost.</summary>
    public static int Noop() => NativeMethods.rwt_noop(1);
}
