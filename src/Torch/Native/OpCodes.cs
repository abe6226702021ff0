namespace Reweighting.Torch.Native;

// Keep in sync with the enums in native/src/ops.cpp.
internal enum UnaryOp
{
    Neg = 0, Exp = 1, Log = 2, Sqrt = 3, Rsqrt = 4, Abs = 5, Tanh = 6, Sigmoid = 7, Relu = 8, Gelu = 9,
    GeluTanh = 10, Contiguous = 11, Clone = 12, Detach = 13, LogicalNot = 14, Square = 15, Sin = 16, Cos = 17,
    Floor = 18, Ceil = 19, IsNan = 20, IsFinite = 21, Sign = 22, Reciprocal = 23, Log1p = 24, Erf = 25,
}

internal enum BinaryOp
{
    Add = 0, Sub = 1, Mul = 2, Div = 3, Pow = 4, Eq = 5, Ne = 6, Lt = 7, Le = 8, Gt = 9, Ge = 10, Maximum = 11,
    Minimum = 12, LogicalAnd = 13, LogicalOr = 14, Matmul = 15, Mm = 16, Bmm = 17, RSub = 18, RDiv = 19, Remainder = 20,
}

internal enum ReduceOp
{
    Sum = 0, Mean = 1, Amax = 2, Amin = 3, Prod = 4, LogSumExp = 5, Any = 6, All = 7, Norm = 8,
}
