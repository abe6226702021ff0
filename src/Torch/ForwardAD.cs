using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>Forward-mode automatic differentiation (torch.autograd.forward_ad): inside a <see cref="DualLevel"/>, tensors
/// given a tangent carry it through every operation, so one forward pass yields the directional derivative
/// (Jacobian-vector product) of each output along the tangents. Unlike finite differences it perturbs nothing, so it
/// holds its accuracy in bfloat16 autocast. libtorch allows one level per process at a time: <see cref="Enter"/> waits
/// for a level another thread holds.</summary>
public static class ForwardAD
{
    private static readonly Lock Gate = new();

    /// <summary>Opens a dual level; dispose it to clear every tangent given in it. Attention inside it takes the explicit
    /// path (the fused kernels lack forward derivatives in some libtorch versions).</summary>
    public static DualLevel Enter()
    {
        Gate.Enter();
        try
        {
            Errors.Check(NativeMethods.rwt_enter_dual_level(out var level), "enter_dual_level");
            return new DualLevel(level, Functional.ExplicitAttention());
        }
        catch
        {
            Gate.Exit();
            throw;
        }
    }

    /// <summary>An open dual level.</summary>
    public sealed class DualLevel : IDisposable
    {
        private readonly Functional.ExplicitAttentionScope _attention;
        private bool _disposed;

        internal DualLevel(long level, Functional.ExplicitAttentionScope attention)
        {
            Level = level;
            this._attention = attention;
        }

        public long Level { get; }

        /// <summary>Gives <paramref name="tensor"/> (e.g. a parameter, in place) the tangent <paramref name="tangent"/>
        /// of the same shape, dtype and device.</summary>
        public void SetTangent(Tensor tensor, Tensor tangent)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Errors.Check(NativeMethods.rwt_set_forward_grad(tensor.Handle, tangent.Handle, Level), "set forward grad", tensor, tangent);
        }

        /// <summary>The tangent <paramref name="tensor"/> carries at this level (a new handle), or null when it carries none.</summary>
        public Tensor? Tangent(Tensor tensor)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Errors.Check(NativeMethods.rwt_forward_grad(tensor.Handle, Level, out var t), "forward grad", tensor);
            return t == IntPtr.Zero ? null : new Tensor(new TensorHandle(t));
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                _attention.Dispose();
                Errors.Check(NativeMethods.rwt_exit_dual_level(Level), "exit_dual_level");
            }
            finally
            {
                Gate.Exit();
            }
        }
    }
}
