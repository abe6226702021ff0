using Reweighting.Torch.Native;

namespace Reweighting.Torch;

public sealed partial class Tensor
{
    private Tensor Unary(UnaryOp op) => Errors.Wrap(NativeMethods.rwt_unary((int)op, Handle), op.ToString().ToLowerInvariant(), this);

    private Tensor Binary(BinaryOp op, Tensor other) =>
        Errors.Wrap(NativeMethods.rwt_binary((int)op, Handle, other.Handle), op.ToString().ToLowerInvariant(), this, other);

    private Tensor Binary(BinaryOp op, double scalar) =>
        Errors.Wrap(NativeMethods.rwt_binary_scalar((int)op, Handle, scalar), op.ToString().ToLowerInvariant(), this);

    public Tensor Neg() => Unary(UnaryOp.Neg);
    public Tensor Exp() => Unary(UnaryOp.Exp);
    public Tensor Log() => Unary(UnaryOp.Log);
    public Tensor Log1p() => Unary(UnaryOp.Log1p);
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor Abs() => Unary(UnaryOp.Abs);
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor Relu() => Unary(UnaryOp.Relu);
    public Tensor Square() => Unary(UnaryOp.Square);
    public Tensor Sin() => Unary(UnaryOp.Sin);
    public Tensor Cos() => Unary(UnaryOp.Cos);
    public Tensor Erf() => Unary(UnaryOp.Erf);
    public Tensor Floor() => Unary(UnaryOp.Floor);
    public Tensor Ceil() => Unary(UnaryOp.Ceil);
    public Tensor Sign() => Unary(UnaryOp.Sign);
    public Tensor Reciprocal() => Unary(UnaryOp.Reciprocal);
    public Tensor IsNan() => Unary(UnaryOp.IsNan);
    public Tensor IsFinite() => Unary(UnaryOp.IsFinite);
    public Tensor LogicalNot() => Unary(UnaryOp.LogicalNot);

    /// <summary>A copy with its own storage (keeps autograd history).</summary>
    public Tensor Clone() => Unary(UnaryOp.Clone);

    /// <summary>The same data without autograd history.</summary>
    public Tensor Detach() => Unary(UnaryOp.Detach);

    /// <summary>A row-major copy, or a new handle to this tensor when it is already contiguous.</summary>
    public Tensor Contiguous() => Unary(UnaryOp.Contiguous);

    public Tensor Add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor Add(Tensor other, double alpha) => Errors.Wrap(NativeMethods.rwt_add_scaled(Handle, other.Handle, alpha), "add", this, other);
    public Tensor Sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Pow(double exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Remainder(double divisor) => Binary(BinaryOp.Remainder, divisor);
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor LogicalAnd(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor LogicalOr(Tensor other) => Binary(BinaryOp.LogicalOr, other);

    /// <summary>Matrix product with broadcasting (torch.matmul).</summary>
    public Tensor Matmul(Tensor other) => Binary(BinaryOp.Matmul, other);

    /// <summary>2-D matrix product.</summary>
    public Tensor Mm(Tensor other) => Binary(BinaryOp.Mm, other);

    /// <summary>Batched 3-D matrix product.</summary>
    public Tensor Bmm(Tensor other) => Binary(BinaryOp.Bmm, other);

    /// <summary>beta × this + alpha × (m1 @ m2).</summary>
    public Tensor Addmm(Tensor m1, Tensor m2, double beta = 1, double alpha = 1) =>
        Errors.Wrap(NativeMethods.rwt_addmm(Handle, m1.Handle, m2.Handle, beta, alpha), "addmm", this, m1, m2);

    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor Ne(Tensor other) => Binary(BinaryOp.Ne, other);
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor Le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor Ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor Eq(double other) => Binary(BinaryOp.Eq, other);
    public Tensor Ne(double other) => Binary(BinaryOp.Ne, other);
    public Tensor Lt(double other) => Binary(BinaryOp.Lt, other);
    public Tensor Le(double other) => Binary(BinaryOp.Le, other);
    public Tensor Gt(double other) => Binary(BinaryOp.Gt, other);
    public Tensor Ge(double other) => Binary(BinaryOp.Ge, other);

    /// <summary>Clamps into [min, max]; a null bound is open.</summary>
    public Tensor Clamp(double? min = null, double? max = null) =>
        Errors.Wrap(NativeMethods.rwt_clamp(Handle, min ?? 0, max ?? 0, min.HasValue ? 1 : 0, max.HasValue ? 1 : 0), "clamp", this);

    /// <summary>Elements where <paramref name="mask"/> is true replaced by <paramref name="value"/>.</summary>
    public Tensor MaskedFill(Tensor mask, double value) =>
        Errors.Wrap(NativeMethods.rwt_masked_fill(Handle, mask.Handle, value), "masked_fill", this, mask);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator +(Tensor a, double b) => a.Binary(BinaryOp.Add, b);
    public static Tensor operator -(Tensor a, double b) => a.Binary(BinaryOp.Sub, b);
    public static Tensor operator *(Tensor a, double b) => a.Binary(BinaryOp.Mul, b);
    public static Tensor operator /(Tensor a, double b) => a.Binary(BinaryOp.Div, b);
    public static Tensor operator +(double a, Tensor b) => b.Binary(BinaryOp.Add, a);
    public static Tensor operator -(double a, Tensor b) => b.Binary(BinaryOp.RSub, a);
    public static Tensor operator *(double a, Tensor b) => b.Binary(BinaryOp.Mul, a);
    public static Tensor operator /(double a, Tensor b) => b.Binary(BinaryOp.RDiv, a);
    public static Tensor operator -(Tensor a) => a.Neg();

    // ---- in place (return this) ----

    private Tensor InPlace(int status, string op, Tensor? other = null)
    {
        Errors.Check(status, op, this, other);
        return this;
    }

    public Tensor AddInPlace(Tensor other) => InPlace(NativeMethods.rwt_binary_((int)BinaryOp.Add, Handle, other.Handle), "add_", other);
    public Tensor SubInPlace(Tensor other) => InPlace(NativeMethods.rwt_binary_((int)BinaryOp.Sub, Handle, other.Handle), "sub_", other);
    public Tensor MulInPlace(Tensor other) => InPlace(NativeMethods.rwt_binary_((int)BinaryOp.Mul, Handle, other.Handle), "mul_", other);
    public Tensor DivInPlace(Tensor other) => InPlace(NativeMethods.rwt_binary_((int)BinaryOp.Div, Handle, other.Handle), "div_", other);
    public Tensor AddInPlace(double value) => InPlace(NativeMethods.rwt_binary_scalar_((int)BinaryOp.Add, Handle, value), "add_");
    public Tensor MulInPlace(double value) => InPlace(NativeMethods.rwt_binary_scalar_((int)BinaryOp.Mul, Handle, value), "mul_");
    public Tensor DivInPlace(double value) => InPlace(NativeMethods.rwt_binary_scalar_((int)BinaryOp.Div, Handle, value), "div_");

    /// <summary>Copies <paramref name="source"/>'s values into this tensor (broadcasting, casting).</summary>
    public Tensor CopyInPlace(Tensor source) => InPlace(NativeMethods.rwt_copy_(Handle, source.Handle), "copy_", source);

    public Tensor FillInPlace(double value) => InPlace(NativeMethods.rwt_fill_(Handle, value), "fill_");

    public Tensor ZeroInPlace() => InPlace(NativeMethods.rwt_zero_(Handle), "zero_");

    /// <summary>Fills with normal samples (no autograd history).</summary>
    public Tensor NormalInPlace(double mean = 0, double std = 1, Generator? generator = null) =>
        InPlace(NativeMethods.rwt_normal_(Handle, mean, std, generator?.Handle ?? GeneratorHandle.Null), "normal_");

    /// <summary>Fills with uniform samples in [from, to) (no autograd history).</summary>
    public Tensor UniformInPlace(double from = 0, double to = 1, Generator? generator = null) =>
        InPlace(NativeMethods.rwt_uniform_(Handle, from, to, generator?.Handle ?? GeneratorHandle.Null), "uniform_");

    /// <summary>Replaces this tensor's data with <paramref name="source"/>'s, keeping its identity
    /// (PyTorch's <c>param.data = source</c>).</summary>
    public void SetData(Tensor source)
    {
        Errors.Check(NativeMethods.rwt_set_data(Handle, source.Handle), "set_data", this, source);
        _shape = null;
    }
}
