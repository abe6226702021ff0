// Element-wise math, reductions, comparisons and shape operations. Operations are grouped by arity and
// selected by a small op code, which keeps the exported surface (and its C# twin) compact.
#include "rwt_common.h"

#include <tuple>

// Unary op codes (keep in sync with UnaryOp in src/Torch/Native/OpCodes.cs).
enum RwtUnary : int32_t {
  U_NEG = 0, U_EXP = 1, U_LOG = 2, U_SQRT = 3, U_RSQRT = 4, U_ABS = 5, U_TANH = 6, U_SIGMOID = 7,
  U_RELU = 8, U_GELU = 9, U_GELU_TANH = 10, U_CONTIGUOUS = 11, U_CLONE = 12, U_DETACH = 13,
  U_LOGICAL_NOT = 14, U_SQUARE = 15, U_SIN = 16, U_COS = 17, U_FLOOR = 18, U_CEIL = 19, U_ISNAN = 20,
  U_ISFINITE = 21, U_SIGN = 22, U_RECIPROCAL = 23, U_LOG1P = 24, U_ERF = 25
};

RWT_EXPORT rwt_tensor rwt_unary(int32_t op, rwt_tensor a) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    const auto& x = rwt::ref(a);
    switch (op) {
      case U_NEG: return at::neg(x);
      case U_EXP: return at::exp(x);
      case U_LOG: return at::log(x);
      case U_SQRT: return at::sqrt(x);
      case U_RSQRT: return at::rsqrt(x);
      case U_ABS: return at::abs(x);
      case U_TANH: return at::tanh(x);
      case U_SIGMOID: return at::sigmoid(x);
      case U_RELU: return at::relu(x);
      case U_GELU: return at::gelu(x, "none");
      case U_GELU_TANH: return at::gelu(x, "tanh");
      case U_CONTIGUOUS: return x.contiguous();
      case U_CLONE: return x.clone();
      case U_DETACH: return x.detach();
      case U_LOGICAL_NOT: return at::logical_not(x);
      case U_SQUARE: return at::square(x);
      case U_SIN: return at::sin(x);
      case U_COS: return at::cos(x);
      case U_FLOOR: return at::floor(x);
      case U_CEIL: return at::ceil(x);
      case U_ISNAN: return at::isnan(x);
      case U_ISFINITE: return at::isfinite(x);
      case U_SIGN: return at::sign(x);
      case U_RECIPROCAL: return at::reciprocal(x);
      case U_LOG1P: return at::log1p(x);
      case U_ERF: return at::erf(x);
      default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
    }
  }()))
}

// Binary op codes (BinaryOp in C#). Tensor-tensor and tensor-scalar forms share the codes.
enum RwtBinary : int32_t {
  B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_POW = 4, B_EQ = 5, B_NE = 6, B_LT = 7, B_LE = 8, B_GT = 9,
  B_GE = 10, B_MAXIMUM = 11, B_MINIMUM = 12, B_LOGICAL_AND = 13, B_LOGICAL_OR = 14, B_MATMUL = 15,
  B_MM = 16, B_BMM = 17, B_RSUB = 18, B_RDIV = 19, B_REMAINDER = 20
};

static at::Tensor binary(int32_t op, const at::Tensor& x, const at::Tensor& y) {
  switch (op) {
    case B_ADD: return at::add(x, y);
    case B_SUB: return at::sub(x, y);
    case B_MUL: return at::mul(x, y);
    case B_DIV: return at::div(x, y);
    case B_POW: return at::pow(x, y);
    case B_EQ: return at::eq(x, y);
    case B_NE: return at::ne(x, y);
    case B_LT: return at::lt(x, y);
    case B_LE: return at::le(x, y);
    case B_GT: return at::gt(x, y);
    case B_GE: return at::ge(x, y);
    case B_MAXIMUM: return at::maximum(x, y);
    case B_MINIMUM: return at::minimum(x, y);
    case B_LOGICAL_AND: return at::logical_and(x, y);
    case B_LOGICAL_OR: return at::logical_or(x, y);
    case B_MATMUL: return at::matmul(x, y);
    case B_MM: return at::mm(x, y);
    case B_BMM: return at::bmm(x, y);
    case B_REMAINDER: return at::remainder(x, y);
    default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }
}

RWT_EXPORT rwt_tensor rwt_binary(int32_t op, rwt_tensor a, rwt_tensor b) {
  RWT_RETURN_TENSOR(binary(op, rwt::ref(a), rwt::ref(b)))
}

RWT_EXPORT rwt_tensor rwt_binary_scalar(int32_t op, rwt_tensor a, double s) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    const auto& x = rwt::ref(a);
    switch (op) {
      case B_ADD: return at::add(x, s);
      case B_SUB: return at::sub(x, s);
      case B_MUL: return at::mul(x, s);
      case B_DIV: return at::div(x, s);
      case B_POW: return at::pow(x, s);
      case B_EQ: return at::eq(x, s);
      case B_NE: return at::ne(x, s);
      case B_LT: return at::lt(x, s);
      case B_LE: return at::le(x, s);
      case B_GT: return at::gt(x, s);
      case B_GE: return at::ge(x, s);
      case B_RSUB: return at::rsub(x, s);
      case B_RDIV: return at::mul(at::reciprocal(x), s);
      case B_REMAINDER: return at::remainder(x, s);
      default: throw std::invalid_argument("unknown tensor-scalar op " + std::to_string(op));
    }
  }()))
}

// In-place updates used by optimisers, initialisers and masks; they bypass autograd history only when
// the caller is inside a no-grad scope, as in PyTorch.
RWT_EXPORT int32_t rwt_binary_(int32_t op, rwt_tensor a, rwt_tensor b) {
  RWT_STATUS(
    rwt::ref(a);
    const auto& y = rwt::ref(b);
    switch (op) {
      case B_ADD: a->add_(y); break;
      case B_SUB: a->sub_(y); break;
      case B_MUL: a->mul_(y); break;
      case B_DIV: a->div_(y); break;
      default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
    }
  )
}

RWT_EXPORT int32_t rwt_binary_scalar_(int32_t op, rwt_tensor a, double s) {
  RWT_STATUS(
    rwt::ref(a);
    switch (op) {
      case B_ADD: a->add_(s); break;
      case B_SUB: a->sub_(s); break;
      case B_MUL: a->mul_(s); break;
      case B_DIV: a->div_(s); break;
      default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
    }
  )
}

RWT_EXPORT int32_t rwt_copy_(rwt_tensor dst, rwt_tensor src) {
  RWT_STATUS(rwt::ref(dst); dst->copy_(rwt::ref(src));)
}

RWT_EXPORT int32_t rwt_fill_(rwt_tensor dst, double value) {
  RWT_STATUS(rwt::ref(dst); dst->fill_(value);)
}

RWT_EXPORT int32_t rwt_zero_(rwt_tensor dst) {
  RWT_STATUS(rwt::ref(dst); dst->zero_();)
}

// a + alpha * b (alpha avoids a temporary for the scaled operand).
RWT_EXPORT rwt_tensor rwt_add_scaled(rwt_tensor a, rwt_tensor b, double alpha) {
  RWT_RETURN_TENSOR(at::add(rwt::ref(a), rwt::ref(b), alpha))
}

// beta * input + alpha * (m1 @ m2)
RWT_EXPORT rwt_tensor rwt_addmm(rwt_tensor input, rwt_tensor m1, rwt_tensor m2, double beta, double alpha) {
  RWT_RETURN_TENSOR(at::addmm(rwt::ref(input), rwt::ref(m1), rwt::ref(m2), beta, alpha))
}

RWT_EXPORT rwt_tensor rwt_clamp(rwt_tensor a, double min, double max, int32_t has_min, int32_t has_max) {
  RWT_RETURN_TENSOR(at::clamp(rwt::ref(a), has_min ? rwt::optional<at::Scalar>(min) : rwt::nullopt,
                              has_max ? rwt::optional<at::Scalar>(max) : rwt::nullopt))
}

RWT_EXPORT rwt_tensor rwt_where(rwt_tensor cond, rwt_tensor a, rwt_tensor b) {
  RWT_RETURN_TENSOR(at::where(rwt::ref(cond), rwt::ref(a), rwt::ref(b)))
}

RWT_EXPORT rwt_tensor rwt_masked_fill(rwt_tensor a, rwt_tensor mask, double value) {
  RWT_RETURN_TENSOR(at::masked_fill(rwt::ref(a), rwt::ref(mask), value))
}

// ---- reductions -------------------------------------------------------------------------------------

enum RwtReduce : int32_t { R_SUM = 0, R_MEAN = 1, R_AMAX = 2, R_AMIN = 3, R_PROD = 4, R_LOGSUMEXP = 5,
                           R_ANY = 6, R_ALL = 7, R_NORM = 8 };

// Reduction over `dims` (all dimensions when ndims == 0).
RWT_EXPORT rwt_tensor rwt_reduce(int32_t op, rwt_tensor a, const int64_t* dims, int64_t ndims, int32_t keepdim) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    const auto& x = rwt::ref(a);
    const bool all = ndims == 0;
    auto d = rwt::dims(dims, ndims);
    std::vector<int64_t> every;
    if (all) for (int64_t i = 0; i < x.dim(); ++i) every.push_back(i);
    at::IntArrayRef dd = all ? at::IntArrayRef(every) : d;
    switch (op) {
      case R_SUM: return all && !keepdim ? at::sum(x) : at::sum(x, dd, keepdim != 0);
      case R_MEAN: return all && !keepdim ? at::mean(x) : at::mean(x, dd, keepdim != 0);
      case R_AMAX: return at::amax(x, dd, keepdim != 0);
      case R_AMIN: return at::amin(x, dd, keepdim != 0);
      case R_LOGSUMEXP: return at::logsumexp(x, dd, keepdim != 0);
      case R_NORM: return at::norm(x, 2, dd, keepdim != 0);
      case R_PROD:
        if (all) return at::prod(x);
        if (ndims != 1) throw std::invalid_argument("prod reduces over one dimension");
        return at::prod(x, d[0], keepdim != 0);
      case R_ANY:
        if (all) return at::any(x);
        if (ndims != 1) throw std::invalid_argument("any reduces over one dimension");
        return at::any(x, d[0], keepdim != 0);
      case R_ALL:
        if (all) return at::all(x);
        if (ndims != 1) throw std::invalid_argument("all reduces over one dimension");
        return at::all(x, d[0], keepdim != 0);
      default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
    }
  }()))
}

// Variance with correction 0 (population) or 1 (sample). The bool `unbiased` overload is used because it
// has the same signature in libtorch 1.13 and 2.x (the `correction` overload changed type in 2.x).
RWT_EXPORT rwt_tensor rwt_var(rwt_tensor a, const int64_t* dims, int64_t ndims, int64_t correction,
                              int32_t keepdim) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    if (correction != 0 && correction != 1) throw std::invalid_argument("variance correction must be 0 or 1");
    const auto& x = rwt::ref(a);
    std::vector<int64_t> every;
    if (ndims == 0) for (int64_t i = 0; i < x.dim(); ++i) every.push_back(i);
    at::IntArrayRef d = ndims == 0 ? at::IntArrayRef(every) : rwt::dims(dims, ndims);
    return at::var(x, d, correction == 1, keepdim != 0);
  }()))
}

// max/min along a dimension: values and indices.
RWT_EXPORT int32_t rwt_max_min_dim(int32_t is_min, rwt_tensor a, int64_t dim, int32_t keepdim, rwt_tensor* values,
                                   rwt_tensor* indices) {
  RWT_STATUS(
    auto r = is_min ? at::min(rwt::ref(a), dim, keepdim != 0) : at::max(rwt::ref(a), dim, keepdim != 0);
    rwt::Outputs made(2);
    made.add(std::get<0>(r));
    made.add(std::get<1>(r));
    *values = made.release(0);
    *indices = made.release(1);
  )
}

// argmax over one dimension, or over the flattened tensor when has_dim == 0.
RWT_EXPORT rwt_tensor rwt_argmax(rwt_tensor a, int64_t dim, int32_t has_dim, int32_t keepdim) {
  RWT_RETURN_TENSOR(at::argmax(rwt::ref(a), has_dim ? rwt::optional<int64_t>(dim) : rwt::nullopt, keepdim != 0))
}

RWT_EXPORT int32_t rwt_topk(rwt_tensor a, int64_t k, int64_t dim, int32_t largest, int32_t sorted,
                            rwt_tensor* values, rwt_tensor* indices) {
  RWT_STATUS(
    auto r = at::topk(rwt::ref(a), k, dim, largest != 0, sorted != 0);
    rwt::Outputs made(2);
    made.add(std::get<0>(r));
    made.add(std::get<1>(r));
    *values = made.release(0);
    *indices = made.release(1);
  )
}

RWT_EXPORT int32_t rwt_sort(rwt_tensor a, int64_t dim, int32_t descending, rwt_tensor* values, rwt_tensor* indices) {
  RWT_STATUS(
    auto r = at::sort(rwt::ref(a), dim, descending != 0);
    rwt::Outputs made(2);
    made.add(std::get<0>(r));
    made.add(std::get<1>(r));
    *values = made.release(0);
    *indices = made.release(1);
  )
}

RWT_EXPORT rwt_tensor rwt_cumsum(rwt_tensor a, int64_t dim) {
  RWT_RETURN_TENSOR(at::cumsum(rwt::ref(a), dim))
}

// ---- shape ------------------------------------------------------------------------------------------

RWT_EXPORT rwt_tensor rwt_cat(const rwt_tensor* xs, int64_t n, int64_t dim) {
  RWT_RETURN_TENSOR(at::cat(rwt::list(xs, n), dim))
}

RWT_EXPORT rwt_tensor rwt_stack(const rwt_tensor* xs, int64_t n, int64_t dim) {
  RWT_RETURN_TENSOR(at::stack(rwt::list(xs, n), dim))
}

RWT_EXPORT rwt_tensor rwt_view(rwt_tensor a, const int64_t* shape, int64_t ndim) {
  RWT_RETURN_TENSOR(rwt::ref(a).view(rwt::dims(shape, ndim)))
}

RWT_EXPORT rwt_tensor rwt_reshape(rwt_tensor a, const int64_t* shape, int64_t ndim) {
  RWT_RETURN_TENSOR(rwt::ref(a).reshape(rwt::dims(shape, ndim)))
}

RWT_EXPORT rwt_tensor rwt_expand(rwt_tensor a, const int64_t* shape, int64_t ndim) {
  RWT_RETURN_TENSOR(rwt::ref(a).expand(rwt::dims(shape, ndim)))
}

RWT_EXPORT rwt_tensor rwt_permute(rwt_tensor a, const int64_t* order, int64_t ndim) {
  RWT_RETURN_TENSOR(rwt::ref(a).permute(rwt::dims(order, ndim)))
}

RWT_EXPORT rwt_tensor rwt_transpose(rwt_tensor a, int64_t d0, int64_t d1) {
  RWT_RETURN_TENSOR(rwt::ref(a).transpose(d0, d1))
}

RWT_EXPORT rwt_tensor rwt_narrow(rwt_tensor a, int64_t dim, int64_t start, int64_t length) {
  RWT_RETURN_TENSOR(rwt::ref(a).narrow(dim, start, length))
}

RWT_EXPORT rwt_tensor rwt_select(rwt_tensor a, int64_t dim, int64_t index) {
  RWT_RETURN_TENSOR(rwt::ref(a).select(dim, index))
}

RWT_EXPORT rwt_tensor rwt_squeeze(rwt_tensor a, int64_t dim, int32_t has_dim) {
  RWT_RETURN_TENSOR(has_dim ? rwt::ref(a).squeeze(dim) : rwt::ref(a).squeeze())
}

RWT_EXPORT rwt_tensor rwt_unsqueeze(rwt_tensor a, int64_t dim) {
  RWT_RETURN_TENSOR(rwt::ref(a).unsqueeze(dim))
}

RWT_EXPORT rwt_tensor rwt_flatten(rwt_tensor a, int64_t start, int64_t end) {
  RWT_RETURN_TENSOR(rwt::ref(a).flatten(start, end))
}

RWT_EXPORT rwt_tensor rwt_index_select(rwt_tensor a, int64_t dim, rwt_tensor index) {
  RWT_RETURN_TENSOR(at::index_select(rwt::ref(a), dim, rwt::ref(index)))
}

RWT_EXPORT rwt_tensor rwt_gather(rwt_tensor a, int64_t dim, rwt_tensor index) {
  RWT_RETURN_TENSOR(at::gather(rwt::ref(a), dim, rwt::ref(index)))
}

// Out-of-place scatter: a copy of `a` with src written at index along dim (accumulate adds instead).
RWT_EXPORT rwt_tensor rwt_scatter(rwt_tensor a, int64_t dim, rwt_tensor index, rwt_tensor src, int32_t accumulate) {
  RWT_RETURN_TENSOR(accumulate ? at::scatter_add(rwt::ref(a), dim, rwt::ref(index), rwt::ref(src))
                               : at::scatter(rwt::ref(a), dim, rwt::ref(index), rwt::ref(src)))
}

RWT_EXPORT rwt_tensor rwt_masked_select(rwt_tensor a, rwt_tensor mask) {
  RWT_RETURN_TENSOR(at::masked_select(rwt::ref(a), rwt::ref(mask)))
}

RWT_EXPORT rwt_tensor rwt_tril(rwt_tensor a, int64_t diagonal) {
  RWT_RETURN_TENSOR(at::tril(rwt::ref(a), diagonal))
}

RWT_EXPORT rwt_tensor rwt_triu(rwt_tensor a, int64_t diagonal) {
  RWT_RETURN_TENSOR(at::triu(rwt::ref(a), diagonal))
}

// Device and dtype conversion. dtype < 0 keeps the dtype; device_type < 0 keeps the device.
RWT_EXPORT rwt_tensor rwt_to(rwt_tensor a, int32_t dtype, int32_t device_type, int32_t device_index,
                             int32_t non_blocking) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    const auto& x = rwt::ref(a);
    auto dev = device_type < 0 ? x.device() : rwt::device(device_type, device_index);
    auto dt = dtype < 0 ? x.scalar_type() : rwt::dtype(dtype);
    return x.to(dev, dt, non_blocking != 0);
  }()))
}

// Pinned (page-locked) host copy, for asynchronous host-to-device transfers on CUDA builds.
RWT_EXPORT rwt_tensor rwt_pin_memory(rwt_tensor a) {
  RWT_RETURN_TENSOR(rwt::ref(a).pin_memory())
}

// Replaces the tensor's data (not its identity or autograd flags), as `param.data = ...` in PyTorch;
// modules use it to move parameters between devices and dtypes in place.
RWT_EXPORT int32_t rwt_set_data(rwt_tensor dst, rwt_tensor src) {
  RWT_STATUS(rwt::ref(dst); dst->set_data(rwt::ref(src));)
}
