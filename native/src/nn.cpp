// Neural-network functions: embedding, linear, layer norm, softmax, cross entropy, dropout, attention.
#include "rwt_common.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <mutex>

RWT_EXPORT rwt_tensor rwt_embedding(rwt_tensor weight, rwt_tensor indices) {
  RWT_RETURN_TENSOR(at::embedding(rwt::ref(weight), rwt::ref(indices)))
}

// x @ w^T + b, with w of shape (out, in) as in torch.nn.Linear.
RWT_EXPORT rwt_tensor rwt_linear(rwt_tensor x, rwt_tensor w, rwt_tensor b) {
  RWT_RETURN_TENSOR(at::linear(rwt::ref(x), rwt::ref(w), rwt::opt(b)))
}

RWT_EXPORT rwt_tensor rwt_layer_norm(rwt_tensor x, const int64_t* shape, int64_t ndim, rwt_tensor w, rwt_tensor b,
                                     double eps) {
  RWT_RETURN_TENSOR(at::layer_norm(rwt::ref(x), rwt::dims(shape, ndim), rwt::opt(w), rwt::opt(b), eps))
}

// dtype < 0: compute in the input's dtype; otherwise cast first (e.g. float32 softmax under autocast).
RWT_EXPORT rwt_tensor rwt_softmax(rwt_tensor x, int64_t dim, int32_t dtype) {
  RWT_RETURN_TENSOR(dtype < 0 ? at::softmax(rwt::ref(x), dim) : at::softmax(rwt::ref(x), dim, rwt::dtype(dtype)))
}

RWT_EXPORT rwt_tensor rwt_log_softmax(rwt_tensor x, int64_t dim, int32_t dtype) {
  RWT_RETURN_TENSOR(dtype < 0 ? at::log_softmax(rwt::ref(x), dim)
                              : at::log_softmax(rwt::ref(x), dim, rwt::dtype(dtype)))
}

// reduction: 0 none, 1 mean, 2 sum (at::Reduction's values). `target` holds class indices, or class
// probabilities of the logits' shape (soft targets, for distillation).
RWT_EXPORT rwt_tensor rwt_cross_entropy(rwt_tensor logits, rwt_tensor target, rwt_tensor weight, int32_t reduction,
                                        int64_t ignore_index, double label_smoothing) {
  RWT_RETURN_TENSOR(at::cross_entropy_loss(rwt::ref(logits), rwt::ref(target), rwt::opt(weight), reduction,
                                           ignore_index, label_smoothing))
}

// A seed drawn from `gen`, advancing it: what ties randomness that cannot use `gen` itself (a tensor on another
// device, a fused kernel that reads only the device's default generator) to the model's own generator.
static uint64_t draw_seed(at::Generator* gen) {
  if (gen->device().is_cpu()) {
    std::lock_guard<std::mutex> lock(gen->mutex());
    return at::check_generator<at::CPUGeneratorImpl>(*gen)->random64();
  }
  return static_cast<uint64_t>(
      at::empty({1}, at::TensorOptions().dtype(at::kLong).device(gen->device())).random_(*gen).item<int64_t>());
}

// Seeds `target` with a seed drawn from `gen`.
static void seed_from(at::Generator& target, at::Generator* gen) {
  const auto seed = draw_seed(gen);
  std::lock_guard<std::mutex> lock(target.mutex());
  target.set_current_seed(seed);
}

static bool same_device(const at::Generator& gen, const at::Device& device) {
  return gen.device().type() == device.type() && (device.is_cpu() || gen.device().index() == device.index());
}

// Dropout drawing its mask from `gen` when given (a model's private generator makes training reproducible
// whatever else the process does with the global one), from the global generator otherwise. A CPU generator
// serving a CUDA tensor seeds a generator of that device for the mask.
static at::Tensor dropout(const at::Tensor& x, double p, bool train, at::Generator* gen) {
  if (!train || p == 0) return x;
  if (gen == nullptr) return at::dropout(x, p, true);
  if (p >= 1) return x * 0;
  if (same_device(*gen, x.device())) return x * at::empty_like(x).bernoulli_(1 - p, *gen) / (1 - p);
  auto local = at::globalContext().defaultGenerator(x.device()).clone();
  seed_from(local, gen);
  return x * at::empty_like(x).bernoulli_(1 - p, local) / (1 - p);
}

RWT_EXPORT rwt_tensor rwt_dropout(rwt_tensor x, double p, int32_t train, at::Generator* gen) {
  RWT_RETURN_TENSOR(dropout(rwt::ref(x), p, train != 0, gen))
}

// Attention written out: softmax(q k^T / sqrt(d) + mask) v. The reference for the fused kernels and the
// path on libtorch < 2.0. q, k, v: (B, nh, T, hs).
static at::Tensor attention_explicit(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const rwt::optional<at::Tensor>& mask, double dropout_p, bool causal,
                                     at::Generator* gen) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto att = at::matmul(q, k.transpose(-2, -1)) * scale;  // (B, nh, T, T)
  if (causal) {
    const int64_t tq = q.size(-2), tk = k.size(-2);
    auto keep = at::ones({tq, tk}, q.options().dtype(at::kBool)).tril(tk - tq);
    att = att.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity());
  }
  if (mask.has_value()) {
    att = mask->scalar_type() == at::kBool
              ? att.masked_fill(mask->logical_not(), -std::numeric_limits<double>::infinity())
              : att + *mask;
  }
  att = at::softmax(att, -1);
  if (dropout_p > 0) att = dropout(att, dropout_p, true, gen);
  return at::matmul(att, v);  // (B, nh, T, hs)
}

// Scaled-dot-product attention: the fused kernel (flash / memory-efficient where the build and inputs
// allow) on libtorch >= 2.0, the explicit path otherwise or when force_explicit is set. dropout_p is
// applied as given: pass 0 in eval mode. `gen` feeds the explicit path's dropout and seeds the device's
// default generator, from which the fused CUDA kernels draw. With dropout and `gen` on the CPU the explicit
// path runs: with libtorch 2.6's CPU kernels a seeded step still differed between runs when other work ran
// beside it (never when run alone), as if the mask were drawn on worker threads in arrival order.
RWT_EXPORT rwt_tensor rwt_attention(rwt_tensor q, rwt_tensor k, rwt_tensor v, rwt_tensor mask, double dropout_p,
                                    int32_t causal, int32_t force_explicit, at::Generator* gen) {
  RWT_RETURN_TENSOR(([&]() -> at::Tensor {
    const auto& Q = rwt::ref(q);
    const auto& K = rwt::ref(k);
    const auto& V = rwt::ref(v);
#if RWT_TORCH_AT_LEAST(2, 0)
    const bool reproducible_dropout = dropout_p > 0 && gen != nullptr;
    if (!force_explicit && !(reproducible_dropout && !Q.is_cuda())) {
      // The fused kernels draw dropout from the device's default generator only: seeding it from `gen` keeps
      // a model's dropout reproducible from its own generator (a resumed run repeats the uninterrupted one).
      // Seeding and drawing happen under one process-wide lock, so models training on several threads at once
      // cannot reseed the shared generator between another one's seeding and its kernel's draw.
      static std::mutex seeded_dropout;
      std::unique_lock<std::mutex> serial;
      if (reproducible_dropout) {
        serial = std::unique_lock<std::mutex>(seeded_dropout);
        auto device_default = at::globalContext().defaultGenerator(Q.device());
        seed_from(device_default, gen);
      }
      return at::scaled_dot_product_attention(Q, K, V, rwt::opt(mask), dropout_p, causal != 0);
    }
#else
    (void)force_explicit;
#endif
    return attention_explicit(Q, K, V, rwt::opt(mask), dropout_p, causal != 0, gen);
  }()))
}

RWT_EXPORT int32_t rwt_has_fused_attention() {
#if RWT_TORCH_AT_LEAST(2, 0)
  return 1;
#else
  return 0;
#endif
}
