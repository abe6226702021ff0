#!/usr/bin/env bash
# GPU throughput: `reweight bench gpu` (scorer gpt2-small forward-only, trainer gpt2-medium uniform and with each strategy,
# bfloat16 autocast, MFU against the card's dense bfloat16 peak) next to the PyTorch reference of the same models and
# batches (bench/reference/gpu_reference.py), eager and under torch.compile, in the same invocation on the same GPU.
# Writes $RESULTS/gpu.json and $RESULTS/gpu.md (default bench/results). Without a CUDA device it says SKIPPED and
# exits 0, leaving earlier results alone.
#   REWEIGHT   command that runs reweight (default: dotnet src/Cli/bin/$CONFIG/net10.0/reweight.dll; on a machine
#              without .NET: "scripts/gpu-run.sh build/gpu-bundle.tar.xz")
#   PYTHON     a python3 with torch (default python3)
#   DEVICE SEQ VOCAB SCORER_PRESET SCORER_BATCH REPEATS TRAINER_PRESET TRAINER_BATCH STEPS ROUNDS STRATEGIES PEAK_TFLOPS
#              the measurement's sizes (defaults: cuda 1024 50257 gpt2-small 32 10 gpt2-medium 8 8 2
#              linupper,quadratic,extremes,meta-em,meta-em:forward:sequences=1:validation=1: meta-em with its defaults
#              (every sequence, 8 validation sequences) and with its meta-gradient from 1 random sequence of each
#              micro-batch against 1 validation sequence)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
results=${RESULTS:-$root/bench/results}
python=${PYTHON:-python3}
read -r -a reweight <<< "${REWEIGHT:-dotnet $root/src/Cli/bin/$config/net10.0/reweight.dll}"
device=${DEVICE:-cuda}
seq=${SEQ:-1024}; vocab=${VOCAB:-50257}
scorer_preset=${SCORER_PRESET:-gpt2-small}; scorer_batch=${SCORER_BATCH:-32}; repeats=${REPEATS:-10}
trainer_preset=${TRAINER_PRESET:-gpt2-medium}; trainer_batch=${TRAINER_BATCH:-8}; steps=${STEPS:-8}; rounds=${ROUNDS:-2}
strategies=${STRATEGIES:-linupper,quadratic,extremes,meta-em,meta-em:forward:sequences=1:validation=1}

if [ "${device%%:*}" = cuda ] && ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "SKIPPED: no CUDA device ($python cannot import torch or torch.cuda.is_available() is False); GPU figures are measured only on a GPU machine"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$results"
sizes=(--device "$device" --seq "$seq" --vocab "$vocab" --scorer-preset "$scorer_preset" --scorer-batch "$scorer_batch" --repeats "$repeats"
       --trainer-preset "$trainer_preset" --trainer-batch "$trainer_batch")
reference() { # mode
  "$python" "$root/bench/reference/gpu_reference.py" --mode "$1" "${sizes[@]}" --steps "$((steps - 1))" --json "$tmp/$1.json" \
    > >(tee "$tmp/$1.log") 2>&1 || { echo "reference ($1) failed: $(tail -3 "$tmp/$1.log" | tr '\n' ' ')" | tee "$tmp/$1.error"; }
}
echo "--- PyTorch eager"
reference eager
echo "--- reweight bench gpu"
"${reweight[@]}" bench gpu "${sizes[@]}" --steps "$steps" --rounds "$rounds" --strategies "$strategies" \
  ${PEAK_TFLOPS:+--peak-tflops "$PEAK_TFLOPS"} --json "$tmp/reweight.json"
echo "--- PyTorch torch.compile"
reference compile

"$python" - "$tmp" "$results" <<'PY'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
ours = json.load(open(os.path.join(tmp, "reweight.json")))
refs, errors = {}, {}
for mode in ("eager", "compile"):
    path = os.path.join(tmp, f"{mode}.json")
    if os.path.exists(path):
        refs[mode] = json.load(open(path))
    else:
        errors[mode] = open(os.path.join(tmp, f"{mode}.error")).read().strip() if os.path.exists(os.path.join(tmp, f"{mode}.error")) else "no result"
peak = ours.get("peak_bf16_tflops")
sf, tf = ours["scoring"]["flops_per_token"], ours["training"]["flops_per_token"]
mfu = lambda rate, flops: None if peak is None or rate is None else rate * flops / (peak * 1e12)
strategies = ours["training"]["strategies"]
uniform = strategies["uniform"]["tokens_per_s"]
res = {"date": ours["date"], "gpu": ours["gpu"], "driver": ours["driver"], "libtorch": ours["libtorch"],
       "precision": ours["precision"], "fused_attention": ours["fused_attention"], "peak_bf16_tflops": peak, "peak_source": ours["peak_source"],
       "reference_torch": next((r["torch"] for r in refs.values()), None), "reference_cuda": next((r.get("cuda") for r in refs.values()), None),
       "reweight": ours, "references": refs, "reference_errors": errors, "ratios": {}}
rows = []
def row(what, our_rate, flops, key):
    line = {"reweight_tokens_per_s": our_rate, "reweight_mfu": mfu(our_rate, flops)}
    for mode, r in refs.items():
        rate = r.get(key, {}).get("tokens_per_s")
        if rate:
            line[f"{mode}_tokens_per_s"] = rate
            line[f"ratio_vs_{mode}"] = our_rate / rate
            line[f"{mode}_mfu"] = mfu(rate, flops)
    res["ratios"][what] = line
    f = lambda v, fmt: "n/a" if v is None else format(v, fmt)
    rows.append(f"| {what} | {our_rate:,.0f} | {f(line.get('reweight_mfu'), '.1%')} | {f(line.get('eager_tokens_per_s'), ',.0f')} | "
                f"{f(line.get('ratio_vs_eager'), '.3f')} | {f(line.get('compile_tokens_per_s'), ',.0f')} | {f(line.get('ratio_vs_compile'), '.3f')} |")
    return line
s = row(f"scorer {ours['scoring']['preset']} forward, {ours['scoring']['batch']}x{ours['sequence']}", ours["scoring"]["tokens_per_s"], sf, "scoring")
t = row(f"trainer {ours['training']['preset']} uniform, {ours['training']['batch']}x{ours['sequence']}", uniform, tf, "training")
overheads = {name: v["overhead_vs_uniform"] for name, v in strategies.items() if name != "uniform"}
sow = [v for k, v in overheads.items() if k in ("linupper", "quadratic", "extremes")]
res["goals"] = {
    "scorer_at_least_1.0x_eager": s.get("ratio_vs_eager", 0) >= 1.0 if "ratio_vs_eager" in s else None,
    "trainer_at_least_0.95x_eager": t.get("ratio_vs_eager", 0) >= 0.95 if "ratio_vs_eager" in t else None,
    "scorer_mfu_above_50%": None if s["reweight_mfu"] is None else s["reweight_mfu"] > 0.5,
    "trainer_mfu_above_40%": None if t["reweight_mfu"] is None else t["reweight_mfu"] > 0.4,
    "sow_overhead_at_most_3%": max(sow) <= 0.03 if sow else None,
    # meta-em with its meta-update every step, in the cheapest of the measured settings (named in the table).
    "meta_em_overhead_at_most_25%": min(v for k, v in overheads.items() if k.startswith("meta-em")) <= 0.25
        if any(k.startswith("meta-em") for k in overheads) else None,
}
json.dump(res, open(os.path.join(out, "gpu.json"), "w"), indent=2)
strategy_rows = "\n".join(f"| {name} | {v['step_seconds']*1000:.1f} | {v['tokens_per_s']:,.0f} | "
                          f"{'n/a' if v['mfu'] is None else format(v['mfu'], '.1%')} | {v['overhead_vs_uniform']:+.1%} |"
                          for name, v in strategies.items())
md = f"""# GPU throughput

Measured {res['date']} on {res['gpu']} (driver {res['driver']}), libtorch {res['libtorch']} for reweight, PyTorch
{res['reference_torch']} (CUDA {res['reference_cuda']}) for the references; {res['precision']}; fused attention: {res['fused_attention']};
peak {'n/a' if peak is None else f'{peak} TFLOP/s'} ({res['peak_source']}). MFU = tokens/s x FLOPs per token (6N + 12LTd training,
a third of it forward) / peak. Reference: bench/reference/gpu_reference.py (same models and batches; fused AdamW,
pinned batches), eager and torch.compile, run in the same invocation.

| measure | reweight tokens/s | MFU | PyTorch eager | ratio | torch.compile | ratio |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Scorer on {ours['scoring']['documents']['documents']} documents of mixed lengths (16 to {2 * ours['sequence']} tokens) through the product's
DocumentScorer, windows packed under a budget of {ours['scoring']['documents']['token_budget']:,} tokens:
{ours['scoring']['documents']['tokens_per_s']:,.0f} scored tokens/s, {ours['scoring']['documents']['padding_fraction']:.1%} of the batches' tokens padding.

Trainer {ours['training']['preset']} by strategy (median of {ours['training']['rounds']} interleaved rounds of {ours['training']['steps'] - 1} timed steps):

| strategy | ms/step | tokens/s | MFU | overhead vs uniform |
|---|---|---|---|---|
{strategy_rows}

Goals: """ + ", ".join(f"{k}: {v}" for k, v in res["goals"].items()) + (f"\n\nReference failures: {errors}" if errors else "") + """

Reproduce on a GPU machine: `bench/gpu.bench.sh` after `make build`, or from the bundle (README, "A GPU machine without .NET").
"""
open(os.path.join(out, "gpu.md"), "w").write(md)
print(md)
PY
