#!/usr/bin/env bash
# Tensor-engine benchmark: the binding's per-call overhead, and float32 matmul throughput next to the same
# operations in Python's torch (Debian python3-torch, same libtorch) run in the same invocation.
# Writes bench/results/torch.json and bench/results/torch.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
# Debian's interpreter, which python3-torch installs into (another python3 may come first on PATH).
PY=/usr/bin/python3

# Interleave the two sides twice so a noisy neighbour affects both alike; keep each side's best run.
for round in 1 2; do
  dotnet "$root/src/Cli/bin/$config/net10.0/reweight.dll" bench torch --json "$tmp/dotnet-$round.json"
  "$PY" "$root/bench/reference/torch_reference.py" "$tmp/python-$round.json"
done

"$PY" - "$tmp" "$out" <<'PY'
import json, os, platform, subprocess, sys, datetime
tmp, out = sys.argv[1], sys.argv[2]
load = lambda p: json.load(open(os.path.join(tmp, p)))
dn = [load(f"dotnet-{r}.json") for r in (1, 2)]
py = [load(f"python-{r}.json") for r in (1, 2)]
best = lambda runs, key, f=max: f(r[key] for r in runs)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
res = {
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform()},
    "libtorch": dn[0]["libtorch"], "python_torch": py[0]["torch"],
    "threads": {"dotnet": dn[0]["threads"], "python": py[0]["threads"]},
    "binding_overhead_ns": best(dn, "binding_overhead_ns", min),
    "tiny_add_binding_ns": best(dn, "tiny_add_binding_ns", min),
    "tiny_add_native_ns": best(dn, "tiny_add_native_ns", min),
    "tiny_add_python_ns": best(py, "tiny_add_python_ns", min),
    "pinvoke_floor_ns": best(dn, "pinvoke_floor_ns", min),
}
for n in (1024, 4096):
    d, p = best(dn, f"matmul_{n}_gflops"), best(py, f"matmul_{n}_gflops")
    res[f"matmul_{n}"] = {"dotnet_gflops": round(d, 2), "python_gflops": round(p, 2), "ratio": round(d / p, 3)}
res["goals"] = {
    "binding_overhead_under_2us": res["binding_overhead_ns"] < 2000,
    "matmul_ratio_at_least_0.98": all(res[f"matmul_{n}"]["ratio"] >= 0.98 for n in (1024, 4096)),
}
json.dump(res, open(os.path.join(out, "torch.json"), "w"), indent=2)
md = f"""# Tensor-engine benchmark

Measured {res['date']} on {cpu}, {res['machine']['cores']} cores, {mem_gb} GB RAM ({res['machine']['os']}).
libtorch {res['libtorch']} through the binding; Python torch {res['python_torch']} as the reference (same run).
Threads: binding {res['threads']['dotnet']}, Python {res['threads']['python']}.

| measure | binding | reference | ratio |
|---|---|---|---|
| tiny `a + b` (4 floats), ns/call | {res['tiny_add_binding_ns']:.0f} | Python {res['tiny_add_python_ns']:.0f} / inside libtorch {res['tiny_add_native_ns']:.0f} | |
| binding overhead, ns/call (goal < 2000) | {res['binding_overhead_ns']:.0f} | | |
| empty P/Invoke, ns/call | {res['pinvoke_floor_ns']:.1f} | | |
| float32 matmul 1024², GFLOP/s | {res['matmul_1024']['dotnet_gflops']} | {res['matmul_1024']['python_gflops']} | {res['matmul_1024']['ratio']} |
| float32 matmul 4096², GFLOP/s | {res['matmul_4096']['dotnet_gflops']} | {res['matmul_4096']['python_gflops']} | {res['matmul_4096']['ratio']} |

Goals: overhead < 2 µs: {res['goals']['binding_overhead_under_2us']}; matmul ratio ≥ 0.98: {res['goals']['matmul_ratio_at_least_0.98']}.
Reproduce with `make bench` (or `bench/torch.bench.sh` after `make build`).
"""
open(os.path.join(out, "torch.md"), "w").write(md)
print(md)
PY
