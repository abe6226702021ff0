#!/usr/bin/env bash
# Data-parallel trainer benchmark: `reweight train --corpus` on 1 rank and on N ranks (Gloo, separate processes on this
# machine) at the same global batch, same seed and data. Reports the step time of each, the share of the N-rank run
# spent averaging gradients (collective_s of the step log), and the largest difference between their per-step losses.
# On a CPU the ranks share the cores (OMP_NUM_THREADS = cores / N): this measures the cost of the collectives and what
# splitting the batch over processes does on one CPU; scaling across devices belongs to a machine with one per rank.
# Usage: bench/dataparallel.bench.sh [RANKS]   (default 2; DP_STEPS=40, DP_BATCH=16, DP_SEQ=128, DP_CONFIG=a config.json)
# Writes bench/results/dataparallel.json and bench/results/dataparallel.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/bench/results"
ranks=${1:-2}
steps=${DP_STEPS:-40}
batch=${DP_BATCH:-16}
seq=${DP_SEQ:-128}
config=${DP_CONFIG:-$root/docs/label-eval/gpt-4x128-ctx128.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
reweight() { "$root/reweight" "$@"; }

reweight corpus sample --out "$tmp/corpus.jsonl" --documents 1500 --noise 0.2 --seed 7 > /dev/null
reweight tokenizer train --corpus "$tmp/corpus.jsonl" --vocab-size 2048 --out "$tmp/tokenizer" > /dev/null
run() {  # ranks → the step log
  local n=$1
  OMP_NUM_THREADS=$(( $(nproc) / n > 0 ? $(nproc) / n : 1 )) reweight train --corpus "$tmp/corpus.jsonl" --tokenizer "$tmp/tokenizer" \
    --config "$config" --steps "$steps" --batch "$batch" --seq "$seq" --out "$tmp/model-$n" --log "$tmp/log-$n.jsonl" \
    --nproc "$n" 2> "$tmp/stderr-$n" || { cat "$tmp/stderr-$n" >&2; exit 1; }
}
run 1
run "$ranks"

python3 - "$tmp/log-1.jsonl" "$tmp/log-$ranks.jsonl" "$ranks" "$steps" "$batch" "$seq" "$config" "$out" <<'EOF'
import json, os, platform, sys
one, many, ranks, steps, batch, seq, config, out = sys.argv[1:]
ranks, steps, batch, seq = int(ranks), int(steps), int(batch), int(seq)
a = [json.loads(l) for l in open(one)]
b = [json.loads(l) for l in open(many)]
tokens = batch * seq
def step_time(log):
    # the rate the trainer reports after its last step covers every step of the run
    return tokens / log[-1]["tokens_per_s"]
t1, tn = step_time(a), step_time(b)
collective = b[-1]["collective_s"] / steps
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
result = {
    "machine": f"{cpu}, {os.cpu_count()} cores", "config": os.path.basename(config), "steps": steps,
    "global_batch": f"{batch}x{seq}", "ranks": ranks,
    "step_s_1_rank": round(t1, 4), f"step_s_{ranks}_ranks": round(tn, 4), "ratio": round(tn / t1, 3),
    "collective_s_per_step": round(collective, 5), "collective_share": round(collective / tn, 4),
    "max_loss_difference": max(abs(x["loss"] - y["loss"]) for x, y in zip(a, b)),
    "final_loss_1_rank": a[-1]["loss"], f"final_loss_{ranks}_ranks": b[-1]["loss"],
}
json.dump(result, open(os.path.join(out, "dataparallel.json"), "w"), indent=2)
md = f"""# Data-parallel trainer (`bench/dataparallel.bench.sh`)

{result['machine']}; `reweight train --corpus` with `{result['config']}`, {steps} steps of a global batch of {batch}x{seq}
tokens, same seed and data; {ranks} ranks are separate processes joined over Gloo on this machine, sharing its cores.

| | 1 rank | {ranks} ranks |
|---|---|---|
| step time (s) | {t1:.4f} | {tn:.4f} |
| gradient averaging per step (s) | – | {collective:.5f} ({100 * collective / tn:.1f}% of the step) |
| final loss | {a[-1]['loss']:.6f} | {b[-1]['loss']:.6f} |

Largest per-step loss difference: {result['max_loss_difference']:.2e}. Step time of {ranks} ranks over 1 rank: {tn / t1:.2f}.
On a CPU the ranks split the same cores (1 rank runs {os.cpu_count()} threads, each of {ranks} ranks
{max(1, os.cpu_count() // ranks)}), so the ratio compares one process's intra-op threading with processes that each
multiply smaller matrices and then average gradients; scaling across devices belongs to a machine with one per rank.
"""
open(os.path.join(out, "dataparallel.md"), "w").write(md)
print(md)
EOF
