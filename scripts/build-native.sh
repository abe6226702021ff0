#!/usr/bin/env bash
# Builds native/ into <out>/librwtorch.so. With a second argument, builds against that libtorch: a libtorch
# archive's root or a PyTorch installation's torch/ directory (both hold share/cmake/Torch).
set -euo pipefail
out=$1
torch_dir=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/$out/cmake"
args=(-S "$root/native" -B "$build" -DCMAKE_BUILD_TYPE=Release)
if [ -n "$torch_dir" ]; then
  cmake_dir="$torch_dir/share/cmake/Torch"
  [ -d "$cmake_dir" ] || { echo "error: $torch_dir has no share/cmake/Torch (expected a libtorch or PyTorch torch/ directory)" >&2; exit 1; }
  args+=(-DTorch_DIR="$cmake_dir")
fi
echo "Building the libtorch shim${torch_dir:+ against $torch_dir} ..."
cmake "${args[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" -- --no-print-directory >/dev/null
cp "$build/librwtorch.so" "$root/$out/librwtorch.so"
echo "Built $out/librwtorch.so"
