// Devices (CUDA availability and memory), threads, and autocast (mixed precision).
#include "rwt_common.h"

#include <ATen/autocast_mode.h>
#include <ATen/Parallel.h>

#include <chrono>

#ifdef RWT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

RWT_EXPORT int32_t rwt_cuda_compiled() {
#ifdef RWT_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

RWT_EXPORT int32_t rwt_cuda_is_available() {
  RWT_TRY(return at::hasCUDA() ? 1 : 0;)
  return 0;
}

RWT_EXPORT int32_t rwt_cuda_device_count() {
#ifdef RWT_WITH_CUDA
  RWT_TRY(return static_cast<int32_t>(c10::cuda::device_count());)
#endif
  return 0;
}

// Bytes currently allocated (which = 0) or reserved (which = 1) by the caching allocator on a device.
RWT_EXPORT int32_t rwt_cuda_memory(int32_t device_index, int32_t which, int64_t* bytes) {
  RWT_STATUS(
#ifdef RWT_WITH_CUDA
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device_index));
    // Index 0 is StatType::AGGREGATE in every version (the enum's namespace moved between versions).
    const size_t agg = 0;
    *bytes = which == 0 ? stats.allocated_bytes[agg].current : stats.reserved_bytes[agg].current;
#else
    (void)device_index; (void)which; (void)bytes;
    throw std::runtime_error("this build of the native library has no CUDA support");
#endif
  )
}

RWT_EXPORT int32_t rwt_cuda_synchronize(int32_t device_index) {
  RWT_STATUS(
#ifdef RWT_WITH_CUDA
    c10::cuda::device_synchronize();
    (void)device_index;
#else
    (void)device_index;
    throw std::runtime_error("this build of the native library has no CUDA support");
#endif
  )
}

RWT_EXPORT int32_t rwt_set_num_threads(int32_t n) {
  RWT_STATUS(at::set_num_threads(n);)
}

RWT_EXPORT int32_t rwt_get_num_threads() { return at::get_num_threads(); }

// Flushes denormal floats to zero on the calling thread and on every intra-op worker (the flag lives in each
// thread's floating-point control register). Returns 1 when the CPU supports it, 0 when not, -1 on failure.
RWT_EXPORT int32_t rwt_set_flush_denormal(int32_t on) {
  RWT_TRY(
    const bool flush = on != 0;
    const bool supported = at::globalContext().setFlushDenormal(flush);
    if (supported) {
      const int64_t workers = at::get_num_threads();
      at::parallel_for(0, workers, 1, [flush](int64_t, int64_t) { at::globalContext().setFlushDenormal(flush); });
    }
    return supported ? 1 : 0;
  )
  return -1;
}

// Autocast's per-device state on this thread, device_type 0 cpu, 1 cuda: libtorch 2.4 took one API with a device
// argument; 1.13 has one function per device.
static bool autocast_enabled(int32_t device_type) {
#if RWT_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device_type == 1 ? at::kCUDA : at::kCPU);
#else
  return device_type == 1 ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

static void set_autocast_enabled(int32_t device_type, bool enabled) {
#if RWT_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device_type == 1 ? at::kCUDA : at::kCPU, enabled);
#else
  if (device_type == 1) at::autocast::set_enabled(enabled);
  else at::autocast::set_cpu_enabled(enabled);
#endif
}

static void set_autocast_dtype(int32_t device_type, at::ScalarType dtype) {
#if RWT_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device_type == 1 ? at::kCUDA : at::kCPU, dtype);
#else
  if (device_type == 1) at::autocast::set_autocast_gpu_dtype(dtype);
  else at::autocast::set_autocast_cpu_dtype(dtype);
#endif
}

// Enters an autocast region for device_type (0 cpu, 1 cuda) with the given lower-precision dtype and
// returns the previous enabled state (1/0) so the C# scope can restore it; -1 on failure.
RWT_EXPORT int32_t rwt_autocast_enter(int32_t device_type, int32_t dtype) {
  RWT_TRY(
    const auto dt = rwt::dtype(dtype);
    const bool previous = autocast_enabled(device_type);
    set_autocast_enabled(device_type, true);
    set_autocast_dtype(device_type, dt);
    at::autocast::increment_nesting();
    return previous ? 1 : 0;
  )
  return -1;
}

// Whether autocast is on for device_type (0 cpu, 1 cuda) on this thread.
RWT_EXPORT int32_t rwt_autocast_is_enabled(int32_t device_type) {
  RWT_TRY(return autocast_enabled(device_type) ? 1 : 0;)
  return -1;
}

RWT_EXPORT int32_t rwt_autocast_exit(int32_t device_type, int32_t previous) {
  RWT_STATUS(
    // Cached casts of weights are only valid inside the outermost region.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled(device_type, previous != 0);
  )
}

// ---- benchmark support ------------------------------------------------------------------------------

// Runs `a + b` n times inside the library, to separate libtorch's own cost of a tiny op from the
// binding's overhead. Returns nanoseconds per op.
RWT_EXPORT double rwt_bench_native_add(rwt_tensor a, rwt_tensor b, int64_t n) {
  RWT_TRY(
    const auto& x = rwt::ref(a);
    const auto& y = rwt::ref(b);
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) {
      rwt::free_handle(rwt::wrap(at::add(x, y)));
    }
    const auto t1 = std::chrono::steady_clock::now();
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
  )
  return -1;
}
