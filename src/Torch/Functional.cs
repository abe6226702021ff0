using Reweighting.Torch.Native;

namespace Reweighting.Torch;

/// <summary>How a loss reduces over its elements; the values are libtorch's.</summary>
public enum Reduction
{
    None = 0,
    Mean = 1,
    Sum = 2,
}

/// <summary>Stateless neural-network functions (torch.nn.functional).</summary>
public static class Functional
{
    /// <summary>Rows of <paramref name="weight"/> (V, C) picked by integer <paramref name="indices"/>: shape indices.shape + (C).</summary>
    public static Tensor Embedding(Tensor indices, Tensor weight) =>
        Errors.Wrap(NativeMethods.rwt_embedding(weight.Handle, indices.Handle), "embedding", weight, indices);

    /// <summary>x @ weightᵀ + bias, weight of shape (out, in).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null) =>
        Errors.Wrap(NativeMethods.rwt_linear(x.Handle, weight.Handle, bias?.Handle ?? TensorHandle.Null), "linear", x, weight, bias);

    /// <summary>Normalises over the trailing <paramref name="normalizedShape"/> dimensions.</summary>
    public static unsafe Tensor LayerNorm(Tensor x, long[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        fixed (long* s = normalizedShape)
            return Errors.Wrap(NativeMethods.rwt_layer_norm(x.Handle, s, normalizedShape.Length, weight?.Handle ?? TensorHandle.Null,
                bias?.Handle ?? TensorHandle.Null, eps), "layer_norm", x, weight);
    }

    /// <summary>GELU; the tanh approximation is GPT-2's.</summary>
    public static Tensor Gelu(Tensor x, bool tanhApproximation = false) =>
        Errors.Wrap(NativeMethods.rwt_unary((int)(tanhApproximation ? UnaryOp.GeluTanh : UnaryOp.Gelu), x.Handle), "gelu", x);

    /// <summary>Softmax along <paramref name="dim"/>, computed in <paramref name="dtype"/> when given.</summary>
    public static Tensor Softmax(Tensor x, long dim, ScalarType? dtype = null) =>
        Errors.Wrap(NativeMethods.rwt_softmax(x.Handle, dim, dtype.HasValue ? (int)dtype.Value : -1), "softmax", x);

    public static Tensor LogSoftmax(Tensor x, long dim, ScalarType? dtype = null) =>
        Errors.Wrap(NativeMethods.rwt_log_softmax(x.Handle, dim, dtype.HasValue ? (int)dtype.Value : -1), "log_softmax", x);

    /// <summary>Cross entropy of <paramref name="logits"/> (N, C) against class indices (N) or class
    /// probabilities (N, C). Targets equal to <paramref name="ignoreIndex"/> contribute 0 and, with
    /// <see cref="Reduction.Mean"/>, are left out of the mean.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor target, Reduction reduction = Reduction.Mean, long ignoreIndex = -100,
        double labelSmoothing = 0, Tensor? weight = null) =>
        Errors.Wrap(NativeMethods.rwt_cross_entropy(logits.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null, (int)reduction,
            ignoreIndex, labelSmoothing), "cross_entropy", logits, target);

    /// <summary>Zeroes elements with probability p and scales the rest by 1/(1-p) when training; identity otherwise.
    /// The mask comes from <paramref name="generator"/> when given, else from the global generator.</summary>
    public static Tensor Dropout(Tensor x, double p, bool training, Generator? generator = null)
    {
        if (p is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1]");
        return Errors.Wrap(NativeMethods.rwt_dropout(x.Handle, p, training ? 1 : 0, generator?.Handle ?? GeneratorHandle.Null), "dropout", x);
    }

    /// <summary>softmax(q kᵀ/√d + mask) v over (B, nh, T, hs) inputs, causal when asked. Uses libtorch's fused
    /// scaled-dot-product attention where it exists (libtorch ≥ 2.0) unless <paramref name="forceExplicit"/>;
    /// the explicit matmul/mask/softmax path otherwise. A boolean mask keeps positions where it is true; a float
    /// mask is added to the scores. The explicit path's dropout draws from <paramref name="generator"/> when given.</summary>
    public static Tensor ScaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor? mask = null, double dropoutP = 0,
        bool isCausal = false, bool forceExplicit = false, Generator? generator = null) =>
        Errors.Wrap(NativeMethods.rwt_attention(q.Handle, k.Handle, v.Handle, mask?.Handle ?? TensorHandle.Null, dropoutP,
            isCausal ? 1 : 0, forceExplicit || ExplicitAttentionDepth > 0 ? 1 : 0, generator?.Handle ?? GeneratorHandle.Null),
            "scaled_dot_product_attention", q, k, v);

    [ThreadStatic] private static int ExplicitAttentionDepth;

    /// <summary>Until disposed, attention on this thread takes the explicit path even where a fused kernel exists: the
    /// fused kernels' backward passes cannot be differentiated again, so double backward (create_graph) needs it.</summary>
    public static ExplicitAttentionScope ExplicitAttention()
    {
        ExplicitAttentionDepth++;
        return new ExplicitAttentionScope();
    }

    /// <summary>Ends an <see cref="ExplicitAttention"/> region.</summary>
    public readonly struct ExplicitAttentionScope : IDisposable
    {
        public void Dispose() => ExplicitAttentionDepth--;
    }
}
