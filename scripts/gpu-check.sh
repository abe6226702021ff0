#!/usr/bin/env bash
# Everything this project measures on a GPU, in one run on a GPU machine without .NET, from a bundle made by
# scripts/gpu-bundle.sh:
#   1. the machine: nvidia-smi, the PyTorch found there;
#   2. the shim built against that PyTorch (scripts/gpu-run.sh), `reweight torch info` and a tiny CUDA training step;
#   3. parity with Hugging Face transformers: a random GPT-2 saved by transformers (bench/reference/hf_parity.py),
#      imported and scored by `reweight lm parity` in float32 and bfloat16;
#   4. throughput: bench/gpu.bench.sh (reweight bench gpu next to PyTorch eager and torch.compile).
# Each stage has its own time limit and the run goes on after a failed stage; every log and result lands in OUT.
#   scripts/gpu-check.sh BUNDLE.tar.xz OUT          (stage limits: GPU_CHECK_BUILD_S, _PARITY_S, _BENCH_S;
#                                                     GPU_CHECK_STAGES=build,parity,bench chooses the stages)
# GPU_CHECK_DEVICE=cpu rehearses the whole run on a machine without a GPU (with small sizes: GPU_CHECK_PARITY_ARGS for
# hf_parity.py, and gpu.bench.sh's SEQ, SCORER_PRESET, ... from the environment).
set -uo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUNDLE.tar.xz OUT" >&2; exit 2; }
bundle=$(readlink -f "$1")
out=$2
here=$(cd "$(dirname "$0")" && pwd)
# In a checkout this script is scripts/gpu-check.sh; in an unpacked bundle it sits beside bench/ and gpu-run.sh.
if [ -f "$here/bench/gpu.bench.sh" ]; then root=$here; run="$here/gpu-run.sh"; else root=$(dirname "$here"); run="$here/gpu-run.sh"; fi
[ -f "$bundle" ] || { echo "error: no bundle at $1 (make one with scripts/gpu-bundle.sh)" >&2; exit 1; }
mkdir -p "$out"
python=${PYTHON:-python3}
device=${GPU_CHECK_DEVICE:-cuda}
export GPU_RUN_DIR=${GPU_RUN_DIR:-${TMPDIR:-/tmp}/reweight-gpu-run}
status=0
stages=",${GPU_CHECK_STAGES:-build,parity,bench},"
stage() { # name limit_s command...
  local name=$1 limit=$2
  shift 2
  case "$stages" in *",${name%%-*},"*) ;; *) echo "=== $name: not chosen (GPU_CHECK_STAGES)" | tee -a "$out/summary.txt"; return 0 ;; esac
  local started=$SECONDS
  echo "=== $name (limit ${limit}s)"
  if timeout --kill-after=10 "$limit" "$@" > >(tee "$out/$name.log") 2>&1; then
    echo "=== $name: ok in $((SECONDS - started))s" | tee -a "$out/summary.txt"
  else
    local rc=$?
    echo "=== $name: FAILED (exit $rc) after $((SECONDS - started))s" | tee -a "$out/summary.txt"
    status=1
  fi
}

: > "$out/summary.txt"
{ nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } > "$out/nvidia-smi.txt" 2>&1
"$python" -c 'import torch, sys; print("python", sys.version.split()[0]); print("torch", torch.__version__, "cuda", torch.version.cuda,
  "available", torch.cuda.is_available(), "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)' > "$out/python.txt" 2>&1
cat "$out/python.txt"

# The build, then the smallest CUDA run (forward, backward, AdamW): a broken CUDA build fails here, not in the benchmark.
stage build "${GPU_CHECK_BUILD_S:-300}" bash -c '"$0" "$1" torch info && "$0" "$1" bench model --device "$2" --preset tiny --batch 2 --seq 32 --repeats 2' \
  "$run" "$bundle" "$device"
parity=$(mktemp -d)
read -r -a parity_args <<< "${GPU_CHECK_PARITY_ARGS:-}"
stage parity-reference "${GPU_CHECK_PARITY_S:-180}" "$python" "$root/bench/reference/hf_parity.py" --out "$parity" --device "$device" \
  "${parity_args[@]}"
[ -f "$parity/losses.json" ] && cp "$parity/losses.json" "$out/parity-reference.json"
stage parity "${GPU_CHECK_PARITY_S:-180}" "$run" "$bundle" lm parity --checkpoint "$parity/model" --inputs "$parity/inputs.json" \
  --expected "$parity/losses.json" --device "$device" --json "$out/parity.json"
rm -rf "$parity"
stage bench "${GPU_CHECK_BENCH_S:-420}" env REWEIGHT="$run $bundle" RESULTS="$out" PYTHON="$python" DEVICE="$device" "$root/bench/gpu.bench.sh"
echo "--- summary"
cat "$out/summary.txt"
exit $status
