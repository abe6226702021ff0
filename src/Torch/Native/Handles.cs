using System.Runtime.InteropServices;

namespace Reweighting.Torch.Native;

/// <summary>Owns one native at::Tensor handle; releasing it frees the handle (not necessarily the storage,
/// which libtorch reference-counts across views).</summary>
public sealed class TensorHandle : SafeHandle
{
    private static long Live;

    /// <summary>The absent optional tensor (a null pointer on the native side).</summary>
    internal static readonly TensorHandle Null = new(IntPtr.Zero, owns: false);

    internal TensorHandle(IntPtr handle, bool owns = true) : base(IntPtr.Zero, owns)
    {
        SetHandle(handle);
        if (owns && handle != IntPtr.Zero) Interlocked.Increment(ref Live);
    }

    /// <summary>Tensor handles created by this process and not yet released.</summary>
    public static long LiveCount => Interlocked.Read(ref Live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rwt_tensor_free(handle);
        Interlocked.Decrement(ref Live);
        return true;
    }
}

/// <summary>Owns one native random-number generator.</summary>
public sealed class GeneratorHandle : SafeHandle
{
    internal static readonly GeneratorHandle Null = new(IntPtr.Zero, owns: false);

    internal GeneratorHandle(IntPtr handle, bool owns = true) : base(IntPtr.Zero, owns) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rwt_generator_free(handle);
        return true;
    }
}
