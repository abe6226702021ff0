#!/usr/bin/env bash
# Compiles the shim's sources (syntax only) against the headers of a libtorch 2.x: Debian's libtorch-dev of the next
# release (trixie), unpacked into build/, not installed. A source that libtorch 2.x would reject fails here, on a
# machine without it, instead of on a GPU machine later. CUDA_INCLUDE=<dir with cuda_runtime_api.h> also compiles the
# CUDA parts (-DRWT_WITH_CUDA=1) against the libtorch's c10/cuda headers.
#   scripts/check-native-headers.sh      exit 0: compiles; 1: compile errors; 3: headers not reachable (SKIPPED)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/build/libtorch-2x"
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${LIBTORCH_2X_SUITE:-trixie}
mkdir -p "$cache"
if [ ! -f "$cache/.unpacked" ]; then
  echo "fetching libtorch-dev from Debian $suite ..."
  if ! curl -fsS --max-time 120 "$mirror/dists/$suite/main/binary-amd64/Packages.xz" -o "$cache/Packages.xz"; then
    echo "SKIPPED: $mirror is not reachable; libtorch 2.x headers unavailable"
    exit 3
  fi
  file=$(xz -dc "$cache/Packages.xz" | awk '/^Package: libtorch-dev$/{p=1} p&&/^Filename:/{print $2; exit} /^$/{p=0}' || true)
  [ -n "$file" ] || { echo "SKIPPED: $suite has no libtorch-dev"; exit 3; }
  curl -fsS --max-time 300 "$mirror/$file" -o "$cache/libtorch-dev.deb" || { echo "SKIPPED: could not download $file"; exit 3; }
  rm -rf "$cache/root"
  dpkg-deb -x "$cache/libtorch-dev.deb" "$cache/root"
  echo "$file" > "$cache/.unpacked"
fi
include="$cache/root/usr/include"
version=$(grep -rh --include=version.h 'define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) [0-9]' "$include/torch" 2>/dev/null | awk '{print $3}' | head -3 | paste -sd. || true)
echo "compiling native/src against the headers of libtorch $version ($(cat "$cache/.unpacked"))"
flags=(-std=c++17 -fsyntax-only -Wall -Wextra -Wno-unused-parameter -Werror=deprecated-declarations -D_GLIBCXX_USE_CXX11_ABI=1
       -I "$root/native/include" -isystem "$include" -isystem "$include/torch/csrc/api/include")
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
if [ -n "${CUDA_INCLUDE:-}" ]; then
  flags+=(-DRWT_WITH_CUDA=1 -isystem "$CUDA_INCLUDE")
  # A CPU-only libtorch ships c10/cuda without the header its CUDA build generates; a CUDA build's is one define.
  if [ ! -f "$include/c10/cuda/impl/cuda_cmake_macros.h" ]; then
    mkdir -p "$logs/generated/c10/cuda/impl"
    echo '#define C10_CUDA_BUILD_SHARED_LIBS' > "$logs/generated/c10/cuda/impl/cuda_cmake_macros.h"
    flags+=(-isystem "$logs/generated")
  fi
fi
status=0
pids=()
for source in "$root"/native/src/*.cpp; do
  g++ "${flags[@]}" "$source" > "$logs/$(basename "$source").log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for log in "$logs"/*.log; do
  if [ -s "$log" ]; then echo "--- $(basename "$log" .log)"; cat "$log"; fi
done
if [ $status -ne 0 ]; then
  echo "FAILED: the shim does not compile against libtorch $version"
  exit 1
fi
echo "OK: the shim compiles against libtorch $version${CUDA_INCLUDE:+ with CUDA}"
