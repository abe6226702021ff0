using Reweighting.Torch.Native;
using static Reweighting.Torch.Tests.TestSupport;

namespace Reweighting.Torch.Tests;

/// <summary>What one coded call produced: the result tensor's dtype, shape, values (as float64), layout and autograd
/// flag, or the shim's error message.</summary>
internal sealed record Outcome(ScalarType DType, long[] Shape, double[] Values, bool IsContiguous, bool RequiresGrad, string? Error)
{
    public static Outcome Failed(string message) => new(default, [], [], false, false, message);

    // Only uncoded exports (rwt_tensor_info, rwt_to, rwt_tensor_copy_to) read the result, so a wrong code cannot
    // disturb the reading itself.
    public static Outcome Of(Tensor t)
    {
        using var scope = DisposeScope.Open();
        return new(t.DType, t.Shape, t.To(ScalarType.Float64).ToArray<double>(), t.IsContiguous, t.RequiresGrad, null);
    }

    public override string ToString() => Error is not null
        ? $"error '{Error}'"
        : $"{DType}[{string.Join(", ", Shape)}] {{{string.Join(", ", Values.Select(v => v.ToString("R")))}}}" +
          $" (contiguous {IsContiguous}, requires grad {RequiresGrad})";
}

/// <summary>What a code must produce from its case's inputs.</summary>
internal abstract record Expected
{
    /// <summary>Why <paramref name="o"/> is not what was expected, or null when it is.</summary>
    public abstract string? Mismatch(Outcome o);
}

/// <summary>A tensor of this dtype, shape and values (exact but for <see cref="OpCodeCases.Tolerance"/>); the layout and
/// autograd flag are checked where given.</summary>
internal sealed record Produces(ScalarType DType, long[] Shape, double[] Values, bool? IsContiguous = null, bool? RequiresGrad = null)
    : Expected
{
    public override string? Mismatch(Outcome o)
    {
        if (o.Error is not null) return $"failed: {o.Error}";
        if (o.DType != DType) return $"dtype {o.DType}, expected {DType}";
        if (!o.Shape.SequenceEqual(Shape)) return $"shape [{string.Join(", ", o.Shape)}], expected [{string.Join(", ", Shape)}]";
        for (var i = 0; i < Values.Length; i++)
        {
            double a = o.Values[i], e = Values[i];
            var same = double.IsNaN(e) ? double.IsNaN(a) : a == e || Math.Abs(a - e) <= OpCodeCases.Tolerance * Math.Max(1, Math.Abs(e));
            if (!same) return $"value[{i}] = {a:R}, expected {e:R}";
        }
        if (IsContiguous is { } c && o.IsContiguous != c) return $"contiguous {o.IsContiguous}, expected {c}";
        if (RequiresGrad is { } r && o.RequiresGrad != r) return $"requires grad {o.RequiresGrad}, expected {r}";
        return null;
    }
}

/// <summary>The entry point must refuse the code with its "unknown ... op" message.</summary>
internal sealed record Refused : Expected
{
    public override string? Mismatch(Outcome o) =>
        o.Error is { } e && e.Contains("unknown", StringComparison.Ordinal) ? null : $"{o}, expected the code to be refused as unknown";
}

/// <summary>One code of one entry point: fresh inputs (a leading tensor, optionally a second one, and the scalar for
/// the tensor-scalar forms) and what the code must make of them.</summary>
internal sealed record OpCase(Enum Op, Func<Tensor[]> Inputs, double Scalar, Expected Expected)
{
    public int Code => Convert.ToInt32(Op, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>An export that selects its operation by a code, with a case for every code of its enum.</summary>
internal sealed record EntryPoint(string Name, Type Codes, Func<int, Tensor[], double, Outcome> Call, IReadOnlyList<OpCase> Cases)
{
    /// <summary>Runs <paramref name="code"/> on the inputs of <paramref name="c"/> (another code's, in the
    /// reassignment test).</summary>
    public Outcome Run(int code, OpCase c)
    {
        using var scope = DisposeScope.Open();
        return Call(code, c.Inputs(), c.Scalar);
    }
}

/// <summary>The known answers, one per (entry point, code). Each case's inputs are chosen so that no other code of the
/// same entry point gives the same answer (the reassignment test checks that), which is what makes a swapped code
/// fail.</summary>
internal static class OpCodeCases
{
    /// <summary>Relative difference allowed between a float64 result and its closed form.</summary>
    public const double Tolerance = 1e-12;

    private const ScalarType F64 = ScalarType.Float64, Bool = ScalarType.Bool;

    public static readonly IReadOnlyList<EntryPoint> EntryPoints =
    [
        new("rwt_unary", typeof(UnaryOp), CallUnary, UnaryCases()),
        new("rwt_binary", typeof(BinaryOp), CallBinary, BinaryCases()),
        new("rwt_binary_scalar", typeof(BinaryOp), CallBinaryScalar, BinaryScalarCases()),
        new("rwt_binary_", typeof(BinaryOp), CallBinaryInPlace, InPlaceCases(scalar: false)),
        new("rwt_binary_scalar_", typeof(BinaryOp), CallBinaryScalarInPlace, InPlaceCases(scalar: true)),
        new("rwt_reduce", typeof(ReduceOp), CallReduce, ReduceCases()),
    ];

    private static Outcome Made(IntPtr handle) =>
        handle == IntPtr.Zero ? Outcome.Failed(Errors.TakeMessage()) : Outcome.Of(new Tensor(new TensorHandle(handle)));

    private static Outcome Updated(int status, Tensor target) => status < 0 ? Outcome.Failed(Errors.TakeMessage()) : Outcome.Of(target);

    private static Outcome CallUnary(int code, Tensor[] x, double s) => Made(NativeMethods.rwt_unary(code, x[0].Handle));

    private static Outcome CallBinary(int code, Tensor[] x, double s) => Made(NativeMethods.rwt_binary(code, x[0].Handle, x[1].Handle));

    private static Outcome CallBinaryScalar(int code, Tensor[] x, double s) => Made(NativeMethods.rwt_binary_scalar(code, x[0].Handle, s));

    private static Outcome CallBinaryInPlace(int code, Tensor[] x, double s) => Updated(NativeMethods.rwt_binary_(code, x[0].Handle, x[1].Handle), x[0]);

    private static Outcome CallBinaryScalarInPlace(int code, Tensor[] x, double s) => Updated(NativeMethods.rwt_binary_scalar_(code, x[0].Handle, s), x[0]);

    // Over every dimension (ndims 0), without keepdim.
    private static unsafe Outcome CallReduce(int code, Tensor[] x, double s) => Made(NativeMethods.rwt_reduce(code, x[0].Handle, null, 0, 0));

    private static Func<Tensor[]> Of(params Func<Tensor>[] inputs) => () => inputs.Select(f => f()).ToArray();

    private static Func<Tensor> V(params double[] values) => () => D(values);

    private static Func<Tensor> B(params bool[] values) => () => Torch.FromArray(values, values.LongLength);

    private static Produces Doubles(params double[] values) => new(F64, [values.LongLength], values);

    private static Produces Bools(params bool[] values) => new(Bool, [values.LongLength], values.Select(b => b ? 1.0 : 0.0).ToArray());

    private static Produces ScalarResult(ScalarType dtype, double value) => new(dtype, [], [value]);

    private static OpCase Case(Enum op, Func<Tensor[]> inputs, Expected expected, double scalar = 0) => new(op, inputs, scalar, expected);

    // A transposed view of a leaf that requires grad: contiguous(), clone() and detach() give it back with the same
    // values, and differ in layout (only contiguous() makes it contiguous) and autograd (only detach() drops it).
    private static Tensor[] TransposedLeaf() => [D([1, 2, 3, 4], 2, 2).RequiresGradInPlace().Transpose(0, 1)];

    private static List<OpCase> UnaryCases()
    {
        double erfHalf = 0.5204998778130465, erfOne = 0.8427007929497149;
        return
        [
            Case(UnaryOp.Neg, Of(V(1.5, -2)), Doubles(-1.5, 2)),
            Case(UnaryOp.Exp, Of(V(0, 1)), Doubles(1, Math.E)),
            Case(UnaryOp.Log, Of(V(1, Math.E)), Doubles(0, 1)),
            Case(UnaryOp.Sqrt, Of(V(4, 9)), Doubles(2, 3)),
            Case(UnaryOp.Rsqrt, Of(V(4, 0.25)), Doubles(0.5, 2)),
            Case(UnaryOp.Abs, Of(V(-1.5, 2)), Doubles(1.5, 2)),
            Case(UnaryOp.Tanh, Of(V(0.5, -1)), Doubles(Math.Tanh(0.5), Math.Tanh(-1))),
            Case(UnaryOp.Sigmoid, Of(V(0, 2)), Doubles(0.5, 1 / (1 + Math.Exp(-2)))),
            Case(UnaryOp.Relu, Of(V(-1, 2)), Doubles(0, 2)),
            // GELU(±1): exact x·Φ(x), and the tanh approximation 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
            Case(UnaryOp.Gelu, Of(V(1, -1)), Doubles(0.8413447460685429, -0.15865525393145707)),
            Case(UnaryOp.GeluTanh, Of(V(1, -1)), Doubles(0.8411919906082768, -0.15880800939172324)),
            Case(UnaryOp.Contiguous, TransposedLeaf, new Produces(F64, [2, 2], [1, 3, 2, 4], IsContiguous: true, RequiresGrad: true)),
            Case(UnaryOp.Clone, TransposedLeaf, new Produces(F64, [2, 2], [1, 3, 2, 4], IsContiguous: false, RequiresGrad: true)),
            Case(UnaryOp.Detach, TransposedLeaf, new Produces(F64, [2, 2], [1, 3, 2, 4], IsContiguous: false, RequiresGrad: false)),
            Case(UnaryOp.LogicalNot, Of(V(0, 2)), Bools(true, false)),
            Case(UnaryOp.Square, Of(V(3, -2)), Doubles(9, 4)),
            Case(UnaryOp.Sin, Of(V(0.5, 1)), Doubles(Math.Sin(0.5), Math.Sin(1))),
            Case(UnaryOp.Cos, Of(V(0.5, 1)), Doubles(Math.Cos(0.5), Math.Cos(1))),
            Case(UnaryOp.Floor, Of(V(1.5, -1.5)), Doubles(1, -2)),
            Case(UnaryOp.Ceil, Of(V(1.5, -1.5)), Doubles(2, -1)),
            Case(UnaryOp.IsNan, Of(V(double.NaN, 1, double.PositiveInfinity)), Bools(true, false, false)),
            Case(UnaryOp.IsFinite, Of(V(double.NaN, 1, double.PositiveInfinity)), Bools(false, true, false)),
            Case(UnaryOp.Sign, Of(V(-3, 0, 2)), Doubles(-1, 0, 1)),
            Case(UnaryOp.Reciprocal, Of(V(4, -0.5)), Doubles(0.25, -2)),
            Case(UnaryOp.Log1p, Of(V(0, Math.E - 1)), Doubles(0, 1)),
            Case(UnaryOp.Erf, Of(V(0.5, -1)), Doubles(erfHalf, -erfOne)),
        ];
    }

    private static List<OpCase> BinaryCases() =>
    [
        Case(BinaryOp.Add, Of(V(1, 2), V(10, 20)), Doubles(11, 22)),
        Case(BinaryOp.Sub, Of(V(1, 2), V(10, 20)), Doubles(-9, -18)),
        Case(BinaryOp.Mul, Of(V(2, 5), V(3, 4)), Doubles(6, 20)),
        Case(BinaryOp.Div, Of(V(1, 6), V(4, 8)), Doubles(0.25, 0.75)),
        Case(BinaryOp.Pow, Of(V(2, 3), V(3, 2)), Doubles(8, 9)),
        Case(BinaryOp.Eq, Of(V(1, 2, 3), V(2, 2, 2)), Bools(false, true, false)),
        Case(BinaryOp.Ne, Of(V(1, 2, 3), V(2, 2, 2)), Bools(true, false, true)),
        Case(BinaryOp.Lt, Of(V(1, 2, 3), V(2, 2, 2)), Bools(true, false, false)),
        Case(BinaryOp.Le, Of(V(1, 2, 3), V(2, 2, 2)), Bools(true, true, false)),
        Case(BinaryOp.Gt, Of(V(1, 2, 3), V(2, 2, 2)), Bools(false, false, true)),
        Case(BinaryOp.Ge, Of(V(1, 2, 3), V(2, 2, 2)), Bools(false, true, true)),
        Case(BinaryOp.Maximum, Of(V(1, 5), V(3, 2)), Doubles(3, 5)),
        Case(BinaryOp.Minimum, Of(V(1, 5), V(3, 2)), Doubles(1, 2)),
        Case(BinaryOp.LogicalAnd, Of(B(true, true, false, false), B(true, false, true, false)), Bools(true, false, false, false)),
        Case(BinaryOp.LogicalOr, Of(B(true, true, false, false), B(true, false, true, false)), Bools(true, true, true, false)),
        // A vector times a matrix: only matmul broadcasts a 1-D operand; mm and bmm refuse it.
        Case(BinaryOp.Matmul, Of(V(1, 2), () => D([1, 2, 3, 4], 2, 2)), Doubles(7, 10)),
        Case(BinaryOp.Mm, Of(() => D([1, 2, 3, 4], 2, 2), () => D([5, 6, 7, 8], 2, 2)), new Produces(F64, [2, 2], [19, 22, 43, 50])),
        Case(BinaryOp.Bmm, Of(() => D([1, 0, 0, 1, 2, 0, 0, 2], 2, 2, 2), () => D([1, 2, 3, 4, 1, 2, 3, 4], 2, 2, 2)),
            new Produces(F64, [2, 2, 2], [1, 2, 3, 4, 2, 4, 6, 8])),
        Case(BinaryOp.RSub, Of(V(1, 2), V(10, 20)), new Refused()),
        Case(BinaryOp.RDiv, Of(V(1, 2), V(10, 20)), new Refused()),
        // Python's remainder: the sign of the divisor.
        Case(BinaryOp.Remainder, Of(V(5, -5), V(3, 3)), Doubles(2, 1)),
    ];

    private static List<OpCase> BinaryScalarCases() =>
    [
        Case(BinaryOp.Add, Of(V(1, 2)), Doubles(4, 5), scalar: 3),
        Case(BinaryOp.Sub, Of(V(1, 2)), Doubles(-2, -1), scalar: 3),
        Case(BinaryOp.Mul, Of(V(2, 5)), Doubles(6, 15), scalar: 3),
        Case(BinaryOp.Div, Of(V(3, 6)), Doubles(0.75, 1.5), scalar: 4),
        Case(BinaryOp.Pow, Of(V(2, 3)), Doubles(8, 27), scalar: 3),
        Case(BinaryOp.Eq, Of(V(1, 2, 3)), Bools(false, true, false), scalar: 2),
        Case(BinaryOp.Ne, Of(V(1, 2, 3)), Bools(true, false, true), scalar: 2),
        Case(BinaryOp.Lt, Of(V(1, 2, 3)), Bools(true, false, false), scalar: 2),
        Case(BinaryOp.Le, Of(V(1, 2, 3)), Bools(true, true, false), scalar: 2),
        Case(BinaryOp.Gt, Of(V(1, 2, 3)), Bools(false, false, true), scalar: 2),
        Case(BinaryOp.Ge, Of(V(1, 2, 3)), Bools(false, true, true), scalar: 2),
        Case(BinaryOp.Maximum, Of(V(1, 5)), new Refused(), scalar: 3),
        Case(BinaryOp.Minimum, Of(V(1, 5)), new Refused(), scalar: 3),
        Case(BinaryOp.LogicalAnd, Of(B(true, false)), new Refused(), scalar: 1),
        Case(BinaryOp.LogicalOr, Of(B(true, false)), new Refused(), scalar: 1),
        Case(BinaryOp.Matmul, Of(V(1, 2)), new Refused(), scalar: 2),
        Case(BinaryOp.Mm, Of(V(1, 2)), new Refused(), scalar: 2),
        Case(BinaryOp.Bmm, Of(V(1, 2)), new Refused(), scalar: 2),
        Case(BinaryOp.RSub, Of(V(1, 2)), Doubles(9, 8), scalar: 10),
        Case(BinaryOp.RDiv, Of(V(2, 4)), Doubles(4, 2), scalar: 8),
        Case(BinaryOp.Remainder, Of(V(5, -5)), Doubles(2, 1), scalar: 3),
    ];

    // The in-place forms take add, sub, mul and div; the result is the updated first operand.
    private static List<OpCase> InPlaceCases(bool scalar)
    {
        var supported = new Dictionary<BinaryOp, double[]>
        {
            [BinaryOp.Add] = scalar ? [8, 10] : [8, 12],
            [BinaryOp.Sub] = scalar ? [4, 6] : [4, 4],
            [BinaryOp.Mul] = scalar ? [12, 16] : [12, 32],
            [BinaryOp.Div] = scalar ? [3, 4] : [3, 2],
        };
        var inputs = scalar ? Of(V(6, 8)) : Of(V(6, 8), V(2, 4));
        return Enum.GetValues<BinaryOp>()
            .Select(op => Case(op, inputs, supported.TryGetValue(op, out var v) ? Doubles(v) : new Refused(), scalar: 2))
            .ToList();
    }

    private static List<OpCase> ReduceCases() =>
    [
        Case(ReduceOp.Sum, Of(() => D([1, 2, 3, 4], 2, 2)), ScalarResult(F64, 10)),
        Case(ReduceOp.Mean, Of(() => D([1, 2, 3, 5], 2, 2)), ScalarResult(F64, 2.75)),
        Case(ReduceOp.Amax, Of(() => D([1, 4, 3, 2], 2, 2)), ScalarResult(F64, 4)),
        Case(ReduceOp.Amin, Of(() => D([3, 4, 2, 5], 2, 2)), ScalarResult(F64, 2)),
        Case(ReduceOp.Prod, Of(() => D([1, 2, 3, 4], 2, 2)), ScalarResult(F64, 24)),
        Case(ReduceOp.LogSumExp, Of(V(0, Math.Log(3))), ScalarResult(F64, Math.Log(4))),
        Case(ReduceOp.Any, Of(B(false, true, false)), ScalarResult(Bool, 1)),
        Case(ReduceOp.All, Of(B(true, false, true)), ScalarResult(Bool, 0)),
        Case(ReduceOp.Norm, Of(V(3, 4)), ScalarResult(F64, 5)),
    ];
}
