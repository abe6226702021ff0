#!/usr/bin/env bash
# Weighting-strategy overhead: time per training step of every strategy relative to uniform training of the same
# model on the same batches, interleaved rounds in one invocation (goal: Sow strategies within 3% of uniform).
# Writes bench/results/strategies.json and bench/results/strategies.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
PY=/usr/bin/python3
cli=(dotnet "$root/src/Cli/bin/$config/net10.0/reweight.dll" bench strategies)
# meta-em four ways: auto (central differences on the CPU) and forward mode with every sequence and an 8-sequence
# validation batch, then each from a subset of the micro-batch against a smaller validation batch.
"${cli[@]}" --preset tiny --vocab 8192 --batch 16 --seq 64 --steps 21 --rounds 5 --json "$tmp/tiny.json" \
  --strategies linupper,quadratic,extremes,meta-em,meta-em:forward,meta-em:differences:sequences=2:validation=2,meta-em:forward:sequences=2:validation=2,cluster-heuristic,token-masked
"${cli[@]}" --preset gpt2-small --vocab 8192 --batch 2 --seq 128 --steps 6 --rounds 3 --json "$tmp/small.json" \
  --strategies linupper,quadratic,extremes,meta-em,meta-em:forward,meta-em:differences:sequences=1:validation=1
"$PY" - "$tmp" "$out" <<'PY'
import json, os, platform, sys, datetime
tmp, out = sys.argv[1], sys.argv[2]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
runs = [json.load(open(os.path.join(tmp, f))) for f in ("tiny.json", "small.json")]
sow = ("linupper", "quadratic", "extremes")
res = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "cpu": cpu, "cores": os.cpu_count(), "runs": runs,
       "goal_sow_within_3_percent": all(r["strategies"][s]["ratio_to_uniform"] <= 1.03 for r in runs for s in sow if s in r["strategies"])}
json.dump(res, open(os.path.join(out, "strategies.json"), "w"), indent=2)
rows = "\n".join(f"| {r['preset']} ({r['parameters']/1e6:.1f}M), {r['batch']}x{r['sequence']} | {name} | {v['step_seconds_median']*1000:.1f} | {v['ratio_to_uniform']:.3f} |"
                 for r in runs for name, v in r["strategies"].items())
md = f"""# Weighting-strategy overhead (CPU)

Measured {res['date']} on {cpu}, {res['cores']} cores; float32, vocabulary 8,192. Each strategy trains the same model on
the same batches; rounds are interleaved and the median time per step is compared with uniform training's.
meta-em runs its meta-update every step (a validation batch forward and backward, the per-sample alignments along its
gradient, and the proxy's statistics): `meta-em` is its default (central differences on the CPU, every sequence,
8 validation sequences); `meta-em:METHOD[:sequences=N][:validation=N]` names another method, subset and validation
batch (docs/reweighting.md). meta-em, cluster-heuristic and token-masked use a `tiny` proxy of the same vocabulary.

| model, batch | strategy | ms/step | ratio to uniform |
|---|---|---|---|
{rows}

Goal (Sow strategies at most 3% over uniform): {res['goal_sow_within_3_percent']}.
Reproduce with `make bench` or `bench/strategies.bench.sh` after `make build`.
"""
open(os.path.join(out, "strategies.md"), "w").write(md)
print(md)
PY
