// Optimiser kernels: one AdamW step over a parameter group, and gradient-norm clipping. The state
// tensors belong to the C# optimiser (so checkpoints can save them); the arithmetic runs here in one
// call per group rather than a dozen binding calls per parameter.
#include "rwt_common.h"

#include <cmath>

// Decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
//   p <- p * (1 - lr * wd);  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2
//   p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
// Parameters without a gradient are skipped. `step` is the step number after this update (t >= 1).
RWT_EXPORT int32_t rwt_adamw_step(const rwt_tensor* params, const rwt_tensor* exp_avg, const rwt_tensor* exp_avg_sq,
                                  int64_t n, int64_t step, double lr, double beta1, double beta2, double eps,
                                  double weight_decay) {
  RWT_STATUS(
    if (step < 1) throw std::invalid_argument("AdamW step must be >= 1");
    at::NoGradGuard no_grad;
    const double bias1 = 1.0 - std::pow(beta1, static_cast<double>(step));
    const double bias2 = 1.0 - std::pow(beta2, static_cast<double>(step));
    const double step_size = lr / bias1;
    const double bias2_sqrt = std::sqrt(bias2);
    for (int64_t i = 0; i < n; ++i) {
      auto& p = *params[i];
      rwt::ref(params[i]);
      const auto& g = p.grad();
      if (!g.defined()) continue;
      auto& m = *exp_avg[i];
      auto& v = *exp_avg_sq[i];
      if (weight_decay != 0) p.mul_(1.0 - lr * weight_decay);
      m.lerp_(g, 1.0 - beta1);
      v.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
      auto denom = (v.sqrt() / bias2_sqrt).add_(eps);
      p.addcdiv_(m, denom, -step_size);
    }
  )
}

// Scales all gradients so their joint L2 norm is at most max_norm; returns the norm before clipping.
RWT_EXPORT int32_t rwt_clip_grad_norm(const rwt_tensor* params, int64_t n, double max_norm, double* total_norm) {
  RWT_STATUS(
    at::NoGradGuard no_grad;
    std::vector<at::Tensor> norms;
    std::vector<at::Tensor> grads;
    for (int64_t i = 0; i < n; ++i) {
      const auto& g = rwt::ref(params[i]).grad();
      if (!g.defined()) continue;
      grads.push_back(g);
      norms.push_back(at::norm(g.to(at::kFloat), 2));
    }
    if (grads.empty()) {
      *total_norm = 0;
      return 0;
    }
    auto total = at::norm(at::stack(norms), 2);
    // Multiplying by the clamped coefficient on the device avoids a host round trip per parameter.
    auto coef = at::clamp_max(max_norm / (total + 1e-6), 1.0);
    for (auto& g : grads) g.mul_(coef.to(g.scalar_type()));
    *total_norm = total.item<double>();
  )
}
