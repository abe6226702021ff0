using System.Runtime.InteropServices;
using System.Text;
using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>A libtorch tensor. Dispose it (or let a <see cref="DisposeScope"/> do so) to free native memory
/// deterministically; the finalizer is only a safety net.</summary>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorHandle _handle;
    private long[]? _shape;
    private ScalarType _dtype;
    private Device _device;

    internal Tensor(TensorHandle handle)
    {
        this._handle = handle;
        DisposeScope.Current?.Add(this);
    }

    /// <summary>The scope that will free this tensor, if any.</summary>
    internal DisposeScope? Scope { get; set; }

    /// <summary>Tensors alive in this process (handles not yet freed), for leak checks.</summary>
    public static long LiveCount => TensorHandle.LiveCount;

    /// <summary>Native tensor handles alive in the shim, as counted there.</summary>
    public static long NativeLiveCount => NativeMethods.rwt_live_tensors();

    internal TensorHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle;
        }
    }

    /// <summary>The raw pointer for calls that take arrays of tensors; callers keep the tensor alive.</summary>
    internal IntPtr RawHandle => Handle.DangerousGetHandle();

    public bool IsDisposed => _handle.IsClosed;

    public void Dispose() => _handle.Dispose();

    /// <summary>Removes this tensor from its dispose scope, handing it to the enclosing scope (or to the
    /// caller when there is none). Returns this tensor.</summary>
    public Tensor MoveToOuterScope()
    {
        var outer = Scope?.Outer;
        Scope = null;
        outer?.Add(this);
        return this;
    }

    /// <summary>Removes this tensor from every dispose scope: the caller now owns it. Returns this tensor.</summary>
    public Tensor DetachFromScope()
    {
        Scope = null;
        return this;
    }

    private void LoadInfo()
    {
        Errors.Check(NativeMethods.rwt_tensor_info(Handle, out var ndim, out var dt, out var devType, out var devIndex, out _), "info", this);
        var s = new long[ndim];
        unsafe
        {
            fixed (long* p = s) Errors.Check(NativeMethods.rwt_tensor_shape(Handle, p, ndim), "shape", this);
        }
        _dtype = (ScalarType)dt;
        _device = new Device((DeviceType)devType, devIndex);
        _shape = s;
    }

    /// <summary>The sizes of the dimensions (a copy).</summary>
    public long[] Shape
    {
        get
        {
            if (_shape is null) LoadInfo();
            return (long[])_shape!.Clone();
        }
    }

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long Size(int dim)
    {
        if (_shape is null) LoadInfo();
        var d = dim < 0 ? dim + _shape!.Length : dim;
        if (d < 0 || d >= _shape!.Length) throw new ArgumentOutOfRangeException(nameof(dim), $"dimension {dim} out of range for shape {ShapeString()}");
        return _shape[d];
    }

    public int Dim
    {
        get
        {
            if (_shape is null) LoadInfo();
            return _shape!.Length;
        }
    }

    public long NumberOfElements
    {
        get
        {
            if (_shape is null) LoadInfo();
            long n = 1;
            foreach (var s in _shape!) n *= s;
            return n;
        }
    }

    public ScalarType DType
    {
        get
        {
            if (_shape is null) LoadInfo();
            return _dtype;
        }
    }

    public Device Device
    {
        get
        {
            if (_shape is null) LoadInfo();
            return _device;
        }
    }

    public bool IsContiguous => NativeMethods.rwt_tensor_is_contiguous(Handle) == 1;

    /// <summary>The shape as "[2, 3]".</summary>
    public string ShapeString() => IsDisposed ? "[disposed]" : "[" + string.Join(", ", Shape) + "]";

    /// <summary>The single element as a double (the tensor must hold exactly one element).</summary>
    public double ToDouble()
    {
        Errors.Check(NativeMethods.rwt_tensor_item_double(Handle, out var v), "item", this);
        return v;
    }

    public float ToSingle() => (float)ToDouble();

    /// <summary>The single element as an integer (the tensor must hold exactly one element).</summary>
    public long ToInt64()
    {
        Errors.Check(NativeMethods.rwt_tensor_item_long(Handle, out var v), "item", this);
        return v;
    }

    /// <summary>Copies all elements, row-major, into a new array of the tensor's element type T.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        var result = new T[NumberOfElements];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies all elements, row-major, into <paramref name="destination"/>, whose length must equal the
    /// element count and whose type must match the tensor's dtype (no per-element marshalling).</summary>
    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        EnsureElementType<T>();
        if (destination.Length != NumberOfElements)
            throw new ArgumentException($"destination holds {destination.Length} elements, tensor {ShapeString()} has {NumberOfElements}");
        fixed (T* p = destination)
            Errors.Check(NativeMethods.rwt_tensor_copy_to(Handle, p, (long)destination.Length * sizeof(T)), "copy_to", this);
    }

    /// <summary>Overwrites the elements in place from <paramref name="source"/> (same count and element type).</summary>
    public unsafe void CopyFrom<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        EnsureElementType<T>();
        if (source.Length != NumberOfElements)
            throw new ArgumentException($"source holds {source.Length} elements, tensor {ShapeString()} has {NumberOfElements}");
        fixed (T* p = source)
            Errors.Check(NativeMethods.rwt_tensor_copy_from(Handle, p, (long)source.Length * sizeof(T)), "copy_from", this);
    }

    /// <summary>The raw little-endian bytes of the elements, row-major (for checkpoint writers).</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[NumberOfElements * DType.ElementSize()];
        CopyBytesTo(bytes);
        return bytes;
    }

    /// <summary>Copies the raw element bytes into <paramref name="destination"/> (exactly numel × element size).</summary>
    public unsafe void CopyBytesTo(Span<byte> destination)
    {
        fixed (byte* p = destination)
            Errors.Check(NativeMethods.rwt_tensor_copy_to(Handle, p, destination.Length), "copy_to", this);
    }

    /// <summary>Overwrites the elements from raw little-endian bytes (exactly numel × element size).</summary>
    public unsafe void CopyBytesFrom(ReadOnlySpan<byte> source)
    {
        fixed (byte* p = source)
            Errors.Check(NativeMethods.rwt_tensor_copy_from(Handle, p, source.Length), "copy_from", this);
    }

    private void EnsureElementType<T>() where T : unmanaged
    {
        var expected = ScalarTypes.Of<T>();
        if (expected != DType)
            throw new ArgumentException($"tensor has dtype {DType}, not {expected} ({typeof(T).Name}); cast it with To({expected}) first");
    }

    /// <summary>libtorch's rendering of the values.</summary>
    public override string ToString()
    {
        if (IsDisposed) return "Tensor(disposed)";
        unsafe
        {
            var n = NativeMethods.rwt_tensor_to_string(Handle, null, 0);
            if (n < 0) throw Errors.Failure("to_string", this);
            var buffer = new byte[n + 1];
            fixed (byte* p = buffer) NativeMethods.rwt_tensor_to_string(Handle, p, buffer.Length);
            return Encoding.UTF8.GetString(buffer, 0, (int)n);
        }
    }

    /// <summary>Raw pointers of a list of tensors, for array-taking native calls. Keep the tensors alive
    /// (GC.KeepAlive) until the call returns.</summary>
    internal static IntPtr[] Pointers(IReadOnlyList<Tensor> tensors)
    {
        var ptrs = new IntPtr[tensors.Count];
        for (var i = 0; i < ptrs.Length; i++) ptrs[i] = tensors[i].RawHandle;
        return ptrs;
    }
}
