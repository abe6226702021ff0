using Reweighting.Torch.Native;

namespace Reweighting.Torch.NN;

/// <summary>torch.nn.utils.clip_grad_norm_.</summary>
public static class GradientClipping
{
    /// <summary>Scales the gradients of <paramref name="parameters"/> so their joint L2 norm is at most
    /// <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double ClipGradNorm(IReadOnlyList<Tensor> parameters, double maxNorm)
    {
        using var norm = ClipGradNormDeferred(parameters, maxNorm);
        return norm.ToDouble();
    }

    /// <summary>Clips as <see cref="ClipGradNorm"/> but returns the norm before clipping as a 0-d tensor on the
    /// gradients' device without waiting for it, so a training step can queue its optimiser update first and read
    /// the norm once, at the end (a float32 zero on the CPU when no parameter has a gradient).</summary>
    public static unsafe Tensor ClipGradNormDeferred(IReadOnlyList<Tensor> parameters, double maxNorm)
    {
        if (maxNorm <= 0) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "must be positive");
        var ptrs = Tensor.Pointers(parameters);
        IntPtr handle;
        fixed (IntPtr* p = ptrs) handle = NativeMethods.rwt_clip_grad_norm_deferred(p, ptrs.Length, maxNorm);
        GC.KeepAlive(parameters);
        return Errors.Wrap(handle, "clip_grad_norm");
    }
}
