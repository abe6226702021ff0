using Reweighting.Torch.Native;

namespace Reweighting.Torch;

public sealed partial class Tensor
{
    private unsafe Tensor Reduce(ReduceOp op, long[] dims, bool keepDim)
    {
        fixed (long* d = dims)
            return Errors.Wrap(NativeMethods.rwt_reduce((int)op, Handle, d, dims.Length, keepDim ? 1 : 0), op.ToString().ToLowerInvariant(), this);
    }

    /// <summary>Sum of all elements (a 0-d tensor).</summary>
    public Tensor Sum() => Reduce(ReduceOp.Sum, [], false);
    public Tensor Sum(long dim, bool keepDim = false) => Reduce(ReduceOp.Sum, [dim], keepDim);
    public Tensor Sum(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Sum, dims, keepDim);

    public Tensor Mean() => Reduce(ReduceOp.Mean, [], false);
    public Tensor Mean(long dim, bool keepDim = false) => Reduce(ReduceOp.Mean, [dim], keepDim);
    public Tensor Mean(long[] dims, bool keepDim = false) => Reduce(ReduceOp.Mean, dims, keepDim);

    /// <summary>Largest element (a 0-d tensor).</summary>
    public Tensor Max() => Reduce(ReduceOp.Amax, [], false);

    public Tensor Min() => Reduce(ReduceOp.Amin, [], false);

    /// <summary>Largest values along a dimension (torch.amax; the gradient is shared among ties).</summary>
    public Tensor Amax(long dim, bool keepDim = false) => Reduce(ReduceOp.Amax, [dim], keepDim);

    public Tensor Amin(long dim, bool keepDim = false) => Reduce(ReduceOp.Amin, [dim], keepDim);

    public Tensor Prod() => Reduce(ReduceOp.Prod, [], false);
    public Tensor LogSumExp(long dim, bool keepDim = false) => Reduce(ReduceOp.LogSumExp, [dim], keepDim);
    public Tensor Any() => Reduce(ReduceOp.Any, [], false);
    public Tensor All() => Reduce(ReduceOp.All, [], false);

    /// <summary>L2 norm over all elements.</summary>
    public Tensor Norm() => Reduce(ReduceOp.Norm, [], false);
    public Tensor Norm(long dim, bool keepDim = false) => Reduce(ReduceOp.Norm, [dim], keepDim);

    /// <summary>Variance over one dimension, or over all elements when <paramref name="dim"/> is null; correction 0
    /// is the population variance, 1 the sample variance.</summary>
    public Tensor Var(long? dim = null, long correction = 1, bool keepDim = false) =>
        Var(dim.HasValue ? [dim.Value] : [], correction, keepDim);

    public unsafe Tensor Var(long[] dims, long correction = 1, bool keepDim = false)
    {
        fixed (long* d = dims)
            return Errors.Wrap(NativeMethods.rwt_var(Handle, d, dims.Length, correction, keepDim ? 1 : 0), "var", this);
    }

    /// <summary>Largest values along a dimension and their indices (torch.max(dim)).</summary>
    public (Tensor Values, Tensor Indices) Max(long dim, bool keepDim = false)
    {
        Errors.Check(NativeMethods.rwt_max_min_dim(0, Handle, dim, keepDim ? 1 : 0, out var v, out var i), "max", this);
        return (new Tensor(new TensorHandle(v)), new Tensor(new TensorHandle(i)));
    }

    public (Tensor Values, Tensor Indices) Min(long dim, bool keepDim = false)
    {
        Errors.Check(NativeMethods.rwt_max_min_dim(1, Handle, dim, keepDim ? 1 : 0, out var v, out var i), "min", this);
        return (new Tensor(new TensorHandle(v)), new Tensor(new TensorHandle(i)));
    }

    /// <summary>Index of the largest element of the flattened tensor.</summary>
    public Tensor Argmax() => Errors.Wrap(NativeMethods.rwt_argmax(Handle, 0, 0, 0), "argmax", this);

    public Tensor Argmax(long dim, bool keepDim = false) => Errors.Wrap(NativeMethods.rwt_argmax(Handle, dim, 1, keepDim ? 1 : 0), "argmax", this);

    /// <summary>The k largest (or smallest) values along a dimension and their indices.</summary>
    public (Tensor Values, Tensor Indices) TopK(long k, long dim = -1, bool largest = true, bool sorted = true)
    {
        Errors.Check(NativeMethods.rwt_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i), $"topk(k={k})", this);
        return (new Tensor(new TensorHandle(v)), new Tensor(new TensorHandle(i)));
    }

    public (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false)
    {
        Errors.Check(NativeMethods.rwt_sort(Handle, dim, descending ? 1 : 0, out var v, out var i), "sort", this);
        return (new Tensor(new TensorHandle(v)), new Tensor(new TensorHandle(i)));
    }

    public Tensor CumSum(long dim) => Errors.Wrap(NativeMethods.rwt_cumsum(Handle, dim), "cumsum", this);
}
