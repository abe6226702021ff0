#!/usr/bin/env bash
# The scorer service against `lm score` on the same proxy, corpus and device, in one invocation each: tokens/s of both,
# the ratio (goal >= 0.9), the service's time per stage and its batch fill. Runs twice: with the in-process broker and
# with librdkafka's mock cluster in another process (scripts/kafka-mock.sh). Writes bench/results/scorer.{json,md}.
#
# Data: SCORER_BENCH_MODEL and SCORER_BENCH_CORPUS when set; else the first SCORER_BENCH_DOCUMENTS (300) documents of
# the developer corpus (../shared/data/corpus/train.jsonl.gz) when it is there, else a generated corpus of as many
# documents; and a `tiny` proxy trained on them for 300 steps (about half a minute). SCORER_BENCH_REPEATS (3) interleaved
# runs of each path; medians are reported.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
config=${CONFIG:-Release}
out="$root/bench/results"
reweight=(dotnet "$root/src/Cli/bin/$config/net10.0/reweight.dll")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
documents=${SCORER_BENCH_DOCUMENTS:-300}
device=${SCORER_BENCH_DEVICE:-cpu}
repeats=${SCORER_BENCH_REPEATS:-3}

corpus=${SCORER_BENCH_CORPUS:-}
if [ -z "$corpus" ]; then
  developer="$root/../shared/data/corpus/train.jsonl.gz"
  if [ -f "$developer" ]; then
    zcat "$developer" | head -n "$documents" > "$tmp/corpus.jsonl" || true
  else
    "${reweight[@]}" corpus sample --out "$tmp/corpus.jsonl" --documents "$documents" --noise 0.2 --seed 1 >/dev/null
  fi
  corpus="$tmp/corpus.jsonl"
fi
model=${SCORER_BENCH_MODEL:-}
if [ -z "$model" ]; then
  echo "training a tiny proxy on $corpus (300 steps) ..." >&2
  "${reweight[@]}" proxy train --corpus "$corpus" --preset tiny --steps 300 --batch 16 --lr 6e-4 --out "$tmp/proxy" >"$tmp/train.log" 2>&1 \
    || { tail -5 "$tmp/train.log" >&2; exit 1; }
  model="$tmp/proxy"
fi

"${reweight[@]}" bench scorer --model "$model" --corpus "$corpus" --documents "$documents" --device "$device" --repeats "$repeats" \
  --json "$tmp/inprocess.json" --md "$tmp/inprocess.md"

"$root/scripts/kafka-mock.sh" "$$" >"$tmp/bootstrap" 2>"$tmp/mock.log" &
for _ in $(seq 1 300); do [ -s "$tmp/bootstrap" ] && break; sleep 1; done
bootstrap=$(head -1 "$tmp/bootstrap")
[ -n "$bootstrap" ] || { echo "the mock cluster did not start: $(tail -3 "$tmp/mock.log")" >&2; exit 1; }
"${reweight[@]}" bench scorer --model "$model" --corpus "$corpus" --documents "$documents" --device "$device" --repeats "$repeats" --bootstrap "$bootstrap" \
  --json "$tmp/mock.json" --md "$tmp/mock.md"

/usr/bin/python3 - "$tmp" "$out" <<'PY'
import json, os, sys
tmp, out = sys.argv[1], sys.argv[2]
runs = {"in-process broker": json.load(open(os.path.join(tmp, "inprocess.json"))),
        "librdkafka mock cluster, another process": json.load(open(os.path.join(tmp, "mock.json")))}
json.dump({"runs": runs, "worst_ratio": min(r["ratio"] for r in runs.values()),
           "goal_ratio_at_least_0_9": all(r["goal_ratio_at_least_0_9"] for r in runs.values())},
          open(os.path.join(out, "scorer.json"), "w"), indent=2)
with open(os.path.join(out, "scorer.md"), "w") as md:
    md.write("# Scorer service benchmark\n\n`bench/scorer.bench.sh` (`reweight bench scorer`), worst ratio first.\n\n")
    for name, path in sorted([("in-process broker", "inprocess.md"), ("librdkafka mock cluster, another process", "mock.md")],
                             key=lambda x: runs[x[0]]["ratio"]):
        text = open(os.path.join(tmp, path)).read().replace("# Scorer service against `lm score`", f"## {name}")
        md.write(text + "\n")
PY
cat "$out/scorer.md"
