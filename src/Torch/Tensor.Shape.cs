using Reweighting.Torch.Native;

namespace Reweighting.Torch;

public sealed partial class Tensor
{
    private unsafe delegate IntPtr ShapeFn(TensorHandle a, long* shape, long ndim);

    private unsafe Tensor WithShape(ShapeFn fn, string op, ReadOnlySpan<long> shape)
    {
        fixed (long* s = shape) return Errors.Wrap(fn(Handle, s, shape.Length), $"{op}([{string.Join(", ", shape.ToArray())}])", this);
    }

    /// <summary>A view with a new shape (one dimension may be -1); the tensor must be compatible with it.</summary>
    public unsafe Tensor View(params long[] shape) => WithShape(NativeMethods.rwt_view, "view", shape);

    /// <summary>A view when possible, a copy otherwise.</summary>
    public unsafe Tensor Reshape(params long[] shape) => WithShape(NativeMethods.rwt_reshape, "reshape", shape);

    /// <summary>Broadcasts size-1 dimensions to <paramref name="shape"/> without copying.</summary>
    public unsafe Tensor Expand(params long[] shape) => WithShape(NativeMethods.rwt_expand, "expand", shape);

    public unsafe Tensor Permute(params long[] order) => WithShape(NativeMethods.rwt_permute, "permute", order);

    public Tensor Transpose(long dim0, long dim1) => Errors.Wrap(NativeMethods.rwt_transpose(Handle, dim0, dim1), "transpose", this);

    /// <summary>The slice [start, start+length) of dimension <paramref name="dim"/> (a view).</summary>
    public Tensor Narrow(long dim, long start, long length) => Errors.Wrap(NativeMethods.rwt_narrow(Handle, dim, start, length), "narrow", this);

    /// <summary>Index <paramref name="index"/> of dimension <paramref name="dim"/>, removing that dimension (a view).</summary>
    public Tensor Select(long dim, long index) => Errors.Wrap(NativeMethods.rwt_select(Handle, dim, index), "select", this);

    public Tensor Squeeze() => Errors.Wrap(NativeMethods.rwt_squeeze(Handle, 0, 0), "squeeze", this);
    public Tensor Squeeze(long dim) => Errors.Wrap(NativeMethods.rwt_squeeze(Handle, dim, 1), "squeeze", this);
    public Tensor Unsqueeze(long dim) => Errors.Wrap(NativeMethods.rwt_unsqueeze(Handle, dim), "unsqueeze", this);
    public Tensor Flatten(long startDim = 0, long endDim = -1) => Errors.Wrap(NativeMethods.rwt_flatten(Handle, startDim, endDim), "flatten", this);

    /// <summary>Rows (or slices along <paramref name="dim"/>) picked by an int64 index vector.</summary>
    public Tensor IndexSelect(long dim, Tensor index) => Errors.Wrap(NativeMethods.rwt_index_select(Handle, dim, index.Handle), "index_select", this, index);

    /// <summary>out[i][j] = this[i][index[i][j]] for dim 1 (torch.gather).</summary>
    public Tensor Gather(long dim, Tensor index) => Errors.Wrap(NativeMethods.rwt_gather(Handle, dim, index.Handle), "gather", this, index);

    /// <summary>A copy with <paramref name="source"/> written at <paramref name="index"/> along dim (torch.scatter).</summary>
    public Tensor Scatter(long dim, Tensor index, Tensor source) =>
        Errors.Wrap(NativeMethods.rwt_scatter(Handle, dim, index.Handle, source.Handle, 0), "scatter", this, index, source);

    /// <summary>A copy with <paramref name="source"/> added at <paramref name="index"/> along dim (torch.scatter_add).</summary>
    public Tensor ScatterAdd(long dim, Tensor index, Tensor source) =>
        Errors.Wrap(NativeMethods.rwt_scatter(Handle, dim, index.Handle, source.Handle, 1), "scatter_add", this, index, source);

    /// <summary>The elements where <paramref name="mask"/> is true, as a 1-D tensor.</summary>
    public Tensor MaskedSelect(Tensor mask) => Errors.Wrap(NativeMethods.rwt_masked_select(Handle, mask.Handle), "masked_select", this, mask);

    /// <summary>Lower triangle (elements above the given diagonal zeroed).</summary>
    public Tensor Tril(long diagonal = 0) => Errors.Wrap(NativeMethods.rwt_tril(Handle, diagonal), "tril", this);

    public Tensor Triu(long diagonal = 0) => Errors.Wrap(NativeMethods.rwt_triu(Handle, diagonal), "triu", this);

    /// <summary>This tensor on <paramref name="device"/> (a new handle to the same data when already there).</summary>
    public Tensor To(Device device, bool nonBlocking = false)
    {
        device.EnsureUsable();
        return Errors.Wrap(NativeMethods.rwt_to(Handle, -1, (int)device.Type, device.Index, nonBlocking ? 1 : 0), "to", this);
    }

    /// <summary>This tensor cast to <paramref name="dtype"/>.</summary>
    public Tensor To(ScalarType dtype) => Errors.Wrap(NativeMethods.rwt_to(Handle, (int)dtype, -1, 0, 0), "to", this);

    public Tensor To(Device device, ScalarType dtype, bool nonBlocking = false)
    {
        device.EnsureUsable();
        return Errors.Wrap(NativeMethods.rwt_to(Handle, (int)dtype, (int)device.Type, device.Index, nonBlocking ? 1 : 0), "to", this);
    }

    public Tensor Cpu() => To(Device.Cpu);

    /// <summary>A copy in page-locked host memory, so a later non-blocking copy to CUDA is asynchronous.</summary>
    public Tensor PinMemory() => Errors.Wrap(NativeMethods.rwt_pin_memory(Handle), "pin_memory", this);
}
