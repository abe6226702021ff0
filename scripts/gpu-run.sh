#!/usr/bin/env bash
# Runs reweight from a bundle made by scripts/gpu-bundle.sh on a machine without .NET (a GPU machine):
# unpacks it (once per bundle), builds the shim against the PyTorch that `python3 -c 'import torch'` finds there
# (TORCH_DIR=<torch or libtorch dir> to choose, TORCH_DIR=system for the machine's libtorch-dev), and runs
#   scripts/gpu-run.sh BUNDLE.tar.xz [reweight arguments...]      e.g. ... build/gpu-bundle.tar.xz torch info
# GPU_RUN_DIR sets where it unpacks (default $TMPDIR/reweight-gpu-run).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUNDLE.tar.xz [reweight arguments...]" >&2; exit 2; }
bundle_file=$(readlink -f "$1")
shift
[ -f "$bundle_file" ] || { echo "error: no bundle at $bundle_file (make one with scripts/gpu-bundle.sh)" >&2; exit 1; }
work=${GPU_RUN_DIR:-${TMPDIR:-/tmp}/reweight-gpu-run}
stamp="$work/.unpacked-from"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$bundle_file $(stat -c %Y "$bundle_file")" ]; then
  rm -rf "$work"
  mkdir -p "$work"
  echo "unpacking $bundle_file ..." >&2
  if command -v xz >/dev/null 2>&1; then
    tar -C "$work" -xJf "$bundle_file"
  else # no xz-utils on the machine (minimal images): Python's lzma decompresses the same stream
    "${PYTHON:-python3}" -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle_file" |
      tar -C "$work" -xf -
  fi
  echo "$bundle_file $(stat -c %Y "$bundle_file")" > "$stamp"
fi
bundle="$work/reweight-gpu"

torch_dir=${TORCH_DIR:-}
if [ -z "$torch_dir" ]; then
  python=${PYTHON:-python3}
  torch_dir=$("$python" -c 'import os, torch; print(os.path.dirname(torch.__file__))' 2>/dev/null) ||
    { echo "error: $python cannot import torch; set TORCH_DIR to a libtorch or PyTorch torch/ directory (or TORCH_DIR=system)" >&2; exit 1; }
fi
if [ ! -f "$bundle/build/librwtorch.so" ] || [ "$(cat "$bundle/build/.torch-dir" 2>/dev/null)" != "$torch_dir" ]; then
  if [ "$torch_dir" = system ]; then (cd "$bundle" && scripts/build-native.sh build) >&2
  else (cd "$bundle" && scripts/build-native.sh build "$torch_dir") >&2; fi
  echo "$torch_dir" > "$bundle/build/.torch-dir"
fi
export DOTNET_ROOT="$bundle/dotnet" RWTORCH_LIBRARY="$bundle/build/librwtorch.so" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# .NET needs ICU for culture data; a machine without it (many CUDA images) runs in invariant mode rather than not at all.
if [ -z "${DOTNET_SYSTEM_GLOBALIZATION_INVARIANT:-}" ] && ! { ldconfig -p 2>/dev/null | grep 'libicuuc\.so' >/dev/null; }; then
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
fi
[ "$torch_dir" = system ] || export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$bundle/dotnet/dotnet" "$bundle/app/reweight.dll" "$@"
