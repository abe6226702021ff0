// Shared machinery of the shim: the thread-local error slot, the try/catch wrapper every export uses,
// and the conversions between opaque handles and at::Tensor.
//
// Conventions (see README "Native boundary"):
//  * every export is extern "C" and named rwt_*;
//  * inputs are borrowed handles; every tensor output is a fresh heap handle the caller frees with
//    rwt_tensor_free;
//  * no C++ exception crosses the boundary: RWT_TRY stores the message in a thread-local slot;
//  * failure is signalled by the return value alone, so the fast path costs no extra call: exports
//    that make a tensor return nullptr, all others return an int32 status (0 ok, -1 failed) and pass
//    results through out-pointers. On failure the C# side reads the message with rwt_last_error and then
//    frees it with rwt_clear_error (Errors.TakeMessage in src/Torch/Native/Errors.cs).
#pragma once

#include <ATen/ATen.h>
// at::GradMode and at::NoGradGuard: ATen.h stopped pulling these in with libtorch 2.x.
#include <ATen/core/grad_mode.h>
// Recent libtorch generates its version macros in torch/headeronly/version.h (torch/version.h forwards there).
#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#else
#include <torch/version.h>
#endif

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#define RWT_EXPORT extern "C" __attribute__((visibility("default")))

// Every version check below reads these; an undefined macro would silently count as 0 and select the 1.13
// code paths. The include path needs `<torch>/include` and `<torch>/include/torch/csrc/api/include`.
#if !defined(TORCH_VERSION_MAJOR) || !defined(TORCH_VERSION_MINOR)
#error "TORCH_VERSION_MAJOR/MINOR are not defined: <torch/version.h> was not found on the include path"
#endif

#define RWT_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

typedef at::Tensor* rwt_tensor;

namespace rwt {

// libtorch 2.5+ spells optional arguments std::optional (c10::optional became an alias, later deprecated);
// 1.13 has its own c10::optional. One name for both.
#if RWT_TORCH_AT_LEAST(2, 5)
template <class T>
using optional = std::optional<T>;
inline constexpr auto nullopt = std::nullopt;
#else
template <class T>
using optional = c10::optional<T>;
inline constexpr auto nullopt = c10::nullopt;
#endif

void set_error(const char* message);

// Live native tensor handles, for leak tests.
extern std::atomic<int64_t> live_tensors;

// Counted only once made: a `new` that throws must not count a handle that does not exist.
inline rwt_tensor wrap(at::Tensor t) {
  auto* handle = new at::Tensor(std::move(t));
  live_tensors.fetch_add(1, std::memory_order_relaxed);
  return handle;
}

// Frees a handle made by wrap; nullptr is allowed.
inline void free_handle(rwt_tensor h) noexcept {
  if (h == nullptr) return;
  delete h;
  live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

// The handles of an export with several outputs, owned here until released. The caller reads its out-pointers only
// on success, so an export makes every output first and releases them last: when making one throws part-way, the
// destructor frees those already made instead of leaving them to nobody.
class Outputs {
 public:
  explicit Outputs(size_t n) { made_.reserve(n); }
  Outputs(const Outputs&) = delete;
  Outputs& operator=(const Outputs&) = delete;
  ~Outputs() {
    for (auto h : made_) free_handle(h);
  }

  // Wraps t; an undefined tensor becomes nullptr.
  void add(at::Tensor t) {
    made_.push_back(nullptr);  // the slot first, so a throwing wrap leaves nothing unowned
    if (t.defined()) made_.back() = wrap(std::move(t));
  }

  size_t size() const noexcept { return made_.size(); }

  // Hands output i to the caller.
  rwt_tensor release(size_t i) noexcept {
    auto h = made_[i];
    made_[i] = nullptr;
    return h;
  }

 private:
  std::vector<rwt_tensor> made_;
};

inline const at::Tensor& ref(rwt_tensor h) {
  if (h == nullptr) throw std::invalid_argument("null tensor handle");
  return *h;
}

// A nullable handle becomes an optional tensor (absent bias, absent mask, ...).
inline rwt::optional<at::Tensor> opt(rwt_tensor h) {
  if (h == nullptr) return rwt::nullopt;
  return *h;
}

inline std::vector<at::Tensor> list(const rwt_tensor* hs, int64_t n) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out.push_back(ref(hs[i]));
  return out;
}

inline at::IntArrayRef dims(const int64_t* p, int64_t n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

at::Device device(int32_t type, int32_t index);
at::ScalarType dtype(int32_t code);

}  // namespace rwt

// Wraps an export body. c10::Error's message without the C++ backtrace is what users need; anything
// else, including non-standard exceptions, is caught too, because one escaping extern "C" kills the
// process.
#define RWT_TRY(...)                                        \
  try {                                                     \
    __VA_ARGS__                                             \
  } catch (const c10::Error& e) {                           \
    rwt::set_error(e.what_without_backtrace());             \
  } catch (const std::exception& e) {                       \
    rwt::set_error(e.what());                               \
  } catch (...) {                                           \
    rwt::set_error("unknown C++ exception in the shim");    \
  }

// Export body that returns a fresh tensor handle, or nullptr with the error slot set.
#define RWT_RETURN_TENSOR(expr) \
  RWT_TRY(return rwt::wrap(expr);) \
  return nullptr;

// Export body that returns a status: 0 when the statements ran, -1 with the error slot set.
#define RWT_STATUS(...) \
  RWT_TRY(__VA_ARGS__ return 0;) \
  return -1;
