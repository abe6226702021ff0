#!/usr/bin/env bash
# Builds native/ into <out>/librwtorch.so:
#   scripts/build-native.sh OUT [TORCH_DIR]
# Without TORCH_DIR it builds against the system's libtorch (Debian's libtorch-dev); with it, against a libtorch
# archive's root or a PyTorch installation's torch/ directory (both hold include/, lib/ and share/cmake/Torch).
#
# RWT_BUILD selects how:
#   auto    (default) CMake with the libtorch's TorchConfig; when that fails to configure or to build, direct.
#   cmake   CMake only.
#   direct  g++ on native/src/*.cpp in parallel, without CMake. TorchConfig of a CUDA PyTorch wheel looks for the
#           CUDA toolkit, cuDNN, NVTX and more, and can fail for reasons that have nothing to do with this shim.
# Direct-mode overrides: TORCH_INCLUDE and TORCH_LIB (the libtorch's include and library directories),
# CUDA_INCLUDE (the directory with cuda_runtime_api.h), RWT_CXX_ABI (0/1, else taken from PyTorch, TorchConfig
# or the library's symbols), RWT_CXX_STD (c++17/c++20), CXX, PYTHON.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT [TORCH_DIR]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
case $1 in /*) out=$1 ;; *) out=$root/$1 ;; esac
torch_dir=${2:-}
mode=${RWT_BUILD:-auto}
mkdir -p "$out"
if [ -n "$torch_dir" ]; then
  torch_dir=$(cd "$torch_dir" 2>/dev/null && pwd) || { echo "error: no directory $2" >&2; exit 1; }
fi

log_tail() { echo "---- last lines of $1 ----" >&2; tail -n "${2:-40}" "$1" >&2; echo "----" >&2; }

build_cmake() {
  local build="$out/cmake" log="$out/cmake.log"
  local args=(-S "$root/native" -B "$build" -DCMAKE_BUILD_TYPE=Release)
  if [ -n "$torch_dir" ]; then
    [ -d "$torch_dir/share/cmake/Torch" ] || { echo "no share/cmake/Torch under $torch_dir" >"$log"; return 1; }
    args+=(-DTorch_DIR="$torch_dir/share/cmake/Torch")
  fi
  cmake "${args[@]}" >"$log" 2>&1 || { echo "CMake configure failed (log: $log)" >&2; return 1; }
  cmake --build "$build" -j "$(nproc)" -- --no-print-directory >>"$log" 2>&1 ||
    { echo "CMake build failed (log: $log)" >&2; return 1; }
  cp "$build/librwtorch.so" "$out/librwtorch.so"
}

# TORCH_VERSION_MAJOR/MINOR as "major minor", read from whichever version header defines them.
torch_version() {
  local inc=$1 header major minor
  for header in "$inc/torch/headeronly/version.h" "$inc/torch/csrc/api/include/torch/version.h"; do
    [ -f "$header" ] || continue
    major=$(sed -n 's/^#define TORCH_VERSION_MAJOR \([0-9]*\).*/\1/p' "$header")
    minor=$(sed -n 's/^#define TORCH_VERSION_MINOR \([0-9]*\).*/\1/p' "$header")
    [ -n "$major" ] && [ -n "$minor" ] && { echo "$major $minor"; return 0; }
  done
  return 1
}

# The libstdc++ ABI the libtorch was built with: PyTorch's own answer when the python that imports torch uses
# this very directory, else the TorchConfig's TORCH_CXX_FLAGS, else whether libc10 exports std::__cxx11 strings.
cxx_abi() {
  local lib=$1 python=${PYTHON:-python3} answer config
  if [ -n "${RWT_CXX_ABI:-}" ]; then echo "$RWT_CXX_ABI"; return; fi
  if [ -n "$torch_dir" ] && answer=$("$python" -c 'import os, torch
print(os.path.realpath(os.path.dirname(torch.__file__)), int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null) &&
     [ "${answer% *}" = "$(realpath "$torch_dir")" ]; then
    echo "${answer##* }"; return
  fi
  for config in "$lib/../share/cmake/Torch/TorchConfig.cmake" "$lib/cmake/Torch/TorchConfig.cmake"; do
    if [ -f "$config" ] && answer=$(sed -n 's/.*-D_GLIBCXX_USE_CXX11_ABI=\([01]\).*/\1/p' "$config" | head -n 1) &&
       [ -n "$answer" ]; then
      echo "$answer"; return
    fi
  done
  # grep reads to the end (no -q): an early exit would kill nm with SIGPIPE, and pipefail would then answer 0.
  if nm -DC --defined-only "$lib/libc10.so" 2>/dev/null | grep 'std::__cxx11::basic_string' >/dev/null; then echo 1; else echo 0; fi
}

# The directory holding cuda_runtime_api.h (the c10/cuda headers include it), or nothing.
cuda_include() {
  local candidates=() dir site
  [ -n "${CUDA_INCLUDE:-}" ] && candidates+=("$CUDA_INCLUDE")
  [ -n "${CUDA_HOME:-}" ] && candidates+=("$CUDA_HOME/include")
  [ -n "${CUDA_PATH:-}" ] && candidates+=("$CUDA_PATH/include")
  command -v nvcc >/dev/null 2>&1 && candidates+=("$(dirname "$(readlink -f "$(command -v nvcc)")")/../include")
  candidates+=(/usr/local/cuda/include)
  if [ -n "$torch_dir" ]; then
    # pip wheels of CUDA PyTorch install the runtime headers as packages beside torch in site-packages.
    site=$(dirname "$torch_dir")
    candidates+=("$site/nvidia/cuda_runtime/include" "$site/nvidia/cu13/include" "$site/nvidia/cu12/include")
    for dir in "$site"/nvidia/*/include; do candidates+=("$dir"); done
  fi
  candidates+=(/usr/include)
  for dir in "${candidates[@]}"; do
    if [ -f "$dir/cuda_runtime_api.h" ]; then (cd "$dir" && pwd); return; fi
  done
}

build_direct() {
  local inc lib
  if [ -n "$torch_dir" ]; then
    inc=${TORCH_INCLUDE:-$torch_dir/include}
    lib=${TORCH_LIB:-$torch_dir/lib}
  else
    # Debian's libtorch-dev: headers under /usr/include, libraries in the multiarch directory.
    inc=${TORCH_INCLUDE:-/usr/include}
    lib=${TORCH_LIB:-}
    if [ -z "$lib" ]; then
      lib=$(dpkg -L libtorch-dev 2>/dev/null | grep '/libtorch\.so$' | head -n 1 | xargs -r dirname)
      [ -n "$lib" ] || lib=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
    fi
  fi
  [ -f "$inc/ATen/ATen.h" ] || { echo "error: no ATen/ATen.h under $inc (set TORCH_INCLUDE)" >&2; return 1; }
  [ -f "$lib/libtorch.so" ] || { echo "error: no libtorch.so in $lib (set TORCH_LIB)" >&2; return 1; }

  local version std cxx=${CXX:-g++}
  version=$(torch_version "$inc") || { echo "error: no torch/version.h under $inc" >&2; return 1; }
  # Recent libtorch headers move to C++20 (the 2.1x releases start requiring it); 1.13 and early 2.x are C++17.
  std=${RWT_CXX_STD:-}
  if [ -z "$std" ]; then
    std=c++17
    if [ "${version% *}" -gt 2 ] || { [ "${version% *}" -eq 2 ] && [ "${version#* }" -ge 10 ]; }; then
      if echo 'int main() { return 0; }' | "$cxx" -std=c++20 -x c++ -fsyntax-only - 2>/dev/null; then std=c++20; fi
    fi
  fi

  local abi
  abi=$(cxx_abi "$lib")
  local flags=(-O2 "-std=$std" -fPIC -fvisibility=hidden -DNDEBUG -Wall -Wextra -Wno-unused-parameter
               "-D_GLIBCXX_USE_CXX11_ABI=$abi"
               -I "$root/native/include" -I "$inc" -I "$inc/torch/csrc/api/include")
  local libs=(-L "$lib" "-Wl,-rpath,$lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10)
  local cuda=no
  if [ -f "$lib/libc10_cuda.so" ]; then
    # Linked even when nothing references them, so the CUDA backend registers its kernels.
    libs+=(-ltorch_cuda -lc10_cuda)
    local cuda_inc
    cuda_inc=$(cuda_include)
    if [ -n "$cuda_inc" ]; then
      flags+=(-DRWT_WITH_CUDA=1 -I "$cuda_inc")
      cuda="yes (CUDA headers: $cuda_inc)"
    else
      # CUDA tensors still work through libtorch; only the shim's CUDA queries (device count, memory) are off.
      echo "warning: CUDA libtorch but no cuda_runtime_api.h found (set CUDA_INCLUDE or CUDA_HOME);" \
           "building without the shim's CUDA queries" >&2
      cuda="libraries only (no CUDA headers)"
    fi
  fi
  echo "direct build: libtorch ${version/ /.} ($inc, $lib), -std=$std, _GLIBCXX_USE_CXX11_ABI=$abi, CUDA: $cuda"

  local objs="$out/direct" log="$out/direct.log" jobs f name
  rm -rf "$objs"
  mkdir -p "$objs"
  jobs=$(nproc)
  # One compiler per source file, up to nproc at once, each with its own log; a file compiled when its object
  # exists (the compiler writes none on error).
  for f in "$root"/native/src/*.cpp; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    name=$(basename "$f" .cpp)
    "$cxx" "${flags[@]}" -c "$f" -o "$objs/$name.o" >"$objs/$name.log" 2>&1 &
  done
  wait || true
  cat "$objs"/*.log >"$log"
  for f in "$root"/native/src/*.cpp; do
    name=$(basename "$f" .cpp)
    if [ ! -f "$objs/$name.o" ]; then
      echo "direct build: compiling $name.cpp failed (log: $log)" >&2
      grep -m 20 -E 'error' "$objs/$name.log" >&2 || tail -n 20 "$objs/$name.log" >&2
      return 1
    fi
  done
  "$cxx" -shared -o "$objs/librwtorch.so" "$objs"/*.o "${libs[@]}" >>"$log" 2>&1 ||
    { echo "direct build: linking failed (log: $log)" >&2; log_tail "$log"; return 1; }
  cp "$objs/librwtorch.so" "$out/librwtorch.so"
}

echo "Building the libtorch shim${torch_dir:+ against $torch_dir} (RWT_BUILD=$mode) ..."
case $mode in
  cmake)
    build_cmake || { log_tail "$out/cmake.log"; exit 1; } ;;
  direct)
    build_direct || exit 1 ;;
  auto)
    if ! build_cmake; then
      log_tail "$out/cmake.log" 15
      echo "falling back to the direct build" >&2
      build_direct || exit 1
    fi ;;
  *)
    echo "error: RWT_BUILD must be auto, cmake or direct (got $mode)" >&2; exit 2 ;;
esac
echo "Built ${out#"$root"/}/librwtorch.so"
