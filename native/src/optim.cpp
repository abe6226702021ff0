// Optimiser kernels: one AdamW step over a parameter group, and gradient-norm clipping. The state
// tensors belong to the C# optimiser (so checkpoints can save them); the arithmetic runs here in one
// call per group rather than a dozen binding calls per parameter.
//
// AdamW has three implementations of the same update, chosen per step:
//   fused   (2) aten::_fused_adamw_, one kernel for a whole (device, dtype) group: CUDA since PyTorch 2.0,
//               CPU since about 2.4. Looked up through the dispatcher at run time, so this file compiles
//               against libtorch versions without it and uses it where the running libtorch has it;
//   foreach (1) the multi-tensor _foreach_* ops (libtorch >= 1.13): a handful of launches per group;
//   loop    (0) one tensor at a time: the reference the others are tested against.
#include "rwt_common.h"

#include <ATen/core/dispatch/Dispatcher.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

namespace {

enum AdamwImplementation : int32_t { ADAMW_NONE = -1, ADAMW_LOOP = 0, ADAMW_FOREACH = 1, ADAMW_FUSED = 2 };

// Tensors that one multi-tensor kernel can take together share a device (type and index) and a dtype.
using GroupKey = std::tuple<int, int, int>;
GroupKey group_key(const at::Tensor& t) {
  return std::make_tuple(static_cast<int>(t.device().type()), static_cast<int>(t.device().index()),
                         static_cast<int>(t.scalar_type()));
}

struct AdamwSettings {
  int64_t step;  // the step number of this update, >= 1
  double lr, beta1, beta2, eps, weight_decay;
  double step_size() const { return lr / (1.0 - std::pow(beta1, static_cast<double>(step))); }
  double bias2_sqrt() const { return std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step))); }
};

// The tensors of the parameters that take part in one update, index-aligned.
struct AdamwLists {
  std::vector<at::Tensor> params, grads, exp_avg, exp_avg_sq;

  void add(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v) {
    params.push_back(p);
    grads.push_back(g);
    exp_avg.push_back(m);
    exp_avg_sq.push_back(v);
  }
  bool empty() const { return params.empty(); }
};

// Decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
//   p <- p * (1 - lr * wd);  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
//   p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
void adamw_loop(AdamwLists& l, const AdamwSettings& s) {
  const double step_size = s.step_size();
  const double bias2_sqrt = s.bias2_sqrt();
  for (size_t i = 0; i < l.params.size(); ++i) {
    auto& p = l.params[i];
    const auto& g = l.grads[i];
    if (s.weight_decay != 0) p.mul_(1.0 - s.lr * s.weight_decay);
    l.exp_avg[i].lerp_(g, 1.0 - s.beta1);
    l.exp_avg_sq[i].mul_(s.beta2).addcmul_(g, g, 1.0 - s.beta2);
    auto denom = (l.exp_avg_sq[i].sqrt() / bias2_sqrt).add_(s.eps);
    p.addcdiv_(l.exp_avg[i], denom, -step_size);
  }
}

// The loop's arithmetic, op for op, over whole lists.
void adamw_foreach(AdamwLists& l, const AdamwSettings& s) {
  if (s.weight_decay != 0) at::_foreach_mul_(l.params, 1.0 - s.lr * s.weight_decay);
#if RWT_TORCH_AT_LEAST(2, 0)
  at::_foreach_lerp_(l.exp_avg, l.grads, 1.0 - s.beta1);
#else
  // libtorch 1.13 has no _foreach_lerp_; b1 m + (1-b1) g differs from lerp only in rounding.
  at::_foreach_mul_(l.exp_avg, s.beta1);
  at::_foreach_add_(l.exp_avg, l.grads, 1.0 - s.beta1);
#endif
  at::_foreach_mul_(l.exp_avg_sq, s.beta2);
  at::_foreach_addcmul_(l.exp_avg_sq, l.grads, l.grads, 1.0 - s.beta2);
  auto denom = at::_foreach_sqrt(l.exp_avg_sq);
  at::_foreach_div_(denom, s.bias2_sqrt());
  at::_foreach_add_(denom, s.eps);
  at::_foreach_addcdiv_(l.params, l.exp_avg, denom, -s.step_size());
}

// aten::_fused_adamw_(Tensor(a!)[] self, Tensor(b!)[] grads, Tensor(c!)[] exp_avgs, Tensor(d!)[] exp_avg_sqs,
//   Tensor(e!)[] max_exp_avg_sqs, Tensor[] state_steps, *, float lr, float beta1, float beta2,
//   float weight_decay, float eps, bool amsgrad, bool maximize, Tensor? grad_scale=None,
//   Tensor? found_inf=None) -> ()
// rwt::optional is the optional type of the libtorch's own signatures (c10::optional in 1.13, std::optional
// where c10::optional became an alias), so typed<>() accepts it.
using FusedAdamwSignature = void(at::TensorList, at::TensorList, at::TensorList, at::TensorList, at::TensorList,
                                 at::TensorList, double, double, double, double, double, bool, bool,
                                 const rwt::optional<at::Tensor>&, const rwt::optional<at::Tensor>&);
using FusedAdamwOp = c10::TypedOperatorHandle<FusedAdamwSignature>;

// The operator, when this libtorch registers it with the expected signature; looked up once.
const FusedAdamwOp* fused_adamw_op() {
  static const rwt::optional<FusedAdamwOp> op = []() -> rwt::optional<FusedAdamwOp> {
    try {
      auto handle = c10::Dispatcher::singleton().findSchema({"aten::_fused_adamw_", ""});
      if (!handle.has_value()) return rwt::nullopt;
      return handle->typed<FusedAdamwSignature>();  // throws when the signature differs
    } catch (...) {
      return rwt::nullopt;
    }
  }();
  return op.has_value() ? &*op : nullptr;
}

// The fused operator when it has a kernel for this device type, else nullptr.
const FusedAdamwOp* fused_adamw_for(c10::DeviceType type) {
  const auto* op = fused_adamw_op();
  if (op == nullptr) return nullptr;
  c10::DispatchKey key;
  switch (type) {
    case c10::DeviceType::CPU: key = c10::DispatchKey::CPU; break;
    case c10::DeviceType::CUDA: key = c10::DispatchKey::CUDA; break;
    default: return nullptr;
  }
  return op->hasKernelForDispatchKey(key) ? op : nullptr;
}

// The fused kernel's own requirements (one device and dtype for every list, dense floating-point tensors
// with matching strides), checked up front so it never fails half-way through a group.
bool fusable(const at::Tensor& p, const at::Tensor& g, const at::Tensor& m, const at::Tensor& v) {
  if (!at::isFloatingType(p.scalar_type()) || !p.is_contiguous()) return false;
  for (const auto* t : {&g, &m, &v}) {
    if (t->scalar_type() != p.scalar_type() || t->device() != p.device() || !t->is_contiguous() ||
        t->layout() != at::kStrided)
      return false;
  }
  return p.layout() == at::kStrided;
}

// state_steps holds, per parameter, the step number of this update (PyTorch increments its step tensors
// before calling the kernel) as float32 on the parameters' device; one shared tensor serves them all.
void adamw_fused(const FusedAdamwOp& op, AdamwLists& l, const AdamwSettings& s) {
  const auto step = at::scalar_tensor(static_cast<double>(s.step),
                                      at::TensorOptions().dtype(at::kFloat).device(l.params.front().device()));
  const std::vector<at::Tensor> steps(l.params.size(), step);
  op.call(l.params, l.grads, l.exp_avg, l.exp_avg_sq, at::TensorList(), steps, s.lr, s.beta1, s.beta2,
          s.weight_decay, s.eps, /*amsgrad=*/false, /*maximize=*/false, rwt::nullopt, rwt::nullopt);
}

// One update with the best implementation up to `allowed`; returns the lowest one that ran (ADAMW_NONE
// when no parameter had a gradient).
int32_t adamw_step(const rwt_tensor* params, const rwt_tensor* exp_avg, const rwt_tensor* exp_avg_sq, int64_t n,
                   const AdamwSettings& s, int32_t allowed) {
  if (s.step < 1) throw std::invalid_argument("AdamW step must be >= 1");
  if (allowed < ADAMW_LOOP || allowed > ADAMW_FUSED)
    throw std::invalid_argument("unknown AdamW implementation " + std::to_string(allowed));
  at::NoGradGuard no_grad;
  // Fused groups by (device type, device index, dtype); everything else goes through `rest`.
  std::map<GroupKey, AdamwLists> fused_groups;
  AdamwLists rest;
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = rwt::ref(params[i]);
    const auto& g = p.grad();
    if (!g.defined() || p.numel() == 0) continue;  // nothing to update
    const auto& m = rwt::ref(exp_avg[i]);
    const auto& v = rwt::ref(exp_avg_sq[i]);
    if (allowed >= ADAMW_FUSED && fusable(p, g, m, v) && fused_adamw_for(p.device().type()) != nullptr) {
      fused_groups[group_key(p)].add(p, g, m, v);
    } else {
      rest.add(p, g, m, v);
    }
  }
  int32_t used = ADAMW_NONE;
  const auto ran = [&used](int32_t implementation) {
    used = used == ADAMW_NONE ? implementation : std::min(used, implementation);
  };
  for (auto& [key, group] : fused_groups) {
    adamw_fused(*fused_adamw_for(group.params.front().device().type()), group, s);
    ran(ADAMW_FUSED);
  }
  if (!rest.empty()) {
    if (allowed >= ADAMW_FOREACH) {
      adamw_foreach(rest, s);
      ran(ADAMW_FOREACH);
    } else {
      adamw_loop(rest, s);
      ran(ADAMW_LOOP);
    }
  }
  return used;
}

}  // namespace

// One AdamW update of every parameter that has a gradient (the others are skipped). `step` is the step number
// after this update (t >= 1). Uses the fused kernel, else the foreach ops.
RWT_EXPORT int32_t rwt_adamw_step(const rwt_tensor* params, const rwt_tensor* exp_avg, const rwt_tensor* exp_avg_sq,
                                  int64_t n, int64_t step, double lr, double beta1, double beta2, double eps,
                                  double weight_decay) {
  RWT_STATUS(adamw_step(params, exp_avg, exp_avg_sq, n, {step, lr, beta1, beta2, eps, weight_decay}, ADAMW_FUSED);)
}

// As rwt_adamw_step, with the best implementation limited to `allowed` (0 loop, 1 foreach, 2 fused); *used
// receives the lowest implementation that ran, or -1 when no parameter had a gradient.
RWT_EXPORT int32_t rwt_adamw_step_using(const rwt_tensor* params, const rwt_tensor* exp_avg,
                                        const rwt_tensor* exp_avg_sq, int64_t n, int64_t step, double lr,
                                        double beta1, double beta2, double eps, double weight_decay, int32_t allowed,
                                        int32_t* used) {
  RWT_STATUS(*used = adamw_step(params, exp_avg, exp_avg_sq, n, {step, lr, beta1, beta2, eps, weight_decay},
                                allowed);)
}

// 1 when the running libtorch has the fused AdamW kernel for device_type (0 cpu, 1 cuda), 0 when not.
RWT_EXPORT int32_t rwt_has_fused_adamw(int32_t device_type) {
  RWT_TRY(return fused_adamw_for(device_type == 1 ? c10::DeviceType::CUDA : c10::DeviceType::CPU) ? 1 : 0;)
  return 0;
}

namespace {
// Scales all gradients so their joint L2 norm is at most max_norm; returns the norm before clipping as a 0-d tensor
// on the gradients' device (undefined when no parameter has a gradient), without waiting for the device. The norms
// are taken in float32 (float64 when a gradient is float64) whatever the gradients' dtype.
at::Tensor clip_grad_norm(const rwt_tensor* params, int64_t n, double max_norm) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  bool any_double = false;
  for (int64_t i = 0; i < n; ++i) {
    const auto& g = rwt::ref(params[i]).grad();
    if (!g.defined()) continue;
    grads.push_back(g);
    any_double = any_double || g.scalar_type() == at::kDouble;
  }
  if (grads.empty()) return at::Tensor();
  const auto wide = any_double ? at::kDouble : at::kFloat;
  std::vector<at::Tensor> widened;
  widened.reserve(grads.size());
  for (const auto& g : grads) widened.push_back(g.scalar_type() == wide ? g : g.to(wide));
  auto norms = at::_foreach_norm(widened, 2);  // one 0-d tensor per gradient
  const auto device = grads.front().device();
  for (auto& norm : norms) norm = norm.to(device);
  auto total = at::norm(at::stack(norms), 2);
  // Multiplying by the clamped coefficient on the device avoids a host round trip per parameter.
  auto coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);
#if RWT_TORCH_AT_LEAST(2, 2)
  // _foreach_mul_(TensorList, Tensor) scales a whole (device, dtype) group by a device scalar.
  std::map<GroupKey, std::vector<at::Tensor>> groups;
  for (const auto& g : grads) groups[group_key(g)].push_back(g);
  for (auto& [key, group] : groups)
    at::_foreach_mul_(group, coef.to(group.front().device(), group.front().scalar_type()));
#else
  for (auto& g : grads) g.mul_(coef.to(g.device(), g.scalar_type()));
#endif
  return total;
}
}  // namespace

// Clips as clip_grad_norm above and returns the norm before clipping as a 0-d tensor on the device, without
// synchronising: the caller reads it when it needs it, e.g. once the rest of a training step is queued (a float32 zero
// on the CPU when no gradient exists).
RWT_EXPORT rwt_tensor rwt_clip_grad_norm_deferred(const rwt_tensor* params, int64_t n, double max_norm) {
  RWT_RETURN_TENSOR(([&] {
    auto total = clip_grad_norm(params, n, max_norm);
    return total.defined() ? total : at::zeros({}, at::kFloat);
  }()))
}
