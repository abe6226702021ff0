using Reweighting.Torch.Native;

namespace Reweighting.Torch;

public sealed partial class Tensor
{
    /// <summary>Whether autograd records operations on this tensor; settable on leaves.</summary>
    public bool RequiresGrad
    {
        get
        {
            Errors.Check(NativeMethods.rwt_tensor_info(Handle, out _, out _, out _, out _, out var rg), "requires_grad", this);
            return rg == 1;
        }
        set => Errors.Check(NativeMethods.rwt_set_requires_grad(Handle, value ? 1 : 0), "requires_grad_", this);
    }

    /// <summary>Sets <see cref="RequiresGrad"/> and returns this tensor.</summary>
    public Tensor RequiresGradInPlace(bool requires = true)
    {
        RequiresGrad = requires;
        return this;
    }

    public bool IsLeaf => NativeMethods.rwt_is_leaf(Handle) == 1;

    /// <summary>Accumulates d(this)/d(leaf) into every leaf's <see cref="Grad"/>. <paramref name="gradient"/> is
    /// required unless this is a scalar; <paramref name="createGraph"/> records the backward pass itself, for
    /// higher-order derivatives.</summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false) =>
        Errors.Check(NativeMethods.rwt_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retainGraph || createGraph ? 1 : 0, createGraph ? 1 : 0),
            "backward", this, gradient);

    /// <summary>The accumulated gradient (a new handle to it), or null when there is none.</summary>
    public Tensor? Grad
    {
        get
        {
            Errors.Check(NativeMethods.rwt_grad(Handle, out var g), "grad", this);
            return g == IntPtr.Zero ? null : new Tensor(new TensorHandle(g));
        }
        set => Errors.Check(NativeMethods.rwt_set_grad(Handle, value?.Handle ?? TensorHandle.Null), "set grad", this, value);
    }
}

/// <summary>Gradients of chosen outputs with respect to chosen inputs (torch.autograd.grad).</summary>
public static class Autograd
{
    /// <summary>d(sum of outputs weighted by gradOutputs)/d(inputs). A null entry in the result means the
    /// input was unused (only with <paramref name="allowUnused"/>).</summary>
    public static unsafe Tensor?[] Grad(IReadOnlyList<Tensor> outputs, IReadOnlyList<Tensor> inputs,
        IReadOnlyList<Tensor?>? gradOutputs = null, bool retainGraph = false, bool createGraph = false, bool allowUnused = false)
    {
        if (gradOutputs is not null && gradOutputs.Count != outputs.Count)
            throw new ArgumentException($"{gradOutputs.Count} output gradients for {outputs.Count} outputs");
        var outs = Tensor.Pointers(outputs);
        var ins = Tensor.Pointers(inputs);
        var gouts = gradOutputs?.Select(g => g?.RawHandle ?? IntPtr.Zero).ToArray();
        var results = new IntPtr[inputs.Count];
        int status;
        fixed (IntPtr* o = outs)
        fixed (IntPtr* i = ins)
        fixed (IntPtr* g = gouts)
        fixed (IntPtr* r = results)
            status = NativeMethods.rwt_autograd_grad(o, outs.Length, i, ins.Length, gouts is null ? null : g,
                retainGraph || createGraph ? 1 : 0, createGraph ? 1 : 0, allowUnused ? 1 : 0, r);
        GC.KeepAlive(outputs);
        GC.KeepAlive(inputs);
        GC.KeepAlive(gradOutputs);
        Errors.Check(status, "autograd.grad", outputs.Count > 0 ? outputs[0] : null, inputs.Count > 0 ? inputs[0] : null);
        return results.Select(p => p == IntPtr.Zero ? null : new Tensor(new TensorHandle(p))).ToArray();
    }

    /// <summary>Zeroes, or drops when <paramref name="setToNone"/>, the gradients of <paramref name="tensors"/> in one call.</summary>
    public static unsafe void ZeroGrad(IReadOnlyList<Tensor> tensors, bool setToNone = true)
    {
        var ptrs = Tensor.Pointers(tensors);
        int status;
        fixed (IntPtr* p = ptrs) status = NativeMethods.rwt_zero_grad(p, ptrs.Length, setToNone ? 1 : 0);
        GC.KeepAlive(tensors);
        Errors.Check(status, "zero_grad");
    }
}
