using System.Runtime.InteropServices;

namespace Reweighting.Torch.Native;

/// <summary>Turns the shim's failure signal into a TorchException with libtorch's message.</summary>
internal static class Errors
{
    /// <summary>Takes (and clears) this thread's native error message.</summary>
    internal static string TakeMessage()
    {
        var ptr = NativeMethods.rwt_last_error();
        var message = ptr == IntPtr.Zero ? "native call failed without a message" : Marshal.PtrToStringUTF8(ptr)!;
        NativeMethods.rwt_clear_error();
        return message;
    }

    internal static TorchException Failure(string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        var message = TakeMessage().TrimEnd();
        var shapes = new[] { a, b, c }.Where(t => t is not null && !t.IsDisposed).Select(t => t!.ShapeString()).ToList();
        var suffix = shapes.Count == 0 ? "" : $" (operand shapes: {string.Join(", ", shapes)})";
        return new TorchException($"{op} failed: {message}{suffix}");
    }

    /// <summary>Wraps a tensor-returning call's result, throwing on a null handle.</summary>
    internal static Tensor Wrap(IntPtr handle, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (handle == IntPtr.Zero) throw Failure(op, a, b, c);
        return new Tensor(new TensorHandle(handle));
    }

    internal static void Check(int status, string op, Tensor? a = null, Tensor? b = null, Tensor? c = null)
    {
        if (status < 0) throw Failure(op, a, b, c);
    }
}
