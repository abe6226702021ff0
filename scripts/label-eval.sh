#!/usr/bin/env bash
# Builds the corpora of the noise-label evaluation, trains the labelling proxy of every noisy stream (on the corpus's
# clean reference with the stream's tokenizer, or on the stream) and scores the stream and the reference with it. Resumable: a step whose output exists is skipped. See --help.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REWEIGHT=${REWEIGHT:-$ROOT/reweight}
HELDOUT_FAMILIES=keyword-stuffing,link-farm,spam-ad,json-dump

usage() {
  cat <<EOF
Usage: scripts/label-eval.sh [options] OUTDIR [CORPUS]

Builds the evaluation corpora of the noisy label under OUTDIR, trains each noisy stream's labelling proxy as the demo
trains it (a tokenizer on the stream; the proxy and its cross-fitted folds on the corpus's clean reference) and scores
the stream and the reference with it. CORPUS is the developer corpus (JSONL(.gz) with a "domain" field; default
../shared/data/corpus/train.jsonl.gz relative to the repository root).

Layout:
  OUTDIR/<corpus>/clean.jsonl, reference.jsonl     clean stream and clean reference (15% id-hashed holdout;
                                                   generated: 2000 sample documents of seed 1, 300 of seed 2)
  OUTDIR/<corpus>/<families>-<pct>/noisy.jsonl     the clean stream with <pct>% replaced by noise
                                  tokenizer/       BPE tokenizer trained on noisy.jsonl (--proxy-on reference)
                                  proxy/           the proxy: trained on reference.jsonl with that tokenizer and
                                                   --folds 2 (--proxy-on reference), or on noisy.jsonl (--proxy-on stream)
                                  scores.jsonl, reference-scores.jsonl    \`lm score\` of noisy.jsonl and reference.jsonl
                                                   (the reference out of fold where the proxy trained on it)
                                  scores-transfer.jsonl, reference-scores-transfer.jsonl   (--transfer)
                                  logs/            each step's output
  OUTDIR/timings.tsv                               seconds per step
corpora: generated (the sample corpus: prose, code, howto, dialogue), developer (all domains), developer-code (code),
developer-prose (wiki, books). families: tune (the corruptor's default families), heldout ($HELDOUT_FAMILIES).

Options:
  --corpora LIST     corpora to build (default: generated,developer,developer-code,developer-prose)
  --families LIST    tune, heldout or both (default: tune,heldout)
  --fractions LIST   noise shares (default: 0.05,0.2,0.4)
  --proxy-on WHAT    reference (default: the proxy trained on the clean reference with the stream's tokenizer and
                     cross-fitted folds, as the demo trains it) or stream (trained on the noisy stream with the
                     reference as its held-out set: the design before 2026-12-07)
  --preset NAME      proxy size preset (default: tiny)
  --config FILE      GPT-2 style config.json for the proxy; overrides --preset
  --steps N          proxy optimiser steps (default: 300, see docs/label-eval/proxy-study.md)
  --batch N          sequences per step (default: 16)
  --seq N            tokens per sequence (default: the model's context)
  --lr X             peak learning rate (default: 6e-4, see docs/label-eval/proxy-study.md)
  --warmup N         warm-up steps (default: the trainer's, 10% of the steps)
  --corrupt-seed N   seed of \`corpus corrupt\` (default: 3)
  --corpora-only     build the corpora, train and score nothing
  --evaluate         after the cells: \`eval noise-detection\` over every scored cell of the chosen corpora, families
                     and shares, with the shared labelling defaults; prints one line per cell and method and the
                     worst case, and writes OUTDIR/evaluation.json
  --transfer DIR     score every cell with this one proxy (a general proxy) into scores-transfer.jsonl and
                     reference-scores-transfer.jsonl; trains nothing
  -h, --help         this help

Every cell trains its own byte-level BPE tokenizer on its stream (a few seconds), as a deployed scorer would: a
tokenizer shared across cells would have seen other cells' noise families, and one trained on the reference cuts the
reference's own words into longer tokens than unseen clean text (docs/label-eval/labels.md).
A cell whose proxy exists with other settings stops the run (delete the cell's proxy/ or use another OUTDIR).
Run it niced on a shared machine: nice scripts/label-eval.sh /tmp/label-eval
EOF
}

corpora=generated,developer,developer-code,developer-prose
families=tune,heldout
fractions=0.05,0.2,0.4
preset=tiny config="" steps=300 batch=16 seq="" lr=6e-4 warmup="" corrupt_seed=3 corpora_only=0 transfer="" evaluate=0
proxy_on=reference
positional=()
while (($#)); do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --corpora) corpora=$2; shift 2 ;;
    --families) families=$2; shift 2 ;;
    --fractions) fractions=$2; shift 2 ;;
    --proxy-on) proxy_on=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --config) config=$(realpath "$2"); shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --seq) seq=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --corrupt-seed) corrupt_seed=$2; shift 2 ;;
    --corpora-only) corpora_only=1; shift ;;
    --evaluate) evaluate=1; shift ;;
    --transfer) transfer=$(realpath "$2"); shift 2 ;;
    -*) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1"); shift ;;
  esac
done
((${#positional[@]} >= 1 && ${#positional[@]} <= 2)) || { usage >&2; exit 2; }
out=${positional[0]}
developer=${positional[1]:-$ROOT/../shared/data/corpus/train.jsonl.gz}
[[ $proxy_on == reference || $proxy_on == stream ]] || { echo "error: --proxy-on must be reference or stream, not $proxy_on" >&2; exit 2; }
[[ -z $config || -f $config ]] || { echo "error: --config $config does not exist" >&2; exit 2; }
[[ -z $transfer || -f $transfer/config.json ]] || { echo "error: --transfer $transfer is not a checkpoint directory" >&2; exit 2; }
mkdir -p "$out"
out=$(realpath "$out")
timings=$out/timings.tsv

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# step NAME OUTPUT LOG COMMAND...: runs COMMAND unless OUTPUT exists; its output goes to LOG, its time to timings.tsv.
step() {
  local name=$1 output=$2 logfile=$3
  shift 3
  if [[ -e $output ]]; then
    log "skip  $name (${output#"$out"/} exists)"
    return 0
  fi
  mkdir -p "$(dirname "$logfile")"
  log "start $name"
  local start=$EPOCHREALTIME
  if ! "$@" >"$logfile" 2>&1; then
    log "FAILED $name; the end of $logfile:"
    tail -n 20 "$logfile" | tr '\r' '\n' >&2
    exit 1
  fi
  local seconds
  seconds=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\n' "$name" "${output#"$out"/}" "$seconds" >>"$timings"
  log "done  $name in ${seconds}s"
}

# Writes to a temporary path and renames it into place, so an interrupted step leaves no output that looks finished.
into() {
  local target=$1
  shift
  rm -rf "$target.partial"
  "${@//@OUT@/$target.partial}" && mv "$target.partial" "$target"
}

build_corpus() {
  local name=$1 dir=$out/$1
  mkdir -p "$dir"
  case $name in
    generated)
      step "$name: clean stream" "$dir/clean.jsonl" "$dir/logs/clean.log" \
        "$REWEIGHT" corpus sample --out "$dir/clean.jsonl" --documents 2000 --noise 0 --seed 1
      step "$name: reference" "$dir/reference.jsonl" "$dir/logs/reference.log" \
        "$REWEIGHT" corpus sample --out "$dir/reference.jsonl" --documents 300 --noise 0 --seed 2 ;;
    developer|developer-code|developer-prose)
      [[ -f $developer ]] || { echo "error: developer corpus $developer does not exist (give it as the second argument)" >&2; exit 2; }
      local domains=()
      [[ $name == developer-code ]] && domains=(--domains code)
      [[ $name == developer-prose ]] && domains=(--domains wiki,books)
      step "$name: clean stream and reference" "$dir/reference.jsonl" "$dir/logs/split.log" \
        "$REWEIGHT" corpus split --in "$developer" --out "$dir/clean.jsonl" --holdout-out "$dir/reference.jsonl" \
        --holdout 0.15 "${domains[@]}" ;;
    *) echo "error: unknown corpus $name (generated, developer, developer-code, developer-prose)" >&2; exit 2 ;;
  esac
}

proxy_settings() {
  if [[ -n $config ]]; then printf 'config=%s\n' "$(tr -d ' \n' <"$config")"; else printf 'preset=%s\n' "$preset"; fi
  printf 'steps=%s batch=%s seq=%s lr=%s warmup=%s\n' "$steps" "$batch" "${seq:-context}" "$lr" "${warmup:-10%}"
}

run_cell() {
  local name=$1 family=$2 fraction=$3
  local pct dir corpus_dir=$out/$1
  pct=$(awk -v f="$fraction" 'BEGIN { printf "%g", f * 100 }')
  dir=$corpus_dir/$family-$pct
  local cell="$name/$family-$pct"
  local family_args=()
  case $family in
    tune) ;;
    heldout) family_args=(--families "$HELDOUT_FAMILIES") ;;
    *) echo "error: unknown families $family (tune, heldout)" >&2; exit 2 ;;
  esac
  mkdir -p "$dir"
  step "$cell: noisy stream" "$dir/noisy.jsonl" "$dir/logs/corrupt.log" \
    "$REWEIGHT" corpus corrupt --in "$corpus_dir/clean.jsonl" --out "$dir/noisy.jsonl" --fraction "$fraction" \
    --seed "$corrupt_seed" "${family_args[@]}"
  ((corpora_only)) && return 0

  if [[ -n $transfer ]]; then
    # Scores of another proxy are stale: score again.
    if [[ -f $dir/transfer.source && $(cat "$dir/transfer.source") != "$transfer" ]]; then
      rm -f "$dir/scores-transfer.jsonl" "$dir/reference-scores-transfer.jsonl"
    fi
    printf '%s\n' "$transfer" >"$dir/transfer.source"
    step "$cell: score stream (transfer)" "$dir/scores-transfer.jsonl" "$dir/logs/score-transfer.log" \
      into "$dir/scores-transfer.jsonl" "$REWEIGHT" lm score --model "$transfer" --corpus "$dir/noisy.jsonl" --out @OUT@
    step "$cell: score reference (transfer)" "$dir/reference-scores-transfer.jsonl" "$dir/logs/reference-score-transfer.log" \
      into "$dir/reference-scores-transfer.jsonl" \
      "$REWEIGHT" lm score --model "$transfer" --corpus "$corpus_dir/reference.jsonl" --out @OUT@
    return 0
  fi

  if [[ $proxy_on == reference ]]; then
    # The tokenizer's vocabulary size is the preset's (a custom --config takes its own from the tokenizer).
    local vocab=2048
    [[ $preset == tiny || -n $config ]] || vocab=50257
    if [[ ! -d $dir/tokenizer ]]; then rm -rf "$dir/proxy" "$dir/proxy.settings"; fi
    step "$cell: train tokenizer" "$dir/tokenizer" "$dir/logs/tokenizer.log" \
      into "$dir/tokenizer" "$REWEIGHT" tokenizer train --corpus "$dir/noisy.jsonl" --vocab-size "$vocab" --out @OUT@
    train_proxy "$cell" "$dir/proxy" "$corpus_dir/reference.jsonl" --tokenizer "$dir/tokenizer" --folds 2
  else
    # The clean reference is the trainer's held-out set, so its final loss is on clean text and no stream document is held out.
    train_proxy "$cell" "$dir/proxy" "$dir/noisy.jsonl" --valid "$corpus_dir/reference.jsonl" --folds 0
  fi
  step "$cell: score stream" "$dir/scores.jsonl" "$dir/logs/score.log" \
    into "$dir/scores.jsonl" "$REWEIGHT" lm score --model "$dir/proxy" --corpus "$dir/noisy.jsonl" --out @OUT@
  step "$cell: score reference" "$dir/reference-scores.jsonl" "$dir/logs/reference-score.log" \
    into "$dir/reference-scores.jsonl" "$REWEIGHT" lm score --model "$dir/proxy" --corpus "$corpus_dir/reference.jsonl" --out @OUT@
}

# train_proxy NAME PROXYDIR CORPUS ARGS...: trains a proxy on CORPUS with the chosen settings (and ARGS) unless PROXYDIR
# holds one with those settings; one trained with others stops the run. A new proxy invalidates the scores made with the old.
train_proxy() {
  local name=$1 proxy=$2 corpus=$3
  shift 3
  local settings dir
  settings=$(proxy_settings; printf 'on=%s\n' "$proxy_on")
  dir=$(dirname "$proxy")
  if [[ -d $proxy ]]; then
    if [[ ! -f $proxy.settings || $(cat "$proxy.settings") != "$settings" ]]; then
      echo "error: $proxy was trained with other settings:" >&2
      cat "$proxy.settings" >&2 2>/dev/null || echo "(none recorded)" >&2
      echo "delete it or use another OUTDIR" >&2
      exit 1
    fi
  else
    rm -f "$dir/scores.jsonl" "$dir/reference-scores.jsonl" # scores of an earlier proxy
  fi
  local size_args=(--preset "$preset") seq_args=() warmup_args=()
  [[ -n $config ]] && size_args=(--config "$config")
  [[ -n $seq ]] && seq_args=(--seq "$seq")
  [[ -n $warmup ]] && warmup_args=(--warmup "$warmup")
  step "$name: train proxy" "$proxy" "$dir/logs/train.log" \
    into "$proxy" "$REWEIGHT" proxy train --corpus "$corpus" "$@" \
    "${size_args[@]}" --steps "$steps" --batch "$batch" "${seq_args[@]}" --lr "$lr" "${warmup_args[@]}" --out @OUT@
  printf '%s\n' "$settings" >"$proxy.settings"
}

log "label evaluation under $out ($(proxy_settings | tr '\n' ' '))${transfer:+, transfer proxy $transfer}"
started=$EPOCHREALTIME
IFS=, read -ra corpus_list <<<"$corpora"
IFS=, read -ra family_list <<<"$families"
IFS=, read -ra fraction_list <<<"$fractions"
for name in "${corpus_list[@]}"; do
  build_corpus "$name"
  for family in "${family_list[@]}"; do
    for fraction in "${fraction_list[@]}"; do
      run_cell "$name" "$family" "$fraction"
    done
  done
done
log "finished in $(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')s; timings in $timings"

if ((evaluate)); then
  eval_args=()
  for name in "${corpus_list[@]}"; do
    for family in "${family_list[@]}"; do
      for fraction in "${fraction_list[@]}"; do
        pct=$(awk -v f="$fraction" 'BEGIN { printf "%g", f * 100 }')
        dir=$out/$name/$family-$pct
        [[ -f $dir/scores.jsonl && -f $dir/reference-scores.jsonl ]] || continue
        eval_args+=(--corpus "$name/$family-$pct=$dir/noisy.jsonl" --scores "$dir/scores.jsonl" --reference-scores "$dir/reference-scores.jsonl")
      done
    done
  done
  ((${#eval_args[@]})) || { echo "error: no scored cell under $out to evaluate" >&2; exit 1; }
  "$REWEIGHT" eval noise-detection "${eval_args[@]}" --json >"$out/evaluation.json"
  "$REWEIGHT" eval noise-detection "${eval_args[@]}" --summary
fi
