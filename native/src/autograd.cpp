// Autograd: grad mode, requires_grad, backward, .grad, and gradients of outputs with respect to inputs.
#include "rwt_common.h"

#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>

// Sets grad mode for this thread and returns the previous mode (1/0), or -1 on failure.
RWT_EXPORT int32_t rwt_set_grad_enabled(int32_t enabled) {
  RWT_TRY(
    const bool previous = at::GradMode::is_enabled();
    at::GradMode::set_enabled(enabled != 0);
    return previous ? 1 : 0;
  )
  return -1;
}

RWT_EXPORT int32_t rwt_is_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }

RWT_EXPORT int32_t rwt_set_requires_grad(rwt_tensor t, int32_t requires_grad) {
  RWT_STATUS(rwt::ref(t); t->set_requires_grad(requires_grad != 0);)
}

RWT_EXPORT int32_t rwt_is_leaf(rwt_tensor t) {
  RWT_TRY(return rwt::ref(t).is_leaf() ? 1 : 0;)
  return -1;
}

// Accumulates gradients into the leaves. grad may be null for a scalar output.
RWT_EXPORT int32_t rwt_backward(rwt_tensor t, rwt_tensor grad, int32_t retain_graph, int32_t create_graph) {
  RWT_STATUS(
    const auto& x = rwt::ref(t);
    at::Tensor g = grad == nullptr ? at::Tensor() : *grad;
    rwt::optional<bool> retain = retain_graph ? rwt::optional<bool>(true) : rwt::nullopt;
    x.backward(g, retain, create_graph != 0);
  )
}

// The accumulated gradient in *out, or nullptr there when the tensor has none.
RWT_EXPORT int32_t rwt_grad(rwt_tensor t, rwt_tensor* out) {
  RWT_STATUS(
    const auto& g = rwt::ref(t).grad();
    *out = g.defined() ? rwt::wrap(g) : nullptr;
  )
}

RWT_EXPORT int32_t rwt_set_grad(rwt_tensor t, rwt_tensor grad) {
  RWT_STATUS(rwt::ref(t); t->mutable_grad() = grad == nullptr ? at::Tensor() : rwt::ref(grad);)
}

// Zeroes (set_to_none = 0) or drops (1) the accumulated gradients of n tensors in one call.
RWT_EXPORT int32_t rwt_zero_grad(const rwt_tensor* ts, int64_t n, int32_t set_to_none) {
  RWT_STATUS(
    for (int64_t i = 0; i < n; ++i) {
      rwt::ref(ts[i]);
      auto& grad = ts[i]->mutable_grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        grad = at::Tensor();
      } else {
        grad = grad.detach();
        grad.zero_();
      }
    }
  )
}

// torch.autograd.grad: d(outputs)/d(inputs), weighted by grad_outputs (null entries mean ones for
// scalars). results[i] is nullptr when input i is unused and allow_unused is set. On failure nothing is written to
// results and no handle is left behind.
RWT_EXPORT int32_t rwt_autograd_grad(const rwt_tensor* outputs, int64_t n_out, const rwt_tensor* inputs,
                                     int64_t n_in, const rwt_tensor* grad_outputs, int32_t retain_graph,
                                     int32_t create_graph, int32_t allow_unused, rwt_tensor* results) {
  RWT_STATUS(
    auto outs = rwt::list(outputs, n_out);
    auto ins = rwt::list(inputs, n_in);
    std::vector<at::Tensor> gouts;
    if (grad_outputs != nullptr) {
      for (int64_t i = 0; i < n_out; ++i) gouts.push_back(grad_outputs[i] ? *grad_outputs[i] : at::Tensor());
    }
    rwt::optional<bool> retain = retain_graph ? rwt::optional<bool>(true) : rwt::nullopt;
    auto grads = torch::autograd::grad(outs, ins, gouts, retain, create_graph != 0, allow_unused != 0);
    rwt::Outputs made(grads.size());
    for (auto& g : grads) made.add(std::move(g));
    if (made.size() != static_cast<size_t>(n_in))
      throw std::logic_error("autograd.grad returned " + std::to_string(made.size()) + " gradients for " +
                             std::to_string(n_in) + " inputs");
    for (size_t i = 0; i < made.size(); ++i) results[i] = made.release(i);
  )
}

// Forward-mode AD (dual numbers), as torch.autograd.forward_ad: enter a level, give tensors a tangent, compute, read
// the outputs' tangents, exit (which clears every tangent of the level). libtorch allows one level at a time per
// process; the C# side serialises its users.
// Both ends clear this thread's autocast cache: a low-precision copy of a weight cast before its tangent was set (or
// under an earlier level) would otherwise be reused without the tangent, and the weight's share of every derivative
// would silently be zero.
RWT_EXPORT int32_t rwt_enter_dual_level(int64_t* level) {
  RWT_STATUS(
    at::autocast::clear_cache();
    *level = static_cast<int64_t>(torch::autograd::forward_ad::enter_dual_level());
  )
}

RWT_EXPORT int32_t rwt_exit_dual_level(int64_t level) {
  RWT_STATUS(
    torch::autograd::forward_ad::exit_dual_level(static_cast<uint64_t>(level));
    at::autocast::clear_cache();
  )
}

// Sets t's tangent at the level in place (a leaf parameter keeps its identity, so a module computes with it as it is).
RWT_EXPORT int32_t rwt_set_forward_grad(rwt_tensor t, rwt_tensor tangent, int64_t level) {
  RWT_STATUS(
    const auto& x = rwt::ref(t);
    const auto& v = rwt::ref(tangent);
    if (x.sizes() != v.sizes()) throw std::invalid_argument("tangent shape differs from the tensor's");
    if (x.scalar_type() != v.scalar_type()) throw std::invalid_argument("tangent dtype differs from the tensor's");
    if (x.device() != v.device()) throw std::invalid_argument("tangent device differs from the tensor's");
    x._set_fw_grad(v, static_cast<uint64_t>(level), /*is_inplace_op=*/false);
  )
}

// t's tangent at the level in *out, or nullptr there when it has none.
RWT_EXPORT int32_t rwt_forward_grad(rwt_tensor t, int64_t level, rwt_tensor* out) {
  RWT_STATUS(
    const auto& g = rwt::ref(t)._fw_grad(static_cast<uint64_t>(level));
    *out = g.defined() ? rwt::wrap(g) : nullptr;
  )
}
