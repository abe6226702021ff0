using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>Tensor creation, random numbers, grad mode and autocast: the <c>torch.*</c> namespace.</summary>
public static partial class Torch
{
    /// <summary>The version of the libtorch the native library was built against.</summary>
    public static string LibTorchVersion =>
        System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeMethods.rwt_torch_version()) ?? "unknown";

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (row-major).</summary>
    public static unsafe Tensor FromSpan<T>(ReadOnlySpan<T> data, ReadOnlySpan<long> shape, Device? device = null) where T : unmanaged
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        long count = 1;
        foreach (var s in shape) count *= s;
        if (count != data.Length)
            throw new ArgumentException($"{data.Length} elements do not fill shape [{string.Join(", ", shape.ToArray())}] ({count} elements)");
        fixed (T* p = data)
        fixed (long* s = shape)
            return Errors.Wrap(NativeMethods.rwt_tensor_from_data(p, (long)data.Length * sizeof(T), s, shape.Length,
                (int)ScalarTypes.Of<T>(), (int)dev.Type, dev.Index), "from_data");
    }

    /// <summary>A 1-D tensor (or the given shape) holding a copy of <paramref name="data"/>.</summary>
    public static Tensor FromArray<T>(T[] data, params long[] shape) where T : unmanaged =>
        FromSpan<T>(data, shape.Length == 0 ? [data.LongLength] : shape);

    /// <summary>A tensor built from raw little-endian element bytes (checkpoint readers).</summary>
    public static unsafe Tensor FromBytes(ReadOnlySpan<byte> bytes, ScalarType dtype, ReadOnlySpan<long> shape, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        fixed (byte* p = bytes)
        fixed (long* s = shape)
            return Errors.Wrap(NativeMethods.rwt_tensor_from_data(p, bytes.Length, s, shape.Length, (int)dtype, (int)dev.Type, dev.Index), "from_bytes");
    }

    private unsafe delegate IntPtr Factory(long* shape, long ndim, int dtype, int deviceType, int deviceIndex);

    private static unsafe Tensor Create(Factory factory, string op, ReadOnlySpan<long> shape, ScalarType dtype, Device? device)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        fixed (long* s = shape) return Errors.Wrap(factory(s, shape.Length, (int)dtype, (int)dev.Type, dev.Index), op);
    }

    public static unsafe Tensor Empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Create(NativeMethods.rwt_empty, "empty", shape, dtype, device);

    public static unsafe Tensor Zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Create(NativeMethods.rwt_zeros, "zeros", shape, dtype, device);

    public static unsafe Tensor Ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Create(NativeMethods.rwt_ones, "ones", shape, dtype, device);

    public static unsafe Tensor Full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        fixed (long* s = shape) return Errors.Wrap(NativeMethods.rwt_full(s, shape.Length, value, (int)dtype, (int)dev.Type, dev.Index), "full");
    }

    /// <summary>Zeros with the shape, dtype and device of <paramref name="like"/>.</summary>
    public static Tensor ZerosLike(Tensor like) => Zeros(like.Shape, like.DType, like.Device);

    public static Tensor OnesLike(Tensor like) => Ones(like.Shape, like.DType, like.Device);

    /// <summary>Values start, start+step, ... below end.</summary>
    public static Tensor Arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        return Errors.Wrap(NativeMethods.rwt_arange(start, end, step, (int)dtype, (int)dev.Type, dev.Index), "arange");
    }

    public static Tensor Arange(long end, ScalarType dtype = ScalarType.Int64, Device? device = null) => Arange(0, end, 1, dtype, device);

    /// <summary>A zero-dimensional tensor.</summary>
    public static Tensor Scalar(double value, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        return Errors.Wrap(NativeMethods.rwt_scalar_tensor(value, (int)dtype, (int)dev.Type, dev.Index), "scalar_tensor");
    }

    /// <summary>Seeds the global generators of every device.</summary>
    public static void ManualSeed(ulong seed) => Errors.Check(NativeMethods.rwt_manual_seed(seed), "manual_seed");

    private unsafe delegate IntPtr RandomFactory(long* shape, long ndim, GeneratorHandle g, int dtype, int deviceType, int deviceIndex);

    private static unsafe Tensor Random(RandomFactory factory, string op, long[] shape, Generator? generator, ScalarType dtype, Device? device)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        fixed (long* s = shape)
            return Errors.Wrap(factory(s, shape.Length, generator?.Handle ?? GeneratorHandle.Null, (int)dtype, (int)dev.Type, dev.Index), op);
    }

    /// <summary>Standard normal samples.</summary>
    public static unsafe Tensor Randn(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Random(NativeMethods.rwt_randn, "randn", shape, generator, dtype, device);

    /// <summary>Uniform samples in [0, 1).</summary>
    public static unsafe Tensor Rand(long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Random(NativeMethods.rwt_rand, "rand", shape, generator, dtype, device);

    /// <summary>Uniform integers in [low, high).</summary>
    public static unsafe Tensor RandInt(long low, long high, long[] shape, Generator? generator = null, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        fixed (long* s = shape)
            return Errors.Wrap(NativeMethods.rwt_randint(low, high, s, shape.Length, generator?.Handle ?? GeneratorHandle.Null, (int)dtype, (int)dev.Type, dev.Index), "randint");
    }

    /// <summary>Concatenates along an existing dimension.</summary>
    public static unsafe Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var ptrs = Tensor.Pointers(tensors);
        fixed (IntPtr* p = ptrs)
        {
            var r = NativeMethods.rwt_cat(p, ptrs.Length, dim);
            GC.KeepAlive(tensors);
            return Errors.Wrap(r, "cat", tensors.Count > 0 ? tensors[0] : null, tensors.Count > 1 ? tensors[1] : null);
        }
    }

    /// <summary>Stacks along a new dimension.</summary>
    public static unsafe Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var ptrs = Tensor.Pointers(tensors);
        fixed (IntPtr* p = ptrs)
        {
            var r = NativeMethods.rwt_stack(p, ptrs.Length, dim);
            GC.KeepAlive(tensors);
            return Errors.Wrap(r, "stack", tensors.Count > 0 ? tensors[0] : null, tensors.Count > 1 ? tensors[1] : null);
        }
    }

    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        Errors.Wrap(NativeMethods.rwt_where(condition.Handle, a.Handle, b.Handle), "where", condition, a, b);

    /// <summary>Disables gradient recording on this thread until disposed (torch.no_grad()).</summary>
    public static GradModeScope NoGrad() => new(false);

    /// <summary>Enables gradient recording on this thread until disposed (torch.enable_grad()).</summary>
    public static GradModeScope EnableGrad() => new(true);

    /// <summary>Whether gradient recording is on for this thread.</summary>
    public static bool IsGradEnabled => NativeMethods.rwt_is_grad_enabled() == 1;

    /// <summary>Runs eligible ops on <paramref name="deviceType"/> in <paramref name="dtype"/> (bfloat16 by
    /// default) until disposed (torch.autocast).</summary>
    public static AutocastScope Autocast(DeviceType deviceType, ScalarType dtype = ScalarType.BFloat16) => new(deviceType, dtype);

    /// <summary>Whether an autocast region for <paramref name="deviceType"/> is open on this thread.</summary>
    public static bool IsAutocastEnabled(DeviceType deviceType)
    {
        var state = NativeMethods.rwt_autocast_is_enabled((int)deviceType);
        Errors.Check(state < 0 ? -1 : 0, "autocast state");
        return state == 1;
    }

    /// <summary>Threads libtorch uses for intra-op parallelism.</summary>
    public static int NumThreads
    {
        get => NativeMethods.rwt_get_num_threads();
        set => Errors.Check(NativeMethods.rwt_set_num_threads(value), "set_num_threads");
    }

    /// <summary>Flushes denormal floats to zero in CPU kernels (torch.set_flush_denormal), on this thread and libtorch's
    /// intra-op workers. Freshly initialised models produce many denormals, which x86 CPUs compute many times slower.
    /// Returns false when the CPU cannot.</summary>
    public static bool SetFlushDenormal(bool on)
    {
        var r = NativeMethods.rwt_set_flush_denormal(on ? 1 : 0);
        Errors.Check(r < 0 ? r : 0, "set_flush_denormal");
        return r == 1;
    }

    /// <summary>True when the loaded libtorch has fused scaled-dot-product attention (libtorch ≥ 2.0).</summary>
    public static bool HasFusedAttention => NativeMethods.rwt_has_fused_attention() == 1;
}

/// <summary>Restores the previous grad mode when disposed.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly int _previous;

    internal GradModeScope(bool enabled)
    {
        _previous = NativeMethods.rwt_set_grad_enabled(enabled ? 1 : 0);
        Errors.Check(_previous, "set_grad_enabled");
    }

    public void Dispose() => NativeMethods.rwt_set_grad_enabled(_previous);
}

/// <summary>Leaves the autocast region when disposed.</summary>
public readonly struct AutocastScope : IDisposable
{
    private readonly DeviceType _device;
    private readonly int _previous;

    internal AutocastScope(DeviceType device, ScalarType dtype)
    {
        if (device == DeviceType.Cuda) Device.Cuda().EnsureUsable();
        this._device = device;
        _previous = NativeMethods.rwt_autocast_enter((int)device, (int)dtype);
        Errors.Check(_previous, "autocast");
    }

    public void Dispose() => Errors.Check(NativeMethods.rwt_autocast_exit((int)_device, _previous), "autocast exit");
}

/// <summary>A seeded random-number generator for one device, independent of the global one.</summary>
public sealed class Generator : IDisposable
{
    internal GeneratorHandle Handle { get; }

    public Generator(ulong seed, Device? device = null)
    {
        var dev = device ?? Device.Cpu;
        dev.EnsureUsable();
        var h = NativeMethods.rwt_generator_new(seed, (int)dev.Type, dev.Index);
        if (h == IntPtr.Zero) throw Errors.Failure("generator");
        Handle = new GeneratorHandle(h);
    }

    /// <summary>Re-seeds the generator.</summary>
    public void ManualSeed(ulong seed) => Errors.Check(NativeMethods.rwt_generator_seed(Handle, seed), "generator manual_seed");

    /// <summary>The full generator state as a byte tensor (to checkpoint).</summary>
    public Tensor GetState() => Errors.Wrap(NativeMethods.rwt_generator_get_state(Handle), "generator get_state");

    /// <summary>Restores a state obtained from <see cref="GetState"/>.</summary>
    public void SetState(Tensor state) => Errors.Check(NativeMethods.rwt_generator_set_state(Handle, state.Handle), "generator set_state", state);

    public void Dispose() => Handle.Dispose();
}
