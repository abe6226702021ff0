#!/usr/bin/env bash
# Packs what a GPU machine without .NET needs to run the benchmarks and the services into one archive:
# the .NET runtime of this build machine, the published application (linux-x64, framework-dependent), the shim's
# sources and build script, and scripts/gpu-run.sh, which unpacks it there, builds the shim against the PyTorch it
# finds and runs a command, and scripts/gpu-check.sh with the GPU benchmark and its references, which runs every GPU
# measurement. Fails when the archive exceeds GPU_BUNDLE_LIMIT_MB (default 60).
#   scripts/gpu-bundle.sh [OUT.tar.xz]          (default build/gpu-bundle.tar.xz)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/gpu-bundle.tar.xz}
limit_mb=${GPU_BUNDLE_LIMIT_MB:-60}
config=${CONFIG:-Release}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
bundle="$stage/reweight-gpu"
mkdir -p "$bundle/dotnet/shared" "$bundle/scripts" "$(dirname "$out")"

echo "publishing the application ..."
dotnet publish "$root/src/Cli/Cli.csproj" -c "$config" -r linux-x64 --self-contained false -p:UseAppHost=false \
  -o "$bundle/app" --nologo -v quiet
rm -f "$bundle/app/librwtorch.so"   # built on the GPU machine, against its libtorch
rm -rf "$bundle/app"/*.pdb

# The runtime: the dotnet host, hostfxr, and every shared framework the application's runtimeconfig names.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
cp "$dotnet_root/dotnet" "$bundle/dotnet/"
cp -r "$dotnet_root/host" "$bundle/dotnet/"
for framework in $(grep -o '"name": *"[^"]*"' "$bundle/app/reweight.runtimeconfig.json" | sed 's/.*"\([^"]*\)"$/\1/'); do
  version=$(grep -A1 "\"$framework\"" "$bundle/app/reweight.runtimeconfig.json" | grep -o '"version": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')
  major=${version%%.*}
  source=$(ls -d "$dotnet_root/shared/$framework/$major".* 2>/dev/null | sort -V | tail -1)
  [ -n "$source" ] || { echo "error: the runtime $framework $version is not installed under $dotnet_root" >&2; exit 1; }
  mkdir -p "$bundle/dotnet/shared/$framework"
  cp -r "$source" "$bundle/dotnet/shared/$framework/"
  echo "runtime: $framework $(basename "$source")"
done

cp -r "$root/native" "$bundle/native"
cp "$root/scripts/build-native.sh" "$bundle/scripts/"
cp "$root/scripts/gpu-run.sh" "$root/scripts/gpu-check.sh" "$bundle/"
# The GPU measurements and their PyTorch references (scripts/gpu-check.sh runs them from the unpacked bundle).
mkdir -p "$bundle/bench/reference"
cp "$root/bench/gpu.bench.sh" "$bundle/bench/"
cp "$root"/bench/reference/*.py "$bundle/bench/reference/"
git -C "$root" rev-parse HEAD > "$bundle/COMMIT" 2>/dev/null || echo unknown > "$bundle/COMMIT"

echo "packing ..."
tar -C "$stage" -cf - reweight-gpu | xz -T0 -6 > "$out.partial"
mv "$out.partial" "$out"
size=$(stat -c %s "$out")
echo "wrote $out: $((size / 1024 / 1024)) MB ($size bytes; limit $limit_mb MB)"
if [ "$size" -gt $((limit_mb * 1024 * 1024)) ]; then
  echo "error: the bundle exceeds $limit_mb MB" >&2
  exit 1
fi
