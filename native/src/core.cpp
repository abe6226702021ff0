// Error slot, handle lifetime, device and dtype codes, tensor properties, creation and raw data copies.
#include "rwt_common.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// libtorch allocates and frees its CPU tensors with malloc. glibc serves blocks above its mmap threshold (at most 32
// MiB) with fresh mmap'd pages and returns them on free, so every step of a training loop pays page faults and the
// kernel's zeroing for its activations and logits: measured at 7x the step time of a small GPT on 2 cores. Keeping
// big blocks on the heap (no mmap, no trimming) lets freed tensors be reused like a caching allocator does.
// RWT_SYSTEM_MALLOC=1 keeps glibc's defaults.
#if defined(__GLIBC__)
__attribute__((constructor)) static void rwt_configure_malloc() {
  const char* keep = std::getenv("RWT_SYSTEM_MALLOC");
  if (keep != nullptr && keep[0] == '1') return;
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}
#endif

namespace rwt {

std::atomic<int64_t> live_tensors{0};

namespace {
thread_local std::string* error_message = nullptr;
}

void set_error(const char* message) {
  delete error_message;
  error_message = new std::string(message == nullptr ? "unknown error" : message);
}

at::Device device(int32_t type, int32_t index) {
  switch (type) {
    case 0: return at::Device(at::kCPU);
    case 1: return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index < 0 ? -1 : index));
    default: throw std::invalid_argument("unknown device type code " + std::to_string(type));
  }
}

// The codes are c10::ScalarType's own values, restricted to the dtypes the C# API exposes.
at::ScalarType dtype(int32_t code) {
  switch (code) {
    case 3: return at::kInt;
    case 4: return at::kLong;
    case 5: return at::kHalf;
    case 6: return at::kFloat;
    case 7: return at::kDouble;
    case 11: return at::kBool;
    case 15: return at::kBFloat16;
    case 0: return at::kByte;
    default: throw std::invalid_argument("unsupported dtype code " + std::to_string(code));
  }
}

}  // namespace rwt

// ---- error slot -------------------------------------------------------------------------------------

// The message of the last failure on this thread, or nullptr; it stays valid until rwt_clear_error.
RWT_EXPORT const char* rwt_last_error() { return rwt::error_message ? rwt::error_message->c_str() : nullptr; }

RWT_EXPORT void rwt_clear_error() {
  delete rwt::error_message;
  rwt::error_message = nullptr;
}

// ---- lifetime ---------------------------------------------------------------------------------------

RWT_EXPORT void rwt_tensor_free(rwt_tensor t) { rwt::free_handle(t); }

RWT_EXPORT int64_t rwt_live_tensors() { return rwt::live_tensors.load(); }

// A no-op export: the floor of the P/Invoke cost, for the overhead benchmark.
RWT_EXPORT int32_t rwt_noop(int32_t x) { return x; }

RWT_EXPORT const char* rwt_torch_version() { return TORCH_VERSION; }

// ---- properties -------------------------------------------------------------------------------------

RWT_EXPORT int32_t rwt_tensor_info(rwt_tensor t, int64_t* ndim, int32_t* dtype, int32_t* device_type,
                                   int32_t* device_index, int32_t* requires_grad) {
  RWT_STATUS(
    const auto& x = rwt::ref(t);
    if (!x.defined()) throw std::invalid_argument("tensor is undefined");
    *ndim = x.dim();
    *dtype = static_cast<int32_t>(x.scalar_type());
    *device_type = x.device().is_cuda() ? 1 : 0;
    *device_index = x.device().has_index() ? x.device().index() : 0;
    *requires_grad = x.requires_grad() ? 1 : 0;
  )
}

RWT_EXPORT int32_t rwt_tensor_shape(rwt_tensor t, int64_t* shape, int64_t capacity) {
  RWT_STATUS(
    const auto& x = rwt::ref(t);
    if (x.dim() > capacity) throw std::invalid_argument("shape buffer too small");
    for (int64_t i = 0; i < x.dim(); ++i) shape[i] = x.size(i);
  )
}

RWT_EXPORT int64_t rwt_tensor_numel(rwt_tensor t) {
  RWT_TRY(return rwt::ref(t).numel();)
  return -1;
}

RWT_EXPORT int32_t rwt_tensor_is_contiguous(rwt_tensor t) {
  RWT_TRY(return rwt::ref(t).is_contiguous() ? 1 : 0;)
  return -1;
}

RWT_EXPORT int32_t rwt_tensor_item_double(rwt_tensor t, double* out) {
  RWT_STATUS(*out = rwt::ref(t).item<double>();)
}

RWT_EXPORT int32_t rwt_tensor_item_long(rwt_tensor t, int64_t* out) {
  RWT_STATUS(*out = rwt::ref(t).item<int64_t>();)
}

// Human-readable rendering (libtorch's own printer), written into a caller buffer; returns the full
// length so the caller can retry with a larger buffer.
RWT_EXPORT int64_t rwt_tensor_to_string(rwt_tensor t, char* buffer, int64_t capacity) {
  RWT_TRY(
    std::ostringstream os;
    os << rwt::ref(t);
    const std::string s = os.str();
    if (capacity > 0) {
      const size_t n = std::min<size_t>(s.size(), static_cast<size_t>(capacity - 1));
      std::memcpy(buffer, s.data(), n);
      buffer[n] = '\0';
    }
    return static_cast<int64_t>(s.size());
  )
  return -1;
}

// ---- creation ---------------------------------------------------------------------------------------

static at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions().dtype(rwt::dtype(dtype)).device(rwt::device(device_type, device_index));
}

// Copies `nbytes` of host memory into a new tensor of the given shape, dtype and device. For a CUDA destination
// the staging tensor is pinned and the copy asynchronous: the caching host allocator keeps the pinned block
// from reuse until the copy on the current stream has finished, so the staging tensor may go out of scope.
RWT_EXPORT rwt_tensor rwt_tensor_from_data(const void* data, int64_t nbytes, const int64_t* shape, int64_t ndim,
                                           int32_t dtype, int32_t device_type, int32_t device_index) {
  RWT_RETURN_TENSOR(([&] {
    const auto dev = rwt::device(device_type, device_index);
    const bool to_cuda = dev.is_cuda();
    auto options = at::TensorOptions().dtype(rwt::dtype(dtype));
    if (to_cuda) options = options.pinned_memory(true);
    auto host = at::empty(rwt::dims(shape, ndim), options);
    const int64_t expected = host.numel() * static_cast<int64_t>(host.element_size());
    if (expected != nbytes)
      throw std::invalid_argument("data has " + std::to_string(nbytes) + " bytes but shape needs " +
                                  std::to_string(expected));
    if (nbytes > 0) std::memcpy(host.data_ptr(), data, static_cast<size_t>(nbytes));
    if (dev.is_cpu()) return host;
    return host.to(dev, host.scalar_type(), /*non_blocking=*/to_cuda);
  }()))
}

// Copies the tensor's elements, in row-major order, into host memory of exactly numel*element_size bytes.
RWT_EXPORT int32_t rwt_tensor_copy_to(rwt_tensor t, void* data, int64_t nbytes) {
  RWT_STATUS(
    auto x = rwt::ref(t).detach().to(at::kCPU).contiguous();
    const int64_t expected = x.numel() * static_cast<int64_t>(x.element_size());
    if (expected != nbytes)
      throw std::invalid_argument("destination has " + std::to_string(nbytes) + " bytes but tensor has " +
                                  std::to_string(expected));
    if (nbytes > 0) std::memcpy(data, x.data_ptr(), static_cast<size_t>(nbytes));
  )
}

// Overwrites the tensor's elements in place from host memory (no autograd history).
RWT_EXPORT int32_t rwt_tensor_copy_from(rwt_tensor t, const void* data, int64_t nbytes) {
  RWT_STATUS(
    rwt::ref(t);
    auto& x = *t;  // rwt::ref below has already rejected a null handle
    auto cpu = at::empty(x.sizes(), at::TensorOptions().dtype(x.scalar_type()));
    const int64_t expected = cpu.numel() * static_cast<int64_t>(cpu.element_size());
    if (expected != nbytes)
      throw std::invalid_argument("source has " + std::to_string(nbytes) + " bytes but tensor has " +
                                  std::to_string(expected));
    if (nbytes > 0) std::memcpy(cpu.data_ptr(), data, static_cast<size_t>(nbytes));
    at::NoGradGuard no_grad;
    x.copy_(cpu);
  )
}

RWT_EXPORT rwt_tensor rwt_empty(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::empty(rwt::dims(shape, ndim), options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_zeros(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::zeros(rwt::dims(shape, ndim), options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_ones(const int64_t* shape, int64_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::ones(rwt::dims(shape, ndim), options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_full(const int64_t* shape, int64_t ndim, double value, int32_t dtype, int32_t dt,
                               int32_t di) {
  RWT_RETURN_TENSOR(at::full(rwt::dims(shape, ndim), value, options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_arange(double start, double end, double step, int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::arange(start, end, step, options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_scalar_tensor(double value, int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::scalar_tensor(value, options(dtype, dt, di)))
}

// ---- random numbers ---------------------------------------------------------------------------------

typedef at::Generator* rwt_generator;

RWT_EXPORT int32_t rwt_manual_seed(uint64_t seed) {
  RWT_STATUS(at::manual_seed(seed);)
}

// A private generator for the given device, seeded; independent of the global one.
RWT_EXPORT rwt_generator rwt_generator_new(uint64_t seed, int32_t device_type, int32_t device_index) {
  RWT_TRY(
    auto dev = rwt::device(device_type, device_index);
    auto g = at::globalContext().defaultGenerator(dev).clone();
    {
      std::lock_guard<std::mutex> lock(g.mutex());
      g.set_current_seed(seed);
    }
    return new at::Generator(std::move(g));
  )
  return nullptr;
}

RWT_EXPORT void rwt_generator_free(rwt_generator g) { delete g; }

RWT_EXPORT int32_t rwt_generator_seed(rwt_generator g, uint64_t seed) {
  RWT_STATUS(
    if (g == nullptr) throw std::invalid_argument("null generator");
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_current_seed(seed);
  )
}

// The generator's full state (a byte tensor), so training can checkpoint and restore its RNG.
RWT_EXPORT rwt_tensor rwt_generator_get_state(rwt_generator g) {
  RWT_RETURN_TENSOR(([&] {
    if (g == nullptr) throw std::invalid_argument("null generator");
    std::lock_guard<std::mutex> lock(g->mutex());
    return g->get_state();
  }()))
}

RWT_EXPORT int32_t rwt_generator_set_state(rwt_generator g, rwt_tensor state) {
  RWT_STATUS(
    if (g == nullptr) throw std::invalid_argument("null generator");
    std::lock_guard<std::mutex> lock(g->mutex());
    g->set_state(rwt::ref(state));
  )
}

static rwt::optional<at::Generator> gen(rwt_generator g) {
  if (g == nullptr) return rwt::nullopt;
  return *g;
}

RWT_EXPORT rwt_tensor rwt_randn(const int64_t* shape, int64_t ndim, rwt_generator g, int32_t dtype, int32_t dt,
                                int32_t di) {
  RWT_RETURN_TENSOR(at::randn(rwt::dims(shape, ndim), gen(g), options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_rand(const int64_t* shape, int64_t ndim, rwt_generator g, int32_t dtype, int32_t dt,
                               int32_t di) {
  RWT_RETURN_TENSOR(at::rand(rwt::dims(shape, ndim), gen(g), options(dtype, dt, di)))
}

RWT_EXPORT rwt_tensor rwt_randint(int64_t low, int64_t high, const int64_t* shape, int64_t ndim, rwt_generator g,
                                  int32_t dtype, int32_t dt, int32_t di) {
  RWT_RETURN_TENSOR(at::randint(low, high, rwt::dims(shape, ndim), gen(g), options(dtype, dt, di)))
}

// In-place initialisers used by nn modules (no autograd history).
RWT_EXPORT int32_t rwt_normal_(rwt_tensor t, double mean, double std, rwt_generator g) {
  RWT_STATUS(at::NoGradGuard ng; rwt::ref(t); t->normal_(mean, std, gen(g));)
}

RWT_EXPORT int32_t rwt_uniform_(rwt_tensor t, double from, double to, rwt_generator g) {
  RWT_STATUS(at::NoGradGuard ng; rwt::ref(t); t->uniform_(from, to, gen(g));)
}
