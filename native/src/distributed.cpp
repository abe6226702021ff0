// libtorch's own distributed package (c10d) for data-parallel training: a process group over a TCP store for
// rendezvous, and the collectives the trainer needs (all-reduce, all-gather, broadcast, barrier). Gloo serves CPU
// tensors; it is compiled in when its headers are present (Debian: libgloo-dev; a PyTorch installation ships them).
// Without them every export fails with a message that names the missing backend.
#include "rwt_common.h"

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

#if !defined(RWT_NO_GLOO) && __has_include(<gloo/algorithm.h>) && \
    __has_include(<torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>)
#define RWT_WITH_GLOO 1
// ProcessGroupGloo.hpp declares its class only when the build says Gloo is in.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace {

#ifdef RWT_WITH_GLOO
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  int32_t rank;
  int32_t world;
};

Group& group(void* handle) {
  if (handle == nullptr) throw std::invalid_argument("null process group handle");
  return *static_cast<Group*>(handle);
}

c10d::ReduceOp reduce_op(int32_t op) {
  switch (op) {
    case 0: return c10d::ReduceOp::SUM;
    case 1: return c10d::ReduceOp::MAX;
    case 2: return c10d::ReduceOp::MIN;
    case 3: return c10d::ReduceOp::PRODUCT;
    default: throw std::invalid_argument("unknown reduce op " + std::to_string(op));
  }
}
#else
[[noreturn]] void no_gloo() {
  throw std::runtime_error(
      "this build of the shim has no Gloo backend: it was compiled without Gloo's headers "
      "(install libgloo-dev, or build against a PyTorch installation, and rebuild)");
}
#endif

void check_group(const std::string& backend, int32_t port, int32_t rank, int32_t world) {
#ifdef RWT_WITH_GLOO
  const std::string available = "gloo";
#else
  const std::string available = "none";
#endif
  if (backend != "gloo")
    throw std::invalid_argument("unsupported process group backend '" + backend + "' (this build has: " + available + ")");
  if (world < 1 || rank < 0 || rank >= world)
    throw std::invalid_argument("rank " + std::to_string(rank) + " is not in a world of " + std::to_string(world));
  if (port < 1 || port > 65535) throw std::invalid_argument("port " + std::to_string(port) + " is out of range");
}

#ifdef RWT_WITH_GLOO
void* init(const std::string& backend, const std::string& host, int32_t port, int32_t rank, int32_t world, int64_t timeout_ms) {
  check_group(backend, port, rank, world);
  const auto timeout = std::chrono::milliseconds(timeout_ms);
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(port);
  store_options.isServer = rank == 0;
  store_options.numWorkers = world;
  store_options.waitWorkers = false;
  store_options.timeout = timeout;
  auto store = c10::make_intrusive<c10d::TCPStore>(host, store_options);
  auto options = c10d::ProcessGroupGloo::Options::create();
  options->timeout = timeout;
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
  return new Group{store, gloo, rank, world};
}

void release(void* handle) { delete static_cast<Group*>(handle); }

void all_reduce(void* handle, const at::Tensor& tensor, int32_t op) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::AllreduceOptions options;
  options.reduceOp = reduce_op(op);
  group(handle).gloo->allreduce(tensors, options)->wait();
}

at::Tensor all_gather(void* handle, const at::Tensor& tensor) {
  auto& g = group(handle);
  std::vector<at::Tensor> inputs{tensor.contiguous()};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int32_t r = 0; r < g.world; ++r) outputs[0].push_back(at::empty_like(inputs[0]));
  g.gloo->allgather(outputs, inputs)->wait();
  return at::stack(outputs[0]);
}

void broadcast(void* handle, const at::Tensor& tensor, int32_t root) {
  auto& g = group(handle);
  if (root < 0 || root >= g.world) throw std::invalid_argument("root " + std::to_string(root) + " is not a rank");
  std::vector<at::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  g.gloo->broadcast(tensors, options)->wait();
}

void barrier(void* handle) { group(handle).gloo->barrier()->wait(); }
#else
void* init(const std::string& backend, const std::string&, int32_t port, int32_t rank, int32_t world, int64_t) {
  check_group(backend, port, rank, world);
  no_gloo();
}
void release(void*) {}
void all_reduce(void*, const at::Tensor&, int32_t) { no_gloo(); }
at::Tensor all_gather(void*, const at::Tensor&) { no_gloo(); }
void broadcast(void*, const at::Tensor&, int32_t) { no_gloo(); }
void barrier(void*) { no_gloo(); }
#endif

}  // namespace

// 1 when the named backend ("gloo", "nccl") can be created by this build, else 0.
RWT_EXPORT int32_t rwt_dist_has_backend(const char* name) {
#ifdef RWT_WITH_GLOO
  return name != nullptr && std::strcmp(name, "gloo") == 0 ? 1 : 0;
#else
  return 0;
#endif
}

// Joins a process group of `world` ranks as `rank`: rank 0 serves the TCP store at host:port, the others connect to
// it; everyone waits up to timeout_ms for the rest. Returns an opaque handle (free with rwt_dist_free) or nullptr.
RWT_EXPORT void* rwt_dist_init(const char* backend, const char* host, int32_t port, int32_t rank, int32_t world,
                               int64_t timeout_ms) {
  RWT_TRY(return init(backend == nullptr ? "" : backend, host == nullptr ? "127.0.0.1" : host, port, rank, world, timeout_ms);)
  return nullptr;
}

RWT_EXPORT void rwt_dist_free(void* handle) { release(handle); }

// In place: every rank's tensor becomes the reduction (0 sum, 1 max, 2 min, 3 product) over the ranks.
RWT_EXPORT int32_t rwt_dist_all_reduce(void* handle, rwt_tensor tensor, int32_t op) {
  RWT_STATUS(all_reduce(handle, rwt::ref(tensor), op);)
}

// Every rank's tensor (same shape on every rank), stacked along a new first dimension in rank order.
RWT_EXPORT rwt_tensor rwt_dist_all_gather(void* handle, rwt_tensor tensor) {
  RWT_RETURN_TENSOR(all_gather(handle, rwt::ref(tensor)))
}

// In place: every rank's tensor becomes root's.
RWT_EXPORT int32_t rwt_dist_broadcast(void* handle, rwt_tensor tensor, int32_t root) {
  RWT_STATUS(broadcast(handle, rwt::ref(tensor), root);)
}

RWT_EXPORT int32_t rwt_dist_barrier(void* handle) { RWT_STATUS(barrier(handle);) }
