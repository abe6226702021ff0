#!/usr/bin/env bash
# GPT throughput on this machine: forward-only scoring and training tokens/s for `tiny` and `gpt2-small`, next to
# the same architecture, batch and optimiser in PyTorch (bench/reference/gpt_reference.py, Debian python3-torch),
# run in the same invocation and interleaved so background load affects both sides alike.
# Writes bench/results/model.json and bench/results/model.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
PY=/usr/bin/python3
cli=(dotnet "$root/src/Cli/bin/$config/net10.0/reweight.dll" bench model)
run() { # preset batch seq repeats
  for round in 1 2 3; do
    "${cli[@]}" --preset "$1" --batch "$2" --seq "$3" --repeats "$4" --json "$tmp/$1-dotnet-$round.json"
    "$PY" "$root/bench/reference/gpt_reference.py" --preset "$1" --batch "$2" --seq "$3" --repeats "$4" --json "$tmp/$1-python-$round.json"
  done
}
run tiny 8 64 7
run gpt2-small 1 256 3

"$PY" - "$tmp" "$out" <<'PY'
import json, os, platform, sys, datetime
tmp, out = sys.argv[1], sys.argv[2]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
       "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb}, "presets": {}}
rows = []
for preset in ("tiny", "gpt2-small"):
    d = [json.load(open(os.path.join(tmp, f"{preset}-dotnet-{r}.json"))) for r in (1, 2, 3)]
    p = [json.load(open(os.path.join(tmp, f"{preset}-python-{r}.json"))) for r in (1, 2, 3)]
    entry = {"batch": d[0]["batch"], "sequence": d[0]["sequence"], "parameters": d[0]["parameters"], "torch": p[0]["torch"]}
    for kind in ("scoring", "training"):
        key = f"{kind}_tokens_per_s"
        ours, ref = max(x[key] for x in d), max(x[key] for x in p)
        entry[kind] = {"dotnet": round(ours, 1), "pytorch": round(ref, 1), "ratio": round(ours / ref, 3)}
        rows.append(f"| {preset} ({entry['parameters']/1e6:.1f}M, {entry['batch']}x{entry['sequence']}) | {kind} | {ours:.0f} | {ref:.0f} | {ours/ref:.3f} |")
    res["presets"][preset] = entry
res["goal_ratio_at_least_0.95"] = all(res["presets"][k][m]["ratio"] >= 0.95 for k in res["presets"] for m in ("scoring", "training"))
json.dump(res, open(os.path.join(out, "model.json"), "w"), indent=2)
md = f"""# GPT throughput (CPU)

Measured {res['date']} on {cpu}, {res['machine']['cores']} cores, {mem_gb} GB RAM; vocabulary 50,257; float32.
Reference: the same architecture, batch and AdamW in PyTorch {res['presets']['tiny']['torch']} (bench/reference/gpt_reference.py),
interleaved with the binding's runs in the same invocation; best of three rounds of medians on each side.

| model, batch | measure | binding tokens/s | PyTorch tokens/s | ratio |
|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Goal (ratio ≥ 0.95 for both): {res['goal_ratio_at_least_0.95']}. Reproduce with `make bench` or `bench/model.bench.sh` after `make build`.
"""
open(os.path.join(out, "model.md"), "w").write(md)
print(md)
PY
