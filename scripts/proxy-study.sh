#!/usr/bin/env bash
# One point of the proxy size/budget study: trains a proxy on one cell of scripts/label-eval.sh, scores the cell and
# measures noise detection; appends a row to OUTDIR/study/results.tsv. See --help.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REWEIGHT=${REWEIGHT:-$ROOT/reweight}

usage() {
  cat <<EOF
Usage: scripts/proxy-study.sh [--seq N] [--warmup N] OUTDIR CELL NAME SIZE STEPS LR
       scripts/proxy-study.sh --proxy DIR OUTDIR CELL NAME
       scripts/proxy-study.sh --table OUTDIR

Trains a proxy of SIZE (a preset such as tiny, or a GPT-2 style config.json) for STEPS steps of 16 sequences at peak
learning rate LR on OUTDIR/CELL/noisy.jsonl (a cell built by scripts/label-eval.sh --corpora-only, e.g.
generated/tune-20), then measures detection of the noisy documents:
  mean_loss and gmm (default K=3)       eval noise-detection --scores (the proxy's \`lm score\` of the stream)
  gmm_reference and gmm at K=8          eval noise-detection --model --reference CORPUS/reference.jsonl --components 8
Writes OUTDIR/study/CELL/NAME/ (proxy/, scores.jsonl, eval-k3.json, eval-k8.json, logs) and appends one row to
OUTDIR/study/results.tsv (a point already in results.tsv is skipped). Wall-clock and CPU seconds of the proxy
training are recorded. --proxy DIR measures a proxy trained elsewhere (a general proxy) instead of training one: it
reuses the cell's scores-transfer.jsonl when scripts/label-eval.sh --transfer DIR wrote it. --table prints
results.tsv as a Markdown table.
EOF
}

seq_args=() warmup_args=() table=0 given=""
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --seq) seq_args=(--seq "$2"); shift 2 ;;
    --warmup) warmup_args=(--warmup "$2"); shift 2 ;;
    --table) table=1; shift ;;
    --proxy) given=$(realpath "$2"); shift 2 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done

fmt() {
  awk -v x="$1" 'BEGIN { if (x ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) printf "%.3f", x; else if (x == "null" || x == "") print "-"; else print x }'
}

if ((table)); then
  (($# == 1)) || { usage >&2; exit 2; }
  results=$1/study/results.tsv
  [[ -f $results ]] || { echo "error: no results in $results" >&2; exit 1; }
  awk -F'\t' '{ printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }
              NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf "---|"; printf "\n" }' "$results"
  exit 0
fi

if [[ -n $given ]]; then
  (($# == 3)) || { usage >&2; exit 2; }
  [[ -f $given/config.json ]] || { echo "error: --proxy $given is not a checkpoint directory" >&2; exit 2; }
  set -- "$@" "$given" - -
fi
(($# == 6)) || { usage >&2; exit 2; }
out=$(realpath "$1") cell=$2 name=$3 size=$4 steps=$5 lr=$6
corpus_dir=$out/${cell%%/*}
if [[ ! -f $out/$cell/noisy.jsonl ]]; then
  echo "error: $out/$cell/noisy.jsonl does not exist (build it with scripts/label-eval.sh --corpora-only)" >&2
  exit 1
fi
dir=$out/study/$cell/$name
results=$out/study/results.tsv
mkdir -p "$dir/logs"
header='cell	variant	size	params_M	steps	lr	train_wall_s	train_cpu_s	train_loss	ref_loss'
for method in mean_loss gmm gmm_ref8 gmm8; do header+="	${method}_auc	${method}_ap	${method}_p	${method}_r"; done
[[ -f $results ]] || printf '%s\n' "$header" >"$results"
if awk -F'\t' -v c="$cell" -v n="$name" '$1 == c && $2 == n { found = 1 } END { exit !found }' "$results"; then
  echo "skip $cell $name: already in $results" >&2
  exit 0
fi

size_args=(--preset "$size")
[[ -f $size ]] && size_args=(--config "$(realpath "$size")")
proxy=$dir/proxy
[[ -n $given ]] && proxy=$given
log() { printf '[%s] %s %s: %s\n' "$(date +%H:%M:%S)" "$cell" "$name" "$*" >&2; }

if [[ -n $given ]]; then
  printf '%s\n' - >"$dir/logs/train.wall"
  printf '%s\n' - >"$dir/logs/train.cpu"
  if [[ ! -f $dir/scores.jsonl && -f $out/$cell/scores-transfer.jsonl &&
        $(cat "$out/$cell/transfer.source" 2>/dev/null) == "$given" ]]; then
    cp "$out/$cell/scores-transfer.jsonl" "$dir/scores.jsonl"
  fi
elif [[ ! -d $dir/proxy ]]; then
  log "training ($size, $steps steps, lr $lr)"
  rm -rf "$dir/proxy.partial" "$dir/scores.jsonl" "$dir/eval-k3.json" "$dir/eval-k8.json"
  start=$EPOCHREALTIME
  /usr/bin/time -f '%U %S' -o "$dir/logs/train.cpu" "$REWEIGHT" proxy train --corpus "$out/$cell/noisy.jsonl" \
    --valid "$corpus_dir/reference.jsonl" --folds 0 "${size_args[@]}" --steps "$steps" --batch 16 "${seq_args[@]}" --lr "$lr" \
    "${warmup_args[@]}" --out "$dir/proxy.partial" >"$dir/logs/train.log" 2>&1 || { tail -n 20 "$dir/logs/train.log" >&2; exit 1; }
  awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", b - a }' >"$dir/logs/train.wall"
  mv "$dir/proxy.partial" "$dir/proxy"
fi
if [[ ! -f $dir/scores.jsonl ]]; then
  log "scoring the stream"
  "$REWEIGHT" lm score --model "$proxy" --corpus "$out/$cell/noisy.jsonl" --out "$dir/scores.partial" >"$dir/logs/score.log" 2>&1
  mv "$dir/scores.partial" "$dir/scores.jsonl"
fi
if [[ ! -f $dir/eval-k3.json ]]; then
  log "evaluating (K=3, from the scores)"
  "$REWEIGHT" eval noise-detection --scores "$dir/scores.jsonl" --corpus "$out/$cell/noisy.jsonl" --json \
    >"$dir/eval-k3.partial" 2>"$dir/logs/eval-k3.log"
  mv "$dir/eval-k3.partial" "$dir/eval-k3.json"
fi
if [[ ! -f $dir/eval-k8.json ]]; then
  log "evaluating (K=8, reference-anchored; scores the stream and the reference again)"
  "$REWEIGHT" eval noise-detection --model "$proxy" --corpus "$out/$cell/noisy.jsonl" --reference "$corpus_dir/reference.jsonl" \
    --components 8 --json >"$dir/eval-k8.partial" 2>"$dir/logs/eval-k8.log"
  mv "$dir/eval-k8.partial" "$dir/eval-k8.json"
fi

# The last progress line of training: "step N/N  loss X ... held-out Y" (held-out = the clean reference).
train_log=$dir/logs/train.log
[[ -n $given ]] && train_log=/dev/null
last=$(tr '\r' '\n' <"$train_log" | grep -a 'held-out' | tail -n 1 || true)
train_loss=$(sed -n 's/.*  loss \([0-9.]*\).*/\1/p' <<<"$last")
ref_loss=$(sed -n 's/.*held-out \([0-9.]*\).*/\1/p' <<<"$last")
params=$(sed -n 's/.*: \([0-9.]*\)M parameters.*/\1/p' "$train_log" | head -n 1)
cpu=$(awk '{ if (NF == 2) printf "%.1f", $1 + $2; else print $1 }' "$dir/logs/train.cpu")
row="$cell	$name	$(basename "$size" .json)	$params	$steps	$lr	$(cat "$dir/logs/train.wall")	$cpu	$train_loss	$ref_loss"
metrics() { # FILE METHOD
  local m
  for m in auroc average_precision noisy_precision noisy_recall; do
    row+="	$(fmt "$(jq -r ".methods.$2.$m" "$1")")"
  done
}
metrics "$dir/eval-k3.json" mean_loss
metrics "$dir/eval-k3.json" gmm
metrics "$dir/eval-k8.json" gmm_reference
metrics "$dir/eval-k8.json" gmm
printf '%s\n' "$row" >>"$results"
log "$(printf '%s' "$row" | cut -f7-)"
